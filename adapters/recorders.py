"""Application recorders that write extra rows in the same transaction as the events.

`Application.save(..., side_writes=[...])` passes the list down to the recorder; these
subclasses run it inside the insert transaction, before the events, so idempotency
records, consumer offsets and the like commit or roll back together with the events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.sql import SQL, Literal

from adapters import audit_chain
from adapters.sql import Cursor, SideWrite, set_search_path


class SideWriteSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite recorder with side writes, and the audit chain extended with the events."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                *audit_chain.create_statements()]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        side_writes: Sequence[SideWrite] = kwargs.get("side_writes", ())
        cursor = Cursor(c, "sqlite")
        for write in side_writes:
            write.apply(cursor)
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions:
            audit_chain.extend(cursor, "", self.events_table_name,
                               "rowid", positions, stored_events)
        return positions


@contextmanager
def settled_on_error(curs: Any) -> Iterator[None]:
    """In pipeline mode psycopg raises a statement's error when it reads its result, which
    may be at a later statement's `execute`, before the insert's own sync. The pipeline is
    then left aborted, and ending the transaction reports "pipeline aborted" (which the
    library retries ten times as a lost connection, then raises) in place of the error,
    e.g. the unique violation of a version conflict that `execute_batch` retries on fresh
    state. Syncing first leaves the error itself to reach the caller."""
    try:
        yield
    except psycopg.Error:
        with suppress(psycopg.Error), curs.connection.pipeline() as pipeline:
            pipeline.sync()
        raise


class SideWritePostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL recorder with side writes, and the audit chain extended with the events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No server-side prepared statements: when a write in pipeline mode fails (the loser
        # of a race on a unique version, say), psycopg can believe a statement prepared in
        # the aborted pipeline exists, and the connection's next use of it fails with
        # "prepared statement ... does not exist". Every connection the store hands out is
        # set so, whenever and in whatever process the pool opened it.
        datastore = self.datastore
        handing_out = datastore.get_connection

        @contextmanager
        def unprepared() -> Iterator[Any]:
            with handing_out() as conn:
                conn.prepare_threshold = None
                yield conn

        datastore.__dict__["get_connection"] = unprepared
        prefix = f'"{self.datastore.schema}".'
        self.sql_create_statements.extend(
            SQL(statement).format()
            for statement in audit_chain.create_statements(prefix, "postgres"))

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Still inside the insert's transaction, holding the events table's EXCLUSIVE lock,
        # so chain rows are written in log order by one writer at a time.
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if positions:
            schema = self.datastore.schema
            try:
                audit_chain.extend(Cursor(curs, "postgres"), f'"{schema}".',
                                   f'"{schema}".{self.events_table_name}', "notification_id",
                                   positions, stored_events)
            except Exception as error:
                # the library keeps an error raised here until its transaction block has
                # ended, and that block commits: a statement that fails first makes the
                # server roll the events back with their links, never store them unchained
                # (the error the caller sees is then the server's, with this text)
                text = f"audit chain not extended, nothing stored: {error}"
                with suppress(psycopg.Error):
                    curs.execute(SQL("DO $abort$ BEGIN RAISE EXCEPTION {}; END $abort$").format(
                        Literal(text.replace("%", "%%").replace("$", "S"))))
                raise
        return positions

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        side_writes: Sequence[SideWrite] = kwargs.get("side_writes", ())
        if side_writes:
            cursor = Cursor(curs, "postgres")
            set_search_path(cursor, self.datastore.schema)
            for write in side_writes:
                write.apply(cursor)
        super()._insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # inside the library's try, before its sync: an error met here (a side row's, or
        # the events' own) is kept for after the transaction, which must end cleanly
        with settled_on_error(curs):
            super()._insert_stored_events(curs, stored_events, **kwargs)
