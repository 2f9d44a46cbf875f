"""The event-sourced application: commands in, events saved, one transaction per batch.

`execute` applies one command; `execute_batch` applies many in a single transaction (the
path Kafka ingestion uses). Either way each command sees the effects of the ones before it,
and a refused command is undone without touching the rest of its batch.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, AggregateEvent, Snapshot
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from adapters.aggregate_cache import AggregateCache
from adapters.clock import Clock, utc_now
from adapters.sql import Database, SideWrite
from adapters.transcodings import EventTranscoder, registered
from adapters.unit_of_work import UnitOfWork
from domain.accounts import PartnerAccount
from domain.commands import Command
from domain.errors import NotFound, PartnerLedgerError, WriteConflict
from domain.handlers.dispatch import handle, loads

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Aggregate)

# A writer that loses a race for an aggregate version retries on fresh state this often.
CONFLICT_RETRIES = 8


@dataclass
class Outcome:
    """What became of one command in a batch: its aggregate, or the error that refused it."""

    command: Command
    aggregate: Aggregate | None = None
    error: PartnerLedgerError | None = None
    position: int | None = None
    events: list[tuple[UUID, int]] = field(default_factory=list)


@dataclass
class BatchResult:
    """The outcomes of a batch, in order, and the log position of its last event."""

    outcomes: list[Outcome] = field(default_factory=list)
    position: int | None = None


class PartnerProgram(Application[UUID]):
    """The partner program as an event-sourced application: commands in, events saved."""

    name = "partnerledger"
    # Partner accounts grow with every accrual; snapshots keep loading them fast.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {PartnerAccount: 500}

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock
        self.cache: AggregateCache | None = None
        snapshots = self.snapshots.recorder if self.snapshots is not None else None
        self.db = Database(
            self.factory,
            self.recorder.events_table_name,  # type: ignore[attr-defined]
            getattr(snapshots, "events_table_name", None),
        )

    def keep_aggregates(self, size: int) -> None:
        """Keeps up to `size` saved aggregates in memory between batches, for a long-running
        writer such as the ingestion worker; each is checked against the store before use."""
        self.cache = AggregateCache(size) if size > 0 else None

    def construct_transcoder(self) -> EventTranscoder:
        return registered(EventTranscoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        registered(transcoder)

    def execute(
        self,
        command: Command,
        side_writes: Callable[[Outcome], Sequence[SideWrite]] | None = None,
    ) -> Outcome:
        """Applies one command in its own transaction; raises the error that refuses it."""
        result = self.execute_batch([command], side_writes=side_writes)
        outcome = result.outcomes[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def execute_batch(
        self,
        commands: Sequence[Command],
        side_writes: Callable[[Outcome], Sequence[SideWrite]] | None = None,
        batch_writes: Callable[[BatchResult], Sequence[SideWrite]] | None = None,
    ) -> BatchResult:
        """Applies commands in order and saves every resulting event in one transaction.

        `side_writes(outcome)` adds rows for each command, accepted or refused (then
        `outcome.error` is set), and `batch_writes(result)`, called once every command has
        been handled, rows for the whole batch (first), all in the same transaction as the
        events. Both are called again if the batch is retried after a version conflict.
        """
        for attempt in range(CONFLICT_RETRIES):
            try:
                return self._execute_once(commands, side_writes, batch_writes)
            except IntegrityError:
                # Another writer saved one of our aggregates first: start again on fresh
                # state, after a short random pause so that racing writers spread out.
                log.info("version conflict, retrying batch of %d", len(commands))
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter only
        raise WriteConflict(
            f"Gave up after {CONFLICT_RETRIES} attempts: other writers kept changing the same "
            "records. Retry the request."
        )

    def _execute_once(
        self,
        commands: Sequence[Command],
        side_writes: Callable[[Outcome], Sequence[SideWrite]] | None,
        batch_writes: Callable[[BatchResult], Sequence[SideWrite]] | None,
    ) -> BatchResult:
        if self.cache is not None:
            self.cache.sync(self.recorder)
        uow = UnitOfWork(self.repository, self.mapper, self.db, self.cache)
        uow.prefetch(i for command in commands for i in loads(command))
        result = BatchResult()
        writes: list[SideWrite] = []
        events: list[AggregateEvent] = []  # in command order, so the log reads as it happened
        now = self.clock()
        for command in commands:
            outcome, kept = self._handle_one(command, uow, now)
            events.extend(kept)
            if side_writes is not None:
                writes.extend(side_writes(outcome))
            result.outcomes.append(outcome)
        if batch_writes is not None:
            writes[:0] = batch_writes(result)
        if not events:
            if writes:
                self._write_only(writes)
            return result
        try:
            # straight to the event store: the events are already collected, in order
            recordings = self.events.put(events, side_writes=writes)
            positions = {
                (r.domain_event.originator_id, r.domain_event.originator_version):
                    r.notification.id
                for r in recordings
            }
        except IntegrityError:
            # The store's own retry after a lost commit acknowledgement collides with our
            # committed write: recognise it instead of applying the commands a second time.
            found = self._positions_if_saved(events)
            if found is None:
                raise
            positions = found
        for outcome in result.outcomes:
            if outcome.events:
                outcome.position = max(positions[key] for key in outcome.events)
        result.position = max(positions.values())
        self._snapshot(uow)
        if self.cache is not None:
            saved = [a for a in uow.loaded.values() if a is not None]
            for aggregate in saved:
                aggregate.collect_events()  # saved: nothing is pending any more
            self.cache.give(saved, min(positions.values()), result.position)
        return result

    @staticmethod
    def _handle_one(
        command: Command, uow: UnitOfWork, now: Any
    ) -> tuple[Outcome, list[AggregateEvent]]:
        """Runs one command and returns the events it recorded; a refusal undoes it unless
        the refusal is itself on record."""
        outcome = Outcome(command)
        uow.begin_command()
        try:
            outcome.aggregate = handle(command, uow, now)
        except PartnerLedgerError as error:
            outcome.error = error
            if not getattr(error, "keeps_events", False):  # e.g. a deal conflict, for audit
                uow.undo_command()
                return outcome, []
        kept = uow.new_events()
        uow.end_command()
        outcome.events = [(e.originator_id, e.originator_version) for e in kept]
        return outcome, kept

    def _snapshot(self, uow: UnitOfWork) -> None:
        """Snapshots, from memory, the aggregates whose version crossed their interval, or
        that recorded an event after which their state is much smaller."""
        if self.snapshots is None:
            return
        for aggregate in uow.loaded.values():
            interval = self.snapshotting_intervals.get(type(aggregate))
            if aggregate is None or interval is None or not aggregate.pending_events:
                continue
            before = aggregate.version - len(aggregate.pending_events)
            shrinks = getattr(type(aggregate), "snapshot_after", ())
            if aggregate.version // interval > before // interval or any(
                type(e).__name__ in shrinks for e in aggregate.pending_events
            ):
                snapshot_class = getattr(type(aggregate), "Snapshot", None) or Snapshot
                self.snapshots.put([snapshot_class.take(aggregate)])

    def _positions_if_saved(
        self, events: Sequence[AggregateEvent]
    ) -> dict[tuple[UUID, int], int] | None:
        """Positions of these very events when they are already stored, byte for byte."""
        positions: dict[tuple[UUID, int], int] = {}
        for domain_event in events:
            stored = self.mapper.to_stored_event(domain_event)
            found = self.db.find_event(domain_event.originator_id, domain_event.originator_version)
            if found is None or (found[1], found[2]) != (stored.topic, stored.state):
                return None
            positions[(domain_event.originator_id, domain_event.originator_version)] = found[0]
        return positions

    def _write_only(self, writes: Sequence[SideWrite]) -> None:
        with self.db.transaction() as cursor:
            for write in writes:
                write.apply(cursor)

    def position(self) -> int:
        """The newest position in the notification log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def get_aggregate(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        """An aggregate of the given type, or NotFound."""
        aggregate: object
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            aggregate = None
        if not isinstance(aggregate, cls):
            raise NotFound(f"No {cls.__name__.lower()} with id {aggregate_id}.")
        return aggregate
