"""Read model runners: read the notification log in batches, write read models exactly once.

Each batch is one transaction that updates the read model and the projection's position
together. The position row is locked first, so any number of runners, in any number of
processes, can catch up the same projection: each batch applies only what lies beyond the
position it finds under the lock. A crash anywhere loses the whole uncommitted batch and
nothing else, and the next run starts from the committed position.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.application import PartnerProgram
from adapters.sql import BufferedCursor, Cursor, Database, OperationalError
from projections.read_model import ReadModel

log = logging.getLogger(__name__)

POSITIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS projection_positions ("
    "name TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TEXT)"
)


FAILURES_TABLE = (
    "CREATE TABLE IF NOT EXISTS projection_failures ("
    "name TEXT PRIMARY KEY, position BIGINT NOT NULL, event_type TEXT NOT NULL, "
    "error TEXT NOT NULL, failed_at TEXT NOT NULL)"
)
# Longest error text kept in the failures table.
MAX_ERROR_TEXT = 500


@dataclass(frozen=True)
class Failure:
    """Where a projection stopped: the event it could not apply, and why."""

    name: str
    position: int
    event_type: str
    error: str
    failed_at: str

    def describe(self) -> str:
        """One line for logs, the CLI and /readyz."""
        return (f"projection {self.name} stopped at position {self.position} "
                f"({self.event_type}): {self.error}")


class ProjectionFailed(RuntimeError):
    """A handler failed: the projection stopped just before the event it could not apply."""

    def __init__(self, message: str, failure: Failure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


class _HandlerError(Exception):
    """A handler raised on the event at `position` (or, when writes were buffered, on one
    of the events up to it)."""

    def __init__(self, position: int, event: object, error: Exception) -> None:
        super().__init__(str(error))
        self.position = position
        self.event = event
        self.error = error


def _event_type(event: object) -> str:
    return getattr(type(event), "__qualname__", type(event).__name__)


class ReadModelRunner:
    """Keeps one read model up to date with the application's notification log."""

    def __init__(
        self, app: PartnerProgram, db: Database, projection: ReadModel, batch_size: int = 1000
    ) -> None:
        self.app = app
        self.db = db
        self.projection = projection
        self.batch_size = batch_size
        self.failure: Failure | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The projection's name, also its tracking key."""
        return self.projection.name

    def setup(self) -> None:
        """Creates the projection's tables and its position row, if missing."""
        self.db.create_tables([POSITIONS_TABLE, FAILURES_TABLE, *self.projection.tables])
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO projection_positions (name, position) VALUES (?, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (self.name,),
            )

    def position(self, cursor: Cursor | None = None) -> int:
        """The last notification id this projection has applied (read in `cursor`, if given)."""
        if cursor is None:
            with self.db.transaction(commit=False) as own:
                return self.position(own)
        cursor.execute("SELECT position FROM projection_positions WHERE name = ?", (self.name,))
        row = cursor.fetchone()
        return 0 if row is None else int(row["position"])

    def catch_up(self, max_batches: int | None = None) -> int:
        """Applies batches until the log is exhausted (or `max_batches`); returns the position."""
        with self._lock:
            batches = 0
            while max_batches is None or batches < max_batches:
                if not self._run_batch():
                    break
                batches += 1
            return self.position()

    def _run_batch(self) -> bool:
        start = self.position() + 1
        # Stopped at this very event: try it alone first, so that commands and reads in a
        # stopped process do not each re-apply a whole batch only to fail again.
        stopped_here = self.failure is not None and self.failure.position == start
        notifications = self.app.recorder.select_notifications(
            start, 1 if stopped_here else self.batch_size)
        if not notifications:
            return False
        events = [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]
        for attempt in range(5):
            try:
                self._apply(start, events)
                break
            except OperationalError:
                # Another process holds the SQLite write lock past its timeout: try again.
                if attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))
        return True

    def lock_position(self, cursor: Cursor) -> int:
        """Takes the position row's lock for the rest of `cursor`'s transaction (other
        runners wait) and returns the position."""
        # Writing first takes the row lock before anything is read, on both stores.
        cursor.execute(
            "UPDATE projection_positions SET position = position WHERE name = ?", (self.name,)
        )
        cursor.execute("SELECT position FROM projection_positions WHERE name = ?", (self.name,))
        row = cursor.fetchone()
        if row is None:
            raise ProjectionFailed(f"projection {self.name} has not been set up")
        return int(row["position"])

    def _write(self, cursor: Cursor, done: int, events: Sequence[tuple[int, object]]) -> int:
        """Applies the events beyond `done` and records the new position; returns it."""
        last = done
        buffered = BufferedCursor(cursor.raw, cursor.dialect)
        for position, event in events:
            if position <= done:
                continue  # another runner applied it already
            try:
                self.projection.apply(event, position, buffered)
            except OperationalError:
                raise
            except Exception as error:
                raise _HandlerError(position, event, error) from error
            last = position
        try:
            buffered.flush()
        except OperationalError:
            raise
        except Exception as error:
            # a write buffered for any event up to `last` failed: the live runner retries one
            # event at a time to name the culprit; a rebuild names the batch's last event
            raise _HandlerError(last, events[-1][1], error) from error
        if last > done:
            cursor.execute(
                "UPDATE projection_positions SET position = ?, updated_at = ? WHERE name = ?",
                (last, self.app.clock().isoformat(), self.name),
            )
            cursor.execute("DELETE FROM projection_failures WHERE name = ?", (self.name,))
        return last

    def _apply(self, start: int, events: Sequence[tuple[int, object]]) -> None:
        try:
            self._apply_in_one(start, events)
        except _HandlerError:
            # Apply the batch one event at a time: everything before the culprit is kept,
            # and the culprit's position is known exactly.
            for index in range(len(events)):
                try:
                    self._apply_in_one(start, events[index:index + 1])
                except _HandlerError as failed:
                    self._stop(failed)
        self.failure = None

    def _apply_in_one(self, start: int, events: Sequence[tuple[int, object]]) -> None:
        with self.db.transaction() as cursor:
            done = self.lock_position(cursor)
            if done + 1 < start:
                # The position went back (a rebuild) after this batch was read: reading
                # again from the locked position is the only way not to skip events.
                return
            self._write(cursor, done, events)

    def _stop(self, failed: _HandlerError) -> None:
        """Records where and why the projection stopped, loudly, and raises."""
        failure = Failure(self.name, failed.position, _event_type(failed.event),
                          f"{type(failed.error).__name__}: {failed.error}"[:MAX_ERROR_TEXT],
                          self.app.clock().isoformat())
        if self.failure is not None and self.failure.position == failure.position:
            raise ProjectionFailed(self.failure.describe(), self.failure) from failed.error
        log.error("%s", failure.describe(), exc_info=failed.error)
        self.failure = failure
        with self.db.transaction() as cursor:
            cursor.execute("DELETE FROM projection_failures WHERE name = ?", (self.name,))
            cursor.execute(
                "INSERT INTO projection_failures (name, position, event_type, error, failed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (failure.name, failure.position, failure.event_type, failure.error,
                 failure.failed_at),
            )
        raise ProjectionFailed(failure.describe(), failure) from failed.error

    def recorded_failure(self, cursor: Cursor | None = None) -> Failure | None:
        """The failure recorded by any process running this projection, if it is stopped."""
        if cursor is None:
            with self.db.transaction(commit=False) as own:
                return self.recorded_failure(own)
        cursor.execute(
            "SELECT position, event_type, error, failed_at FROM projection_failures "
            "WHERE name = ?", (self.name,))
        row = cursor.fetchone()
        if row is None:
            return None
        return Failure(self.name, int(row["position"]), str(row["event_type"]),
                       str(row["error"]), str(row["failed_at"]))

    def rebuild(self) -> int:
        """Empties the read model and replays the whole log into it, in one transaction.

        Readers keep seeing the old tables until the rebuilt ones commit, and other runners
        wait on the position lock, so nothing is read half-built or applied twice.
        """
        try:
            with self._lock, self.db.transaction() as cursor:
                self.lock_position(cursor)
                self.projection.reset(cursor)
                done = 0
                while True:
                    notifications = self.app.recorder.select_notifications(done + 1,
                                                                           self.batch_size)
                    if not notifications:
                        break
                    events = [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]
                    done = self._write(cursor, done, events)
                cursor.execute(
                    "UPDATE projection_positions SET position = ?, updated_at = ? "
                    "WHERE name = ?",
                    (done, self.app.clock().isoformat(), self.name),
                )
                cursor.execute("DELETE FROM projection_failures WHERE name = ?", (self.name,))
        except _HandlerError as failed:
            failure = Failure(self.name, failed.position, _event_type(failed.event),
                              f"{type(failed.error).__name__}: {failed.error}",
                              self.app.clock().isoformat())
            log.error("rebuild failed: %s", failure.describe(), exc_info=failed.error)
            raise ProjectionFailed(f"rebuild failed: {failure.describe()}", failure) \
                from failed.error
        return done
