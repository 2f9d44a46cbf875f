"""Application recorders that write extra rows in the same transaction as the events.

`Application.save(..., side_writes=[...])` passes the list down to the recorder; these
subclasses run it inside the insert transaction, before the events, so idempotency
records, consumer offsets and the like commit or roll back together with the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from adapters.sql import Cursor, SideWrite, set_search_path


class SideWriteSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite recorder with side writes."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        side_writes: Sequence[SideWrite] = kwargs.get("side_writes", ())
        cursor = Cursor(c, "sqlite")
        for write in side_writes:
            write.apply(cursor)
        return super()._insert_events(c, stored_events, **kwargs)


class SideWritePostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL recorder with side writes."""

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
