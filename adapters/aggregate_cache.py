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
