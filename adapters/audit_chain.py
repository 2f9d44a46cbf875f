"""The hash chain over the notification log: tamper evidence for every stored event.

Each stored event is linked in `audit_links` (see `adapters.audit_links`: a row per run of
events), written by the recorder in the same transaction as the event (so on every path:
HTTP, batched Kafka ingestion, the CLI):
  leaf  = SHA-256(0x00 || position LF stream LF version LF topic LF state)   (RFC 6962 leaf)
  chain = SHA-256(previous chain || leaf), starting from 32 zero bytes.
`verify` recomputes both from the events table and names the first position whose event
was altered, removed, reordered or added outside the application. Whoever can rewrite the
whole database can recompute the whole chain; a head recorded elsewhere (a signed digest,
an export) is what shows that.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from adapters import audit_links, audit_tree
from adapters.audit_links import LINKS_TABLE, Segment
from adapters.sql import Cursor, Database

log = logging.getLogger(__name__)
CHAIN_TABLE = LINKS_TABLE
GENESIS = bytes(32)
BATCH = 5000
# verify reads the log in stretches this long (and the links in as many rows of them), the
# next while it hashes one
VERIFY_BATCH = 20000
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def create_statements(prefix: str = "", dialect: str = "sqlite") -> list[str]:
    """The chain's and the tree's tables, `prefix` naming the schema on PostgreSQL. On SQLite
    the first leaf index is the table's own row id (INTEGER PRIMARY KEY)."""
    key = "INTEGER" if dialect == "sqlite" else "BIGINT"
    return [f"CREATE TABLE IF NOT EXISTS {prefix}{LINKS_TABLE} "
            f"{audit_links.LINKS_COLUMNS.format(key=key)}",
            f"CREATE TABLE IF NOT EXISTS {prefix}{audit_tree.NODES_TABLE} "
            f"{audit_tree.NODES_COLUMNS}"]


def as_bytes(value: Any) -> bytes:
    """A stored column as bytes, whatever type a hand-edited row now holds."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def stream_text(stream_id: Any) -> str:
    """A stream id in its canonical form (text on SQLite, uuid on PostgreSQL)."""
    if isinstance(stream_id, UUID):
        return str(stream_id)
    text = str(stream_id)
    if CANONICAL_UUID.fullmatch(text):  # as stored by the application: already canonical
        return text
    try:
        return str(UUID(text))
    except ValueError:  # an edited row: hash what is there
        return text


def leaf_hash(position: int, stream_id: Any, version: Any, topic: Any, state: Any) -> bytes:
    """RFC 6962 leaf hash of one stored event, bound to its position in the log:
    SHA-256(0x00 || position LF stream LF version LF topic LF state)."""
    # the application's own events hold a UUID and bytes: those skip the checks for edits
    text = str(stream_id) if type(stream_id) is UUID else stream_text(stream_id)
    digest = hashlib.sha256(f"\x00{position:d}\n{text}\n{version}\n{topic}\n".encode())
    digest.update(state if type(state) is bytes else as_bytes(state))
    return digest.digest()


def link(previous: bytes, leaf: bytes) -> bytes:
    """The next chain value."""
    return hashlib.sha256(previous + leaf).digest()


def extend(cursor: Cursor, prefix: str, events_table: str, position_column: str,
           positions: Sequence[int], stored_events: Sequence[StoredEvent]) -> None:
    """Chains newly inserted events, inside the transaction that inserts them.

    Events stored before the chain existed (or by an older version) and not yet chained
    are chained first, so the chain never skips a position.
    """
    if not positions:
        return
    table = f"{prefix}{LINKS_TABLE}"
    newest = audit_links.last(cursor, table)
    if newest is None:
        last, previous, start = 0, GENESIS, 0
        if audit_links.table_exists(cursor, f"{prefix}{audit_links.PER_EVENT_TABLE}"):
            # chaining afresh would fork the chain from the links an earlier version stored
            raise RuntimeError("the audit chain of an earlier version is not carried over "
                               "yet: start the service once (it converts it) before writing")
    else:
        last, previous = newest.positions[-1], newest.chain_bytes
        start = newest.first_idx + len(newest.positions)
    # (position, event) to chain, in log order: any events before these that were stored
    # unchained first, then these
    todo: list[tuple[int, StoredEvent]] = []
    first = min(positions)
    if first > last + 1:
        cursor.execute(
            f"SELECT {position_column} AS position, originator_id, originator_version, "  # noqa: S608
            f"topic, state FROM {events_table} WHERE {position_column} > ? "
            f"AND {position_column} < ? ORDER BY {position_column}", (last, first))
        todo += [(int(old["position"]), StoredEvent(old["originator_id"],
                                                    old["originator_version"], old["topic"],
                                                    old["state"]))
                 for old in cursor.fetchall()]
    todo += zip(positions, stored_events, strict=True)
    if not all(map(operator.lt, positions, positions[1:])):  # the store numbers them in order
        todo.sort(key=lambda item: item[0])
    leaves = [leaf_hash(position, event.originator_id, event.originator_version, event.topic,
                        event.state) for position, event in todo]
    chains: list[bytes] = []
    sha256 = hashlib.sha256
    for leaf in leaves:
        previous = sha256(previous + leaf).digest()  # link(previous, leaf), inlined
        chains.append(previous)
    nodes_table = f"{prefix}{audit_tree.NODES_TABLE}"
    nodes = audit_tree.new_nodes(cursor, table, start, leaves, nodes_table)  # reads first
    cursor.insert_rows(table, audit_links.LINKS_ROW,
                       audit_links.rows_of(start, [item[0] for item in todo], leaves, chains))
    audit_tree.store_nodes(cursor, nodes_table, nodes)


@dataclass(frozen=True)
class Finding:
    """The first place the log and its chain disagree."""

    position: int
    problem: str  # altered | removed | unchained | chain-altered
    detail: str


@dataclass(frozen=True)
class Verification:
    """What `verify` found: how many events it checked, the head, the first finding."""

    checked: int
    head_position: int
    head: str
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None

    def to_json(self) -> dict[str, Any]:
        """The answer of `audit verify` and GET /audit/verify."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_position": self.head_position,
            "head": self.head,
            "first_bad": None if self.finding is None else {
                "position": self.finding.position,
                "problem": self.finding.problem,
                "detail": self.finding.detail,
            },
        }


