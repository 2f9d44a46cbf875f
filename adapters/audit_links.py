"""How the hash chain is stored: one row per run of up to `SEGMENT` chained events.

A row holds the leaf index of its first event, its positions (as runs, "101-2100"), the
leaves of its events (hex, 64 characters each, in order) and the chain's value after its
last event; the chain between is recomputed from the leaves when read. One row per
transaction's events instead of one per event: storing a row per event was two thirds of
what the chain cost the write path. Stores that kept one row per event (`audit_chain`) have
their rows carried over by `convert_per_event_rows`, stored leaves and chain values as they
were, so an edit made to them before stays visible to `verify`.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from adapters.sql import Cursor

LINKS_TABLE = "audit_links"
PER_EVENT_TABLE = "audit_chain"  # the one-row-per-event table of earlier stores
LINKS_COLUMNS = ("(first_idx {key} PRIMARY KEY, first_position BIGINT NOT NULL UNIQUE, "
                 "last_position BIGINT NOT NULL, positions TEXT NOT NULL, "
                 "leaves TEXT NOT NULL, chain TEXT NOT NULL)")
LINKS_ROW = (("first_idx", "bigint"), ("first_position", "bigint"),
             ("last_position", "bigint"), ("positions", "text"), ("leaves", "text"),
             ("chain", "text"))
SEGMENT = 1024  # the most events in one row
LEAF_HEX = 64
COLUMNS = "first_idx, first_position, last_position, positions, leaves, chain"


def hash_bytes(text: Any) -> bytes:
    """A stored hex hash as bytes; 32 zero bytes where an edit left something else, so a
    tampered row is found by what it is checked against, and never stops a write or a read."""
    try:
        value = bytes.fromhex(str(text))
    except ValueError:
        return bytes(32)
    return value if len(value) == 32 else bytes(32)


def encode_runs(positions: Sequence[int]) -> str:
    """Ascending positions as runs of consecutive ones: [1, 2, 3, 7] -> "1-3,7"."""
    runs: list[str] = []
    start = previous = positions[0]
    for position in positions[1:]:
        if position != previous + 1:
            runs.append(f"{start}-{previous}" if previous != start else str(start))
            start = position
        previous = position
    runs.append(f"{start}-{previous}" if previous != start else str(start))
    return ",".join(runs)


def decode_runs(text: str, most: int = SEGMENT) -> list[int]:
    """The positions of `encode_runs`; ValueError for anything else (an edited row), or
    for more than `most` positions (an edit cannot make a reader expand millions)."""
    positions: list[int] = []
    for run in str(text).split(","):
        first, _, last = run.partition("-")
        low, high = int(first), int(last or first)
        if high < low or len(positions) + high - low + 1 > most or (
                positions and low <= positions[-1]):
            raise ValueError(f"not a run of positions in order: {run!r}")
        positions.extend(range(low, high + 1))
    return positions


@dataclass(frozen=True)
class Segment:
    """One stored row, read."""

    first_idx: int
    positions: list[int]
    leaves: str  # hex, LEAF_HEX characters per event
    chain: str  # hex, the chain after the last event

    @classmethod
    def of(cls, row: Any) -> Segment | None:
        """The row as a segment; None when its positions cannot be read (an edited row:
        its events then show as never chained)."""
        try:
            positions = decode_runs(row["positions"])
        except ValueError:
            return None
        return cls(int(row["first_idx"]), positions, str(row["leaves"]), str(row["chain"]))

    @property
    def intact(self) -> bool:
        """Whether there is a leaf for each position, no more, no less."""
        return len(self.leaves) == LEAF_HEX * len(self.positions)

    def leaf(self, offset: int) -> str:
        """The hex leaf of the event at `offset` in this row."""
        return self.leaves[LEAF_HEX * offset:LEAF_HEX * (offset + 1)]

    def leaf_bytes(self, offset: int) -> bytes:
        """The leaf at `offset` as bytes."""
        return hash_bytes(self.leaf(offset))

    @property
    def chain_bytes(self) -> bytes:
        """The chain after the last event, as bytes."""
        return hash_bytes(self.chain)

    def offset_of(self, position: int) -> int | None:
        """Where a position sits in this row, None when it is not here."""
        at = bisect_left(self.positions, position)
        return at if at < len(self.positions) and self.positions[at] == position else None


def per_position(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Stored rows as one link per position: position, hex leaf, and on a row's last
    position the chain value stored after it (None on the others)."""
    links: list[dict[str, Any]] = []
    for row in rows:
        segment = Segment.of(row)
        if segment is None:
            continue  # unreadable positions: its events show as never chained
        ends = len(segment.positions) - 1
        for offset, position in enumerate(segment.positions):
            chain = None
            if offset == ends:  # leaves beyond its positions: the row was edited
                chain = segment.chain if segment.intact else ""
            links.append({"position": position, "leaf": segment.leaf(offset), "chain": chain})
    return links


