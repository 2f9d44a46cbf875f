"""Applying a command: bounds on business time first, then its handler from the registry."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import commands as c
from domain.business_time import check_command
from domain.handlers.ports import Aggregates
from domain.handlers.registry import HANDLERS


def loads(command: c.Command) -> list[UUID]:
    """Aggregate ids the command's handler will load, so a batch can fetch most at once."""
    return HANDLERS[type(command)].loads(command)


def handle(command: c.Command, aggregates: Aggregates, now: datetime) -> Aggregate:
    """Applies one command; `now` (the recording time) stands in for a missing `occurred_at`.

    Business times outside their bounds are refused before anything is loaded. A payout run
    never pays as of a moment after its recording, so no money leaves its hold early.
    """
    occurred_at = command.occurred_at or now
    check_command(command, occurred_at, now)
    if isinstance(command, c.RunPayouts):
        command = replace(command, as_of=min(command.as_of or occurred_at, now))
    return HANDLERS[type(command)].handler(command, aggregates, occurred_at)