class AuditChain:
    """Reads and checks the chain kept beside the events."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.position_column = "rowid" if db.dialect == "sqlite" else "notification_id"

    def setup(self) -> None:
        """Carries over the per-event links an earlier version stored, then chains any
        events stored before the chain existed (the recorder creates the table with the
        events table)."""
        with self.db.transaction() as cursor:
            try:
                carried = audit_links.convert_per_event_rows(cursor)
            except RuntimeError as error:
                log.error("audit chain: %s; `audit verify` reads %s only", error, LINKS_TABLE)
                carried = 0
        if carried:
            log.info("audit chain: %d per-event links carried over to %s", carried,
                     LINKS_TABLE)
        while True:
            with self.db.transaction() as cursor:
                newest = audit_links.last(cursor, LINKS_TABLE)
                last = newest.positions[-1] if newest is not None else 0
                cursor.execute(
                    f"SELECT {self.position_column} AS position, originator_id, "  # noqa: S608
                    f"originator_version, topic, state FROM {self.db.events_table} "
                    f"WHERE {self.position_column} > ? ORDER BY {self.position_column} "
                    f"LIMIT {BATCH}", (last,))
                rows = cursor.fetchall()
                if not rows:
                    return
                events = [StoredEvent(stream_text(r["originator_id"]),
                                      r["originator_version"], r["topic"], as_bytes(r["state"]))
                          for r in rows]
                extend(cursor, "", self.db.events_table, self.position_column,
                       [int(r["position"]) for r in rows], events)

    def _events(self, after: int) -> list[Any]:
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT {self.position_column} AS position, originator_id, "  # noqa: S608
                f"originator_version, topic, state FROM {self.db.events_table} "
                f"WHERE {self.position_column} > ? ORDER BY {self.position_column} "
                f"LIMIT {VERIFY_BATCH}", (after,))
            return cursor.fetchall()

    def _links(self, after: int) -> list[dict[str, Any]]:
        """The links of the rows starting after `after` (about VERIFY_BATCH positions' worth,
        at least one row), one per position; a row's chain value on its last position."""
        table = LINKS_TABLE
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT {audit_links.COLUMNS} FROM {table} "  # noqa: S608
                           "WHERE first_position > ? AND first_position <= ? "
                           "ORDER BY first_position", (after, after + VERIFY_BATCH))
            rows = cursor.fetchall()
            if not rows:
                cursor.execute(f"SELECT {audit_links.COLUMNS} FROM {table} "  # noqa: S608
                               "WHERE first_position > ? ORDER BY first_position LIMIT 1",
                               (after,))
                rows = cursor.fetchall()
        return audit_links.per_position(rows)

    @staticmethod
    def _rows(read: Callable[[int], list[Any]], pool: ThreadPoolExecutor | None
              ) -> Iterator[Any]:
        """Rows of `read` in order. With a pool the next stretch is read while this one is
        used: PostgreSQL works in its own process meanwhile (in-process SQLite would only
        contend for the interpreter, so it reads in line)."""
        pending = pool.submit(read, 0) if pool is not None else None
        after = 0
        while True:
            rows = pending.result() if pending is not None else read(after)
            if not rows:
                return
            after = int(rows[-1]["position"])
            if pool is not None:
                pending = pool.submit(read, after)
            yield from rows

    def _merged(self) -> Iterator[tuple[int, Any | None, Any | None]]:
        """(position, event row or None, chain row or None) in log order."""
        reader = (ThreadPoolExecutor(2, thread_name_prefix="audit-verify")
                  if self.db.dialect == "postgres" else nullcontext())
        with reader as pool:
            events, links = self._rows(self._events, pool), self._rows(self._links, pool)
            event, chain = next(events, None), next(links, None)
            while event is not None or chain is not None:
                event_at = int(event["position"]) if event is not None else None
                chain_at = int(chain["position"]) if chain is not None else None
                if chain_at is None or (event_at is not None and event_at < chain_at):
                    yield event_at or 0, event, None
                    event = next(events, None)
                elif event_at is None or chain_at < event_at:
                    yield chain_at, None, chain
                    chain = next(links, None)
                else:
                    yield event_at, event, chain
                    event, chain = next(events, None), next(links, None)

    def verify(self) -> Verification:
        """Recomputes the chain from the stored events; stops at the first disagreement."""
        previous = GENESIS
        checked = head_position = 0
        for position, event, chain in self._merged():
            if event is None:
                return self._found(checked, head_position, previous, position, "removed",
                                   "the chain records an event here, the log has none")
            if chain is None:
                return self._found(checked, head_position, previous, position, "unchained",
                                   "the log has an event the chain never recorded")
            leaf = leaf_hash(position, event["originator_id"], event["originator_version"],
                             event["topic"], event["state"])
            if leaf.hex() != chain["leaf"]:
                return self._found(checked, head_position, previous, position, "altered",
                                   "the event differs from what was recorded at this "
                                   "position (edited, or moved here from elsewhere)")
            previous = link(previous, leaf)
            if chain["chain"] is not None and previous.hex() != chain["chain"]:
                return self._found(checked, head_position, previous, position,
                                   "chain-altered", "the chain row itself was changed")
            checked += 1
            head_position = position
        return Verification(checked, head_position, previous.hex(), None)

    @staticmethod
    def _found(checked: int, head_position: int, previous: bytes, position: int,
               problem: str, detail: str) -> Verification:
        return Verification(checked, head_position, previous.hex(),
                            Finding(position, problem, detail))

    def link_before(self, position: int) -> tuple[int, str] | None:
        """(position, chain) of the newest link before a position, if any."""
        with self.db.transaction(commit=False) as cursor:
            segment = audit_links.holding_position(cursor, LINKS_TABLE, position - 1)
        if segment is None:
            return None
        walked = self.links(segment.positions[0] - 1, position - 1)
        newest = max(walked, default=None)
        return None if newest is None else (newest, walked[newest][1])

    def links(self, after: int, through: int) -> dict[int, tuple[str, str]]:
        """(leaf, chain) by position for the positions after `after` up to `through`."""
        with self.db.transaction(commit=False) as cursor:
            first = audit_links.holding_position(cursor, LINKS_TABLE, after)
            segments = [first] if first is not None and first.positions[-1] > after else []
            cursor.execute(f"SELECT {audit_links.COLUMNS} FROM {LINKS_TABLE} "  # noqa: S608
                           "WHERE first_position > ? AND first_position <= ? "
                           "ORDER BY first_position", (after, through))
            segments += [s for row in cursor.fetchall() if (s := Segment.of(row)) is not None]
            if not segments:
                return {}
            previous = audit_links.chain_before(cursor, LINKS_TABLE, segments[0].first_idx)
        found: dict[int, tuple[str, str]] = {}
        for segment in segments:
            for offset, position in enumerate(segment.positions):
                leaf = segment.leaf_bytes(offset)
                previous = link(previous, leaf)
                if after < position <= through:
                    found[position] = (leaf.hex(), previous.hex())
        return found
