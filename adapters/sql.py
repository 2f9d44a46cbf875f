"""One small SQL port over the event store's own connections, for SQLite and PostgreSQL.

Read models, keys and idempotency records live in the same database as the events, and
are written through the same connection pool, so a write can share a transaction with
events (see `adapters.recorders`). Statements are written once with `?` placeholders.
"""

from __future__ import annotations

import fcntl
import weakref
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    StoredEvent,
)

from adapters.bulk import unnest_insert


class Row(Protocol):
    """A result row, read by column name."""

    def __getitem__(self, key: str) -> Any: ...

    def keys(self) -> Any: ...


class Cursor:
    """A cursor that speaks one placeholder style on both stores."""

    def __init__(self, raw: Any, dialect: str) -> None:
        # eventsourcing wraps sqlite3 cursors; the plain one has everything we need
        self.raw = getattr(raw, "sqlite_cursor", raw)
        self.dialect = dialect

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgres" else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        """Runs one statement."""
        self.raw.execute(self._sql(statement), tuple(params))
        return self

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Runs one statement for many parameter rows."""
        if rows:
            self.raw.executemany(self._sql(statement), [tuple(r) for r in rows])

    def insert_rows(self, table: str, columns: Sequence[tuple[str, str]],
                    rows: Sequence[Sequence[Any]], conflict: str = "") -> None:
        """Inserts many rows (`columns` are (name, SQL type)); `conflict` is an optional
        ON CONFLICT clause. On PostgreSQL as one statement (see `adapters.bulk`)."""
        if not rows:
            return
        if self.dialect != "postgres":
            names = ", ".join(name for name, _ in columns)
            marks = ", ".join("?" for _ in columns)
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608
                                 f"{conflict}", rows)
            return
        unnest_insert(self.raw, table, columns, rows, conflict)

    def stream(self, statement: str, params: Sequence[Any] = (),
               size: int = 5000) -> Generator[list[Row], None, None]:
        """The rows of a query in lists of at most `size`, never all held at once: on
        PostgreSQL through a server-side cursor (a plain one receives the whole result at
        `execute`), on SQLite as the engine steps through it."""
        if self.dialect == "postgres":
            with self.raw.connection.cursor(name=f"stream_{id(self):x}") as server_side:
                server_side.execute(self._sql(statement), tuple(params))
                while rows := server_side.fetchmany(size):
                    yield rows
            return
        self.raw.execute(statement, tuple(params))
        while rows := self.raw.fetchmany(size):
            yield list(rows)

    def fetchone(self) -> Row | None:
        """The next row, or None."""
        return self.raw.fetchone()  # type: ignore[no-any-return]

    def fetchall(self) -> list[Row]:
        """Every remaining row."""
        return list(self.raw.fetchall())

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        return int(self.raw.rowcount)


class BufferedCursor(Cursor):
    """Sends runs of the same write statement as one `executemany`, in the original order.

    A projection writes one statement per event; batching them saves a round trip per event
    on PostgreSQL (psycopg pipelines `executemany`). Any read flushes first, so a handler
    always sees its own earlier writes.
    """

    def __init__(self, raw: Any, dialect: str) -> None:
        super().__init__(raw, dialect)
        self._statement: str | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        """Buffers writes; runs reads at once, after flushing."""
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            if statement != self._statement:
                self.flush()
                self._statement = statement
            self._rows.append(tuple(params))
            return self
        self.flush()
        return super().execute(statement, params)

    def flush(self) -> None:
        """Runs what is buffered."""
        if self._statement is not None:
            statement, rows = self._statement, self._rows
            self._statement, self._rows = None, []
            if len(rows) == 1:
                super().execute(statement, rows[0])
            else:
                super().executemany(statement, rows)

    @property
    def rowcount(self) -> int:
        """Not meaningful while writes are buffered."""
        raise NotImplementedError("rowcount is not available on a buffered cursor")


@dataclass(frozen=True)
class SideWrite:
    """A statement to run in the same transaction as a batch of events."""

    statement: str = ""
    params: tuple[Any, ...] = ()

    def apply(self, cursor: Cursor) -> None:
        """Runs it."""
        cursor.execute(self.statement, self.params)


@dataclass(frozen=True)
class ManyWrite(SideWrite):
    """One statement over many rows, in the same transaction as a batch of events."""

    rows: tuple[tuple[Any, ...], ...] = ()

    def apply(self, cursor: Cursor) -> None:
        """Runs it once for every row."""
        cursor.executemany(self.statement, self.rows)


