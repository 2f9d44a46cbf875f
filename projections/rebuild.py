"""Rebuilding a read model beside the live one, and comparing the two.

The fresh tables are built in a scratch space of the same store (a schema of their own on
PostgreSQL, a file beside the database on SQLite), in batches that commit as they go, while
the live tables keep answering and keep following the log. At the end the position row is
locked (live runners wait a moment), the scratch tables are caught up to the same position,
and then either swapped in (the live tables are replaced in that one transaction) or, for
`--verify`, compared row by row with the live ones (`projections.table_diff`), which are
left as they were.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from adapters.application import PartnerProgram
from adapters.sql import BufferedCursor, Cursor, Database
from projections import table_diff
from projections.read_model import ReadModel
from projections.runner import ProjectionFailed, ReadModelRunner

Progress = Callable[[int, int, float], None]  # events done, events in the log, seconds


class Scratch:
    """Where a read model is rebuilt: a schema (PostgreSQL) or a file (SQLite)."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        if db.dialect == "postgres":
            self.schema = f"{db.schema}__rebuild_{name}"[:63]
            self.path = ""
        else:
            main = db.datastore.pool.db_name
            self.schema = ""
            self.path = f"{main}.rebuild-{name}"

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A committed transaction in the scratch space."""
        if self.db.dialect == "postgres":
            with self.db.datastore.get_connection() as conn, conn.transaction():
                conn.execute(f'SET LOCAL search_path TO "{self.schema}"')
                yield Cursor(conn.cursor(), "postgres")
            return
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield Cursor(conn.cursor(), "sqlite")
        finally:
            conn.close()

    def create(self, statements: Sequence[str]) -> None:
        """An empty scratch space with the read model's tables."""
        self.drop()
        if self.db.dialect == "postgres":
            with self.db.transaction() as cursor:
                cursor.execute(f'CREATE SCHEMA "{self.schema}"')
        with self.transaction() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def drop(self) -> None:
        """Removes the scratch space, whatever is left of it."""
        if self.db.dialect == "postgres":
            with self.db.transaction() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)


class Rebuild:
    """Rebuilds one read model beside the live one; swaps it in or compares."""

    def __init__(self, app: PartnerProgram, db: Database, runner: ReadModelRunner,
                 batch_size: int = 5000, progress: Progress | None = None) -> None:
        self.app = app
        self.db = db
        self.runner = runner
        self.projection: ReadModel = runner.projection
        self.batch_size = batch_size
        self.progress = progress
        self.scratch = Scratch(db, runner.name)

    def _build_to(self, done: int, stop: int | None) -> int:
        """Applies the log after `done` (up to `stop`) to the scratch tables."""
        total = self.app.position() if stop is None else stop
        started = time.monotonic()
        first = done
        while stop is None or done < stop:
            limit = self.batch_size if stop is None else min(self.batch_size, stop - done)
            notifications = self.app.recorder.select_notifications(done + 1, limit)
            if not notifications:
                break
            with self.scratch.transaction() as cursor:
                buffered = BufferedCursor(cursor.raw, cursor.dialect)
                for notification in notifications:
                    if stop is not None and notification.id > stop:
                        break
                    event = self.app.mapper.to_domain_event(notification)
                    try:
                        self.projection.apply(event, notification.id, buffered)
                    except Exception as error:
                        raise ProjectionFailed(
                            f"rebuild of {self.runner.name} failed at position "
                            f"{notification.id} ({type(event).__qualname__}): "
                            f"{type(error).__name__}: {error}") from error
                    done = notification.id
                buffered.flush()
            if self.progress is not None:
                self.progress(done - first, max(total - first, done - first),
                              time.monotonic() - started)
        return done

    def run(self, verify: bool) -> tuple[int, list[table_diff.Difference]]:
        """Builds the scratch tables; then swaps them in, or (verify) compares them with the
        live ones. Returns the position reached and the differences found."""
        self.scratch.create(self.projection.tables)
        try:
            done = self._build_to(0, None)
            try:
                self.runner.catch_up()
            except ProjectionFailed:
                if verify:
                    raise  # nothing to compare with: the live model is stopped
                # a rebuild is how a stopped read model is replaced: go on
            with self.db.transaction() as cursor:
                live_at = self.runner.lock_position(cursor)  # live runners wait from here
                if verify:
                    done = self._build_to(done, live_at)
                    if done != live_at:
                        raise ProjectionFailed(f"{self.runner.name}: live at {live_at}, "
                                               f"rebuilt at {done}; nothing to compare")
                    return done, self._compare(cursor)
                done = self._build_to(done, None)  # what was written meanwhile, too
                self._swap(cursor, done)
            return done, []
        finally:
            self.scratch.drop()

    def _compare(self, live: Cursor) -> list[table_diff.Difference]:
        found: list[table_diff.Difference] = []
        with self.scratch.transaction() as rebuilt:
            for table in self.projection.table_names:
                found += table_diff.compare(table, table_diff.key_columns(live, table),
                                            live, rebuilt)
        return found

    def _swap(self, cursor: Cursor, position: int) -> None:
        """Replaces the live tables' contents, inside the transaction holding the lock."""
        for table in self.projection.table_names:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - names are class constants
            with self.scratch.transaction() as scratch:
                # streamed: a rebuilt table can be far larger than memory should hold
                for rows in scratch.stream(f"SELECT * FROM {table}"):  # noqa: S608
                    columns = list(rows[0].keys())
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                        f"VALUES ({', '.join('?' * len(columns))})",
                        [tuple(row[c] for c in columns) for row in rows])
        cursor.execute("UPDATE projection_positions SET position = ?, updated_at = ? "
                       "WHERE name = ?", (position, self.app.clock().isoformat(),
                                          self.runner.name))
        cursor.execute("DELETE FROM projection_failures WHERE name = ?", (self.runner.name,))
