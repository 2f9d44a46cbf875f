"""Aggregates kept in memory between batches by a long-running writer, lent one batch at a time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


class AggregateCache:
    """Aggregates as a busy single writer last saved them, lent to one batch at a time.

    A batch takes what it needs out of the cache and gives it back only after its events
    are saved, so a batch that fails or is retried can never leave half-applied state behind,
    and an aggregate is never shared by two batches at once. Other writers' changes are
    found in the notification log: before each batch, every aggregate with an event after
    `position` is forgotten (in the usual case, nobody else wrote: one query). The stretches
    of the log this cache's own batches wrote are not read: their aggregates were given back
    as saved, and each stretch is one transaction's, written under the store's insert lock,
    so no other writer's event lies inside it.
    """

    # Further behind than this, forgetting everything is cheaper than reading the log.
    MAX_CATCH_UP = 20_000

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self._items: OrderedDict[UUID, Aggregate] = OrderedDict()
        # (first, last) log positions of our own saves past `position`, in the order saved
        self._own: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def sync(self, recorder: Any) -> None:
        """Forgets aggregates that other writers changed since `position`."""
        current = recorder.max_notification_id() or 0
        if current == self.position:
            return
        with self._lock:
            others = self._others(current)
        changed: set[Any] | None = None
        if sum(last - first + 1 for first, last in others) <= self.MAX_CATCH_UP:
            changed = {n.originator_id for first, last in others
                       for n in recorder.select_notifications(first, last - first + 1,
                                                              stop=last)}
        with self._lock:
            if changed is None:
                self._items.clear()
            else:
                for aggregate_id in changed:
                    self._items.pop(aggregate_id if isinstance(aggregate_id, UUID)
                                    else UUID(str(aggregate_id)), None)
            self.position = max(self.position, current)
            self._own = [(first, last) for first, last in self._own if last > self.position]

    def _others(self, current: int) -> list[tuple[int, int]]:
        """The stretches of the log from `position` to `current` that we did not write."""
        stretches, start = [], self.position + 1
        for first, last in sorted(self._own):  # each committed, so within `current`
            if first > start:
                stretches.append((start, first - 1))
            start = max(start, last + 1)
        if start <= current:
            stretches.append((start, current))
        return stretches

    def take(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """Removes and returns those of these aggregates that are cached."""
        with self._lock:
            return {i: self._items.pop(i) for i in aggregate_ids if i in self._items}

    def give(self, aggregates: Iterable[Aggregate], first: int, last: int) -> None:
        """Keeps aggregates saved at log positions `first`..`last`, forgetting the least
        recently used. Had another writer saved in between, `position` stays put and the
        stretch is remembered as ours: the next `sync` reads the log around it."""
        with self._lock:
            for aggregate in aggregates:
                self._items[aggregate.id] = aggregate
                self._items.move_to_end(aggregate.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            if first == self.position + 1:
                self.position = last
            else:
                self._own.append((first, last))