@dataclass(frozen=True)
class RowsWrite(SideWrite):
    """Many rows inserted into one table (see `Cursor.insert_rows`), in the same
    transaction as a batch of events; it has no statement of its own."""

    table: str = ""
    columns: tuple[tuple[str, str], ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    conflict: str = ""

    def apply(self, cursor: Cursor) -> None:
        """Inserts them."""
        cursor.insert_rows(self.table, self.columns, self.rows, self.conflict)


class Database:
    """Transactions on the event store's database, with the project's own tables in it."""

    def __init__(self, factory: InfrastructureFactory[Any], events_table: str,
                 snapshots_table: str | None = None) -> None:
        self.datastore: Any = getattr(factory, "datastore")  # noqa: B009
        self.events_table = events_table
        self.snapshots_table = snapshots_table
        self.dialect = "postgres" if hasattr(self.datastore, "schema") else "sqlite"
        self.schema: str = getattr(self.datastore, "schema", "")
        self._configured: weakref.WeakSet[Any] = weakref.WeakSet()

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Cursor]:
        """A transaction; committed on normal exit when `commit`, else rolled back."""
        if self.dialect == "sqlite":
            with self.datastore.transaction(commit=commit) as raw:
                yield Cursor(raw, self.dialect)
            return
        # PostgreSQL: the store's connections are all ours and all in one schema, so each
        # gets its search_path once, outside any transaction, instead of once per transaction.
        with self.datastore.get_connection() as conn:
            if conn not in self._configured:
                conn.execute(f'SET search_path TO "{self.schema}"')
                self._configured.add(conn)
            with conn.transaction(force_rollback=not commit):
                yield Cursor(conn.cursor(), self.dialect)

    def create_tables(self, statements: Sequence[str]) -> None:
        """Creates tables and indexes if missing."""
        with self.transaction() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def add_missing_columns(self, table: str, columns: dict[str, str]) -> None:
        """Adds columns a table made by an older version lacks (name -> SQL type)."""
        with self.transaction() as cursor:
            if self.dialect == "sqlite":
                cursor.execute(f"PRAGMA table_info({table})")
                present = {str(row["name"]) for row in cursor.fetchall()}
            else:
                cursor.execute("SELECT column_name FROM information_schema.columns "
                               "WHERE table_schema = ? AND table_name = ?", (self.schema, table))
                present = {str(row["column_name"]) for row in cursor.fetchall()}
            for name, kind in columns.items():
                if name not in present:
                    cursor.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def select_streams(self, originator_ids: Sequence[UUID],
                       version: int | None = None) -> list[StoredEvent]:
        """Every stored event (or only the one at `version`) of many aggregates in one
        query, by aggregate then version."""
        if not originator_ids:
            return []
        only = "" if version is None else f"AND originator_version = {int(version)} "
        with self.transaction(commit=False) as cursor:
            if self.dialect == "postgres":
                cursor.execute(
                    "SELECT originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {self.events_table} WHERE originator_id = ANY(?) {only}"
                    "ORDER BY originator_id, originator_version",
                    (list(originator_ids),),
                )
            else:
                marks = ",".join("?" * len(originator_ids))
                cursor.execute(
                    "SELECT originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {self.events_table} WHERE originator_id IN ({marks}) {only}"
                    "ORDER BY originator_id, originator_version",
                    [i.hex for i in originator_ids],
                )
            rows = cursor.fetchall()
        return [
            StoredEvent(
                originator_id=UUID(str(row["originator_id"])),
                originator_version=int(row["originator_version"]),
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]

    def ids_with_snapshots(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have a snapshot (and load best through it)."""
        if not originator_ids or self.snapshots_table is None:
            return set()
        with self.transaction(commit=False) as cursor:
            if self.dialect == "postgres":
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {self.snapshots_table} "  # noqa: S608
                    "WHERE originator_id = ANY(?)", (list(originator_ids),))
            else:
                marks = ",".join("?" * len(originator_ids))
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {self.snapshots_table} "  # noqa: S608
                    f"WHERE originator_id IN ({marks})", [i.hex for i in originator_ids])
            return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}

    def find_event(self, originator_id: UUID, version: int) -> tuple[int, str, bytes] | None:
        """(log position, topic, state) of one stored event, or None when it is not stored."""
        with self.transaction(commit=False) as cursor:
            key: object
            if self.dialect == "postgres":
                column, key = "notification_id", originator_id
            else:
                column, key = "rowid", originator_id.hex
            cursor.execute(
                f"SELECT {column} AS position, topic, state FROM {self.events_table} "  # noqa: S608
                "WHERE originator_id = ? AND originator_version = ?",
                (key, version),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return int(row["position"]), str(row["topic"]), bytes(row["state"])

    def notification_id(self, originator_id: UUID, version: int) -> int | None:
        """The log position of one stored event, or None when it is not stored."""
        found = self.find_event(originator_id, version)
        return None if found is None else found[0]


@contextmanager
def setup_lock(env: dict[str, str]) -> Iterator[None]:
    """Serialises start-up, where concurrent CREATE ... IF NOT EXISTS can fail: with an
    advisory lock on PostgreSQL (creating the schema named in the settings first), with a
    lock file beside the database on SQLite."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        # A transaction that read the schema and then writes fails at once (without waiting)
        # if another process wrote in between: processes starting together take turns.
        path = env.get("SQLITE_DBNAME", "")
        if not path or ":memory:" in path or "mode=memory" in path:
            yield
            return
        with open(f"{path}.setup-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    schema = env["POSTGRES_SCHEMA"]
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"], autocommit=True,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"partnerledger:{schema}",))
        try:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"partnerledger:{schema}",))


def set_search_path(cursor: Cursor, schema: str) -> None:
    """Unqualified table names resolve to the store's schema for this transaction."""
    cursor.execute(f'SET LOCAL search_path TO "{schema}"')


__all__ = ["Cursor", "Database", "IntegrityError", "ManyWrite", "OperationalError", "RowsWrite",
           "SideWrite"]
