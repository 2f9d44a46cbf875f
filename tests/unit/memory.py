"""An in-memory unit of work, to run command handlers without a store."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commands import Command
from domain.errors import Duplicate, NotFound, PartnerLedgerError
from domain.handlers.dispatch import handle

A = TypeVar("A", bound=Aggregate)


class MemoryUnitOfWork:
    """Aggregates in a dict; each command runs on copies and commits only if accepted."""

    def __init__(self) -> None:
        self.aggregates: dict[UUID, Aggregate] = {}
        self.events: list[Any] = []
        # what the last refused command left pending on the aggregates it touched
        self.left_pending: list[Any] = []
        self._work: dict[UUID, Aggregate] = {}

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        found = self.find(cls, aggregate_id)
        if found is None:
            raise NotFound(f"No {cls.__name__} {aggregate_id}")
        return found

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id not in self._work and aggregate_id in self.aggregates:
            self._work[aggregate_id] = copy.deepcopy(self.aggregates[aggregate_id])
        found = self._work.get(aggregate_id)
        return found if isinstance(found, cls) else None

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._work or aggregate_id in self.aggregates

    def add(self, aggregate: Aggregate) -> None:
        if self.exists(aggregate.id) and self._work.get(aggregate.id) is not aggregate:
            raise Duplicate(f"{aggregate.id} taken")
        self._work[aggregate.id] = aggregate

    def run(self, command: Command, now: datetime) -> Any:
        """Applies one command; a refusal leaves everything as it was (unless it keeps events)."""
        self._work = {}
        try:
            result = handle(command, self, now)
        except PartnerLedgerError as error:
            self.left_pending = [e for a in self._work.values() for e in a.pending_events]
            if getattr(error, "keeps_events", False):
                self._commit()
            self._work = {}
            raise
        self._commit()
        return result

    def _commit(self) -> None:
        for aggregate_id, aggregate in self._work.items():
            self.events.extend(aggregate.collect_events())
            self.aggregates[aggregate_id] = aggregate
        self._work = {}

    def of_type(self, name: str) -> list[Any]:
        """Events whose class is named `name` (e.g. "Accrued")."""
        return [e for e in self.events if type(e).__name__ == name]
