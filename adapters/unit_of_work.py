"""The unit of work: what a batch loads and creates, and how a refused command is undone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import Mapper

from adapters.aggregate_cache import AggregateCache
from adapters.sql import Database
from domain.errors import Duplicate, NotFound

A = TypeVar("A", bound=Aggregate)

# How many aggregates one prefetch query asks for.
PREFETCH_CHUNK = 500


class UnitOfWork:
    """The aggregates a batch loads and creates, kept so later commands see earlier effects.

    Undoing a refused command costs nothing up front: the unit of work only remembers how
    many pending events each aggregate had when the command first touched it, and on a
    refusal rebuilds those aggregates from the store plus the events kept before that mark.
    """

    def __init__(self, repository: Repository[UUID], mapper: Mapper[UUID], db: Database,
                 cache: AggregateCache | None) -> None:
        self.repository = repository
        self.mapper = mapper
        self.db = db
        self.cache = cache
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
        cache = self.cache
        if cache is None or not aggregate_ids:
            return
        self.loaded.update(cache.take(aggregate_ids))

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id not in self.loaded:
            self._from_cache([aggregate_id])
        if aggregate_id not in self.loaded:
            try:
                self.loaded[aggregate_id] = self.repository.get(aggregate_id)
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
            for aggregate_id in self.db.ids_with_snapshots(chunk):
                self.loaded[aggregate_id] = self.repository.get(aggregate_id)
            chunk = [i for i in chunk if i not in self.loaded]
            streams: dict[UUID | str, list[Any]] = {i: [] for i in chunk}
            for stored in self.db.select_streams(chunk):
                streams[stored.originator_id].append(self.mapper.to_domain_event(stored))
            for stream_id, events in streams.items():
                assert isinstance(stream_id, UUID)
                self.loaded[stream_id] = project_aggregate(None, events) if events else None

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        """The aggregate, or NotFound when there is none of that type."""
        found = self.find(cls, aggregate_id)
        if found is None:
            raise NotFound(f"No {cls.__name__.lower()} with id {aggregate_id}.")
        return found

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate, or None."""
        aggregate = self._load(aggregate_id)
        return aggregate if isinstance(aggregate, cls) else None

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any aggregate has this id."""
        return self._load(aggregate_id) is not None

    def add(self, aggregate: Aggregate) -> None:
        """Adds a new aggregate to be saved; its id must be free."""
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
            aggregate = self.repository.get(aggregate_id, version=stored_version)
        for event_ in kept:
            aggregate = event_.mutate(aggregate)
        if aggregate is not None:
            aggregate._pending_events = kept
        return cast(Aggregate | None, aggregate)
