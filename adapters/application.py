"""The event-sourced application: commands in, events saved, one transaction per batch.

`execute` applies one command; `execute_batch` applies many in a single transaction (the
path Kafka ingestion uses). Either way each command sees the effects of the ones before it,
and a refused command is undone without touching the rest of its batch.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import Aggregate, AggregateEvent, Snapshot
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from adapters.clock import Clock, utc_now
from adapters.sql import Database, SideWrite
from adapters.transcodings import TRANSCODINGS
from domain.accounts import PartnerAccount
from domain.commands import Command
from domain.errors import Duplicate, NotFound, PartnerLedgerError, WriteConflict
from domain.handlers import handle, touches

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Aggregate)

# How many aggregates one prefetch query asks for.
PREFETCH_CHUNK = 500
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


class AggregateCache:
    """Aggregates as a busy single writer last saved them, lent to one batch at a time.

    A batch takes what it needs out of the cache and gives it back only after its events
    are saved, so a batch that fails or is retried can never leave half-applied state behind,
    and an aggregate is never shared by two batches at once. Other writers' changes are
    found in the notification log: before each batch, every aggregate with an event after
    `position` is forgotten (in the usual case, nobody else wrote: one query).
    """

    # Further behind than this, forgetting everything is cheaper than reading the log.
    MAX_CATCH_UP = 20_000

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self._items: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._lock = threading.Lock()

    def sync(self, recorder: Any) -> None:
        """Forgets aggregates that other writers changed since `position`."""
        current = recorder.max_notification_id() or 0
        if current == self.position:
            return
        if current - self.position > self.MAX_CATCH_UP:
            changed: set[Any] | None = None
        else:
            notifications = recorder.select_notifications(self.position + 1, self.MAX_CATCH_UP,
                                                          stop=current)
            changed = {n.originator_id for n in notifications}
        with self._lock:
            if changed is None:
                self._items.clear()
            else:
                for aggregate_id in changed:
                    self._items.pop(aggregate_id if isinstance(aggregate_id, UUID)
                                    else UUID(str(aggregate_id)), None)
            self.position = max(self.position, current)

    def take(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """Removes and returns those of these aggregates that are cached."""
        with self._lock:
            return {i: self._items.pop(i) for i in aggregate_ids if i in self._items}

    def give(self, aggregates: Iterable[Aggregate], first: int, last: int) -> None:
        """Keeps aggregates saved at log positions `first`..`last`, forgetting the least
        recently used. Had another writer saved in between, `position` stays put, and the
        next `sync` reads past our own events too."""
        with self._lock:
            for aggregate in aggregates:
                self._items[aggregate.id] = aggregate
                self._items.move_to_end(aggregate.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            if first == self.position + 1:
                self.position = last


class UnitOfWork:
    """The aggregates a batch loads and creates, kept so later commands see earlier effects.

    Undoing a refused command costs nothing up front: the unit of work only remembers how
    many pending events each aggregate had when the command first touched it, and on a
    refusal rebuilds those aggregates from the store plus the events kept before that mark.
    """

    def __init__(self, app: PartnerLedger) -> None:
        self.app = app
        self.loaded: dict[UUID, Aggregate | None] = {}
        # for the current command: aggregate id -> pending events before it (None: absent)
        self.marks: dict[UUID, int | None] | None = None

    def _mark(self, aggregate_id: UUID) -> None:
        if self.marks is not None and aggregate_id not in self.marks:
            aggregate = self.loaded.get(aggregate_id)
            self.marks[aggregate_id] = None if aggregate is None else len(
                aggregate.pending_events
            )

    def _from_cache(self, aggregate_ids: Sequence[UUID]) -> None:
        """Takes cached aggregates (the cache was brought up to date when the batch began)."""
        cache = self.app.cache
        if cache is None or not aggregate_ids:
            return
        self.loaded.update(cache.take(aggregate_ids))

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id not in self.loaded:
            self._from_cache([aggregate_id])
        if aggregate_id not in self.loaded:
            try:
                self.loaded[aggregate_id] = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                self.loaded[aggregate_id] = None
        self._mark(aggregate_id)
        return self.loaded[aggregate_id]

    def prefetch(self, aggregate_ids: Iterable[UUID]) -> None:
        """Loads many aggregates with one query per chunk instead of one query each."""
        wanted = list(dict.fromkeys(i for i in aggregate_ids if i not in self.loaded))
        for start in range(0, len(wanted), PREFETCH_CHUNK):
            self._from_cache(wanted[start:start + PREFETCH_CHUNK])
        wanted = [i for i in wanted if i not in self.loaded]
        for start in range(0, len(wanted), PREFETCH_CHUNK):
            chunk = wanted[start:start + PREFETCH_CHUNK]
            # aggregates with snapshots load through the repository: snapshot plus the tail
            for aggregate_id in self.app.db.ids_with_snapshots(chunk):
                self.loaded[aggregate_id] = self.app.repository.get(aggregate_id)
            chunk = [i for i in chunk if i not in self.loaded]
            streams: dict[UUID | str, list[Any]] = {i: [] for i in chunk}
            for stored in self.app.db.select_streams(chunk):
                streams[stored.originator_id].append(self.app.mapper.to_domain_event(stored))
            for stream_id, events in streams.items():
                assert isinstance(stream_id, UUID)
                self.loaded[stream_id] = project_aggregate(None, events) if events else None

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        found = self.find(cls, aggregate_id)
        if found is None:
            raise NotFound(f"No {cls.__name__.lower()} with id {aggregate_id}.")
        return found

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        aggregate = self._load(aggregate_id)
        return aggregate if isinstance(aggregate, cls) else None

    def exists(self, aggregate_id: UUID) -> bool:
        return self._load(aggregate_id) is not None

    def add(self, aggregate: Aggregate) -> None:
        existing = self._load(aggregate.id)
        if existing is not None and existing is not aggregate:
            raise Duplicate(f"Id {aggregate.id} is already taken.", existing_id=str(aggregate.id))
        self.loaded[aggregate.id] = aggregate

    def begin_command(self) -> None:
        """Starts remembering what the next command touches."""
        self.marks = {}

    def new_events(self) -> list[AggregateEvent]:
        """The events the current command recorded, in the order they were triggered."""
        assert self.marks is not None
        events: list[AggregateEvent] = []
        for aggregate_id, mark in self.marks.items():
            aggregate = self.loaded[aggregate_id]
            if aggregate is not None:
                pending = aggregate.pending_events[mark or 0:]
                events.extend(cast(list[AggregateEvent], pending))
        # across aggregates by creation time (a stable sort keeps ties in touch order)
        return sorted(events, key=lambda e: e.timestamp)

    def end_command(self) -> None:
        """Keeps what the command did."""
        self.marks = None

    def undo_command(self) -> None:
        """Puts every aggregate the refused command touched back as it was before it."""
        assert self.marks is not None
        for aggregate_id, mark in self.marks.items():
            self.loaded[aggregate_id] = None if mark is None else self._rebuild(aggregate_id, mark)
        self.marks = None

    def _rebuild(self, aggregate_id: UUID, mark: int) -> Aggregate | None:
        current = self.loaded[aggregate_id]
        kept = list(current.pending_events[:mark]) if current is not None else []
        first_kept = kept[0].originator_version if kept else None
        aggregate: Any = None
        if first_kept is None or first_kept > 1:
            stored_version = None if first_kept is None else first_kept - 1
            aggregate = self.app.repository.get(aggregate_id, version=stored_version)
        for event_ in kept:
            aggregate = event_.mutate(aggregate)
        if aggregate is not None:
            aggregate._pending_events = kept
        return cast(Aggregate | None, aggregate)


class PartnerLedger(Application[UUID]):
    """The partnerledger event-sourced application."""

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

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in TRANSCODINGS:
            transcoder.register(transcoding)

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
        uow = UnitOfWork(self)
        uow.prefetch(i for command in commands for i in touches(command))
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