def rows_of(start_idx: int, positions: Sequence[int], leaves: Sequence[bytes],
            chains: Sequence[bytes]) -> list[tuple[int, int, int, str, str, str]]:
    """Rows for events chained in order from leaf index `start_idx`: each event's position,
    leaf and the chain after it; at most `SEGMENT` events per row."""
    rows = []
    for at in range(0, len(positions), SEGMENT):
        part = positions[at:at + SEGMENT]
        rows.append((start_idx + at, part[0], part[-1], encode_runs(part),
                     b"".join(leaves[at:at + SEGMENT]).hex(), chains[at + len(part) - 1].hex()))
    return rows


def last(cursor: Cursor, table: str) -> Segment | None:
    """The newest row, without its leaves (the write path reads it once per transaction)."""
    cursor.execute(f"SELECT first_idx, positions, '' AS leaves, chain FROM {table} "  # noqa: S608
                   "ORDER BY first_idx DESC LIMIT 1")
    row = cursor.fetchone()
    return None if row is None else Segment.of(row)


def holding_position(cursor: Cursor, table: str, position: int) -> Segment | None:
    """The row whose first position is the newest at or before `position`."""
    cursor.execute(f"SELECT {COLUMNS} FROM {table} WHERE first_position <= ? "  # noqa: S608
                   "ORDER BY first_position DESC LIMIT 1", (position,))
    row = cursor.fetchone()
    return None if row is None else Segment.of(row)


def holding_leaves(cursor: Cursor, table: str, low: int, high: int) -> list[Segment]:
    """The rows that hold leaf indexes `low` to `high`: the one holding `low`, and those
    starting after it up to `high`."""
    cursor.execute(f"SELECT {COLUMNS} FROM {table} WHERE first_idx <= ? "  # noqa: S608
                   "ORDER BY first_idx DESC LIMIT 1", (low,))
    rows = cursor.fetchall()
    if high > low:
        cursor.execute(f"SELECT {COLUMNS} FROM {table} WHERE first_idx > ? "  # noqa: S608
                       "AND first_idx <= ? ORDER BY first_idx", (low, high))
        rows += cursor.fetchall()
    return [segment for row in rows if (segment := Segment.of(row)) is not None]


def chain_before(cursor: Cursor, table: str, first_idx: int) -> bytes:
    """The chain's value before the row starting at `first_idx`."""
    cursor.execute(f"SELECT chain FROM {table} WHERE first_idx < ? "  # noqa: S608
                   "ORDER BY first_idx DESC LIMIT 1", (first_idx,))
    row = cursor.fetchone()
    return bytes(32) if row is None else hash_bytes(row["chain"])


def table_exists(cursor: Cursor, table: str) -> bool:
    """Whether a table is there (in the connection's schema on PostgreSQL)."""
    if cursor.dialect == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (table,))
    else:
        cursor.execute("SELECT to_regclass(?) AS name", (table,))
    row = cursor.fetchone()
    return row is not None and row["name"] is not None


def convert_per_event_rows(cursor: Cursor, page: int = 20 * SEGMENT) -> int:
    """Carries the rows of the per-event table of an earlier store into segments, in the
    caller's transaction (all or nothing), and drops it; returns how many. A stored chain
    value that is not the link of the row before ends a segment there, as stored, so
    `verify` still names that position. Returns 0 when there is nothing to carry."""
    if not table_exists(cursor, PER_EVENT_TABLE):
        return 0
    if last(cursor, LINKS_TABLE) is not None:
        raise RuntimeError(f"both {PER_EVENT_TABLE} and {LINKS_TABLE} hold links; "
                           "the store was written by two versions at once")
    previous, after, carried = bytes(32), -1, 0
    run: list[Any] = []
    rows: list[tuple[int, int, int, str, str, str]] = []

    def close() -> None:
        if run:
            rows.append((int(run[0]["idx"]), int(run[0]["position"]), int(run[-1]["position"]),
                         encode_runs([int(r["position"]) for r in run]),
                         "".join(str(r["leaf"]) for r in run), str(run[-1]["chain"])))
            run.clear()

    while True:
        cursor.execute(f"SELECT position, idx, leaf, chain FROM {PER_EVENT_TABLE} "  # noqa: S608
                       f"WHERE idx > ? ORDER BY idx LIMIT {page}", (after,))
        old = cursor.fetchall()
        if not old:
            break
        for row in old:
            if run and (int(row["idx"]) != int(run[-1]["idx"]) + 1 or len(run) == SEGMENT):
                close()
            with suppress(ValueError):  # an edited leaf: verify finds it against its event
                previous = hashlib.sha256(previous + bytes.fromhex(str(row["leaf"]))).digest()
            run.append(row)
            if str(row["chain"]) != previous.hex():
                close()
        after, carried = int(old[-1]["idx"]), carried + len(old)
        cursor.insert_rows(LINKS_TABLE, LINKS_ROW, rows)
        rows.clear()
    close()
    cursor.insert_rows(LINKS_TABLE, LINKS_ROW, rows)
    cursor.execute(f"DROP TABLE {PER_EVENT_TABLE}")
    return carried
