"""What Kafka ingestion stores beside the events: offsets, message ids and dead letters.

Every row here is written in the same transaction as the events a batch of messages
produced, so after a crash at any point the store either holds a batch's events together
with its offsets, message ids and dead letters, or none of them.

- `inbound_offsets`: per consumer group and topic-partition, the next offset to apply. A
  batch moves it with compare-and-set, so a worker that lost its partitions in a rebalance
  cannot apply a batch that the new owner has applied already.
- `inbound_messages`: every `message_id` applied or dead-lettered, with a fingerprint of the
  message, so a duplicate changes nothing and a different message reusing an id is refused.
- `relay_positions`: how far `partnerledger publish` has relayed the log.
- `dead_letters`: an outbox for `partner.inbound.dlq`, keyed by the message's own
  topic-partition-offset; the worker publishes and then marks them.
- `ingest_partition_stops`: partitions whose stored offset the broker no longer has; the
  worker consumes nothing from them until `partnerledger ingest reset-offsets` deletes the
  row, in the transaction that records the reset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.sql import Cursor, Database, SideWrite
from domain.errors import PartnerLedgerError

INBOX_TABLES = (
    "CREATE TABLE IF NOT EXISTS relay_positions (name TEXT PRIMARY KEY, "
    "position BIGINT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS inbound_offsets ("
    "consumer_group TEXT NOT NULL, topic TEXT NOT NULL, partition_no INTEGER NOT NULL, "
    "next_offset BIGINT NOT NULL, updated_at TEXT NOT NULL, "
    "PRIMARY KEY (consumer_group, topic, partition_no))",
    "CREATE TABLE IF NOT EXISTS inbound_messages ("
    "message_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, topic TEXT NOT NULL, "
    "partition_no INTEGER NOT NULL, message_offset BIGINT NOT NULL, outcome TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    "topic TEXT NOT NULL, partition_no INTEGER NOT NULL, message_offset BIGINT NOT NULL, "
    "message_id TEXT, reason TEXT NOT NULL, detail TEXT NOT NULL, message_key BYTEA, "
    "payload BYTEA NOT NULL, recorded_at TEXT NOT NULL, published_at TEXT, "
    "PRIMARY KEY (topic, partition_no, message_offset))",
    "CREATE INDEX IF NOT EXISTS dead_letters_unpublished "
    "ON dead_letters (topic, partition_no, message_offset) WHERE published_at IS NULL",
    "CREATE TABLE IF NOT EXISTS ingest_partition_stops ("
    "consumer_group TEXT NOT NULL, topic TEXT NOT NULL, partition_no INTEGER NOT NULL, "
    "stored_offset BIGINT NOT NULL, broker_start BIGINT NOT NULL, broker_end BIGINT NOT NULL, "
    "reason TEXT NOT NULL, stopped_at TEXT NOT NULL, "
    "PRIMARY KEY (consumer_group, topic, partition_no))",
)
STOP_COLUMNS = ("consumer_group, topic, partition_no, stored_offset, broker_start, broker_end, "
                "reason, stopped_at")


MESSAGE_ROW = (("message_id", "text"), ("fingerprint", "text"), ("topic", "text"),
               ("partition_no", "integer"), ("message_offset", "bigint"), ("outcome", "text"),
               ("recorded_at", "text"))


class InboxMoved(PartnerLedgerError):
    """Another worker applied these offsets or message ids first; nothing was written."""

    problem = "inbox-moved"


@dataclass(frozen=True)
class CheckedWrite(SideWrite):
    """One statement over many rows that must change exactly `expect` rows, or roll back."""

    rows: tuple[tuple[Any, ...], ...] = ()
    expect: int = 0
    # an insert: rows go to `table` through `Cursor.insert_rows` instead of the statement
    table: str = ""
    columns: tuple[tuple[str, str], ...] = ()
    conflict: str = ""

    def _run(self, cursor: Cursor) -> None:
        if self.table:
            cursor.insert_rows(self.table, self.columns, self.rows, self.conflict)
        else:
            cursor.executemany(self.statement, self.rows)

    def apply(self, cursor: Cursor) -> None:
        """Runs it; fewer changed rows means another writer got there first."""
        if not self.rows:
            changed = 0
        elif cursor.dialect == "postgres":
            # The store may write in pipeline mode, where a row count is only known after a
            # sync; a nested pipeline block syncs on exit.
            with cursor.raw.connection.pipeline():
                self._run(cursor)
            changed = cursor.rowcount
        else:
            self._run(cursor)
            changed = cursor.rowcount
        if changed != self.expect:
            what = self.table or self.statement.split("(")[0].strip()
            raise InboxMoved(f"expected {self.expect} rows, changed {changed}: {what}")


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not become an applied command, and why."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None
    payload: bytes
    message_id: str | None = None


@dataclass(frozen=True)
class PartitionStop:
    """A partition the worker stopped: its stored offset is outside what the broker has."""

    group: str
    topic: str
    partition: int
    stored_offset: int
    start: int  # the broker's first offset
    end: int  # the offset after the broker's last record
    stopped_at: str

    @property
    def reason(self) -> str:
        """`beyond-end` (the topic was recreated?) or `below-start` (retention deleted it)."""
        return "beyond-end" if self.stored_offset > self.end else "below-start"

    @property
    def detail(self) -> str:
        """The stop in one sentence, for logs and `ingest status`."""
        if self.stored_offset > self.end:
            why = f"beyond the partition's end {self.end} (was the topic recreated?)"
        else:
            why = (f"below the partition's start {self.start} (records deleted before they "
                   "were applied)")
        return (f"{self.topic}:{self.partition} stored offset {self.stored_offset} is {why}; "
                f"broker has [{self.start}, {self.end})")


def _stop(row: Any) -> PartitionStop:
    return PartitionStop(row["consumer_group"], row["topic"], int(row["partition_no"]),
                         int(row["stored_offset"]), int(row["broker_start"]),
                         int(row["broker_end"]), row["stopped_at"])


class Inbox:
    """Reads and writes the ingestion tables."""

    def __init__(self, db: Database, group: str) -> None:
        self.db = db
        self.group = group

    def setup(self) -> None:
        """Creates the tables if missing."""
        statements: tuple[str, ...] = INBOX_TABLES
        if self.db.dialect == "sqlite":
            statements = tuple(s.replace("BYTEA", "BLOB") for s in statements)
        self.db.create_tables(statements)

    def offsets(self, topic: str) -> dict[int, int]:
        """The next offset to apply, per partition of `topic`, for this group."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT partition_no, next_offset FROM inbound_offsets "
                "WHERE consumer_group = ? AND topic = ?", (self.group, topic))
            return {int(r["partition_no"]): int(r["next_offset"]) for r in cursor.fetchall()}

    def move_offsets(self, topic: str, moves: dict[int, tuple[int | None, int]],
                     now: datetime) -> list[SideWrite]:
        """Writes that move partitions from their stored next offset (None: none yet) on."""
        stamp = now.isoformat()
        inserts = tuple((self.group, topic, p, new, stamp)
                        for p, (old, new) in sorted(moves.items()) if old is None)
        updates = tuple((new, stamp, self.group, topic, p, old)
                        for p, (old, new) in sorted(moves.items()) if old is not None)
        return [
            CheckedWrite(
                "INSERT INTO inbound_offsets (consumer_group, topic, partition_no, next_offset, "
                "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                rows=inserts, expect=len(inserts)),
            CheckedWrite(
                "UPDATE inbound_offsets SET next_offset = ?, updated_at = ? "
                "WHERE consumer_group = ? AND topic = ? AND partition_no = ? "
                "AND next_offset = ?",
                rows=updates, expect=len(updates)),
        ]

    # stopped partitions -------------------------------------------------------------------

    def record_stop(self, stop: PartitionStop) -> None:
        """Records (or refreshes the broker's range of) a stopped partition."""
        with self.db.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO ingest_partition_stops ({STOP_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (consumer_group, topic, partition_no) DO UPDATE SET "
                "stored_offset = excluded.stored_offset, broker_start = excluded.broker_start, "
                "broker_end = excluded.broker_end, reason = excluded.reason",
                (stop.group, stop.topic, stop.partition, stop.stored_offset, stop.start,
                 stop.end, stop.reason, stop.stopped_at))

    def stops(self, topic: str) -> dict[int, PartitionStop]:
        """This group's stopped partitions of `topic`, by partition."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT {STOP_COLUMNS} FROM ingest_partition_stops "  # noqa: S608
                           "WHERE consumer_group = ? AND topic = ?", (self.group, topic))
            return {int(r["partition_no"]): _stop(r) for r in cursor.fetchall()}

    def stopped_partitions(self) -> list[PartitionStop]:
        """Every stopped partition in the store, of any group and topic (for `/metrics`)."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT {STOP_COLUMNS} FROM ingest_partition_stops "  # noqa: S608
                           "ORDER BY consumer_group, topic, partition_no")
            return [_stop(r) for r in cursor.fetchall()]

    def reset_offset(self, topic: str, partition: int, old: int | None, new: int,
                     now: datetime) -> list[SideWrite]:
        """Writes that set a partition's stored offset by hand (if it is still `old`) and
        clear its stop: for the transaction that records the reset."""
        return [*self.move_offsets(topic, {partition: (old, new)}, now),
                SideWrite("DELETE FROM ingest_partition_stops "
                          "WHERE consumer_group = ? AND topic = ? AND partition_no = ?",
                          (self.group, topic, partition))]

    # message ids ---------------------------------------------------------------------------

    def fingerprints(self, message_ids: Iterable[str]) -> dict[str, str]:
        """The fingerprints of those of these ids already applied or dead-lettered."""
        wanted = list(dict.fromkeys(message_ids))
        found: dict[str, str] = {}
        with self.db.transaction(commit=False) as cursor:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                if self.db.dialect == "postgres":
                    cursor.execute("SELECT message_id, fingerprint FROM inbound_messages "
                                   "WHERE message_id = ANY(?)", (chunk,))
                else:
                    marks = ",".join("?" * len(chunk))
                    cursor.execute("SELECT message_id, fingerprint FROM inbound_messages "  # noqa: S608
                                   f"WHERE message_id IN ({marks})", chunk)
                found.update((r["message_id"], r["fingerprint"]) for r in cursor.fetchall())
        return found

    @staticmethod
    def record_messages(rows: Sequence[tuple[str, str, str, int, int, str]],
                        now: datetime) -> SideWrite:
        """Rows of (message_id, fingerprint, topic, partition, offset, outcome); an id that
        another worker recorded meanwhile rolls the batch back."""
        stamp = now.isoformat()
        return CheckedWrite(table="inbound_messages", columns=MESSAGE_ROW,
                            conflict="ON CONFLICT DO NOTHING",
                            rows=tuple((*row, stamp) for row in rows), expect=len(rows))

    @staticmethod
    def record_dead_letters(letters: Sequence[DeadLetter], now: datetime) -> SideWrite:
        """The outbox rows for dead letters."""
        stamp = now.isoformat()
        return CheckedWrite(
            "INSERT INTO dead_letters (topic, partition_no, message_offset, message_id, reason, "
            "detail, message_key, payload, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            rows=tuple((d.topic, d.partition, d.offset, d.message_id, d.reason, d.detail[:4000],
                        d.key, d.payload, stamp) for d in letters),
            expect=len(letters))

    def unpublished(self, topic: str, partitions: Sequence[int],
                    limit: int = 1000) -> list[DeadLetter]:
        """Dead letters of these partitions not yet sent to the dead-letter topic."""
        if not partitions:
            return []
        marks = ",".join("?" * len(partitions))
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT topic, partition_no, message_offset, message_id, reason, detail, "  # noqa: S608
                "message_key, payload FROM dead_letters WHERE published_at IS NULL "
                f"AND topic = ? AND partition_no IN ({marks}) "
                "ORDER BY partition_no, message_offset LIMIT ?",
                (topic, *partitions, limit))
            rows = cursor.fetchall()
        return [DeadLetter(r["topic"], int(r["partition_no"]), int(r["message_offset"]),
                           r["reason"], r["detail"],
                           None if r["message_key"] is None else bytes(r["message_key"]),
                           bytes(r["payload"]), r["message_id"]) for r in rows]

    def mark_published(self, letters: Sequence[DeadLetter], now: datetime) -> None:
        """Records that these dead letters reached the dead-letter topic."""
        with self.db.transaction() as cursor:
            cursor.executemany(
                "UPDATE dead_letters SET published_at = ? "
                "WHERE topic = ? AND partition_no = ? AND message_offset = ?",
                [(now.isoformat(), d.topic, d.partition, d.offset) for d in letters])

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest dead letters, for operators."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT topic, partition_no, message_offset, message_id, reason, detail, "
                "recorded_at, published_at FROM dead_letters "
                "ORDER BY recorded_at DESC, partition_no, message_offset DESC LIMIT ?", (limit,))
            return [dict(zip(("topic", "partition", "offset", "message_id", "reason", "detail",
                              "recorded_at", "published_at"),
                             (r["topic"], r["partition_no"], r["message_offset"],
                              r["message_id"], r["reason"], r["detail"], r["recorded_at"],
                              r["published_at"]), strict=True))
                    for r in cursor.fetchall()]
