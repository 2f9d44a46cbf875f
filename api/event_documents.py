"""Stored events as plain JSON documents: the relay's messages and the audit routes' answers.

One shape everywhere an event leaves the store: `{event_id, type, stream_id, version,
position, occurred_at, recorded_at, data}`, money as {amount, currency}, exact decimals as
strings, times in ISO 8601.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.ids import derived_id
from domain.money import Money, decimal_text


@functools.singledispatch
def plain(value: Any) -> Any:
    """A value of an event as plain JSON: money as {amount, currency}, exact decimals as
    strings, times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


@plain.register
def _(value: Money) -> Any:
    return value.to_json()


@plain.register
def _(value: Decimal) -> Any:
    return decimal_text(value)


@plain.register(UUID)
@plain.register(Enum)
def _(value: UUID | Enum) -> Any:
    return str(value.value) if isinstance(value, Enum) else str(value)


@plain.register
def _(value: date) -> Any:  # datetime too
    return value.isoformat()


@plain.register
def _(value: dict) -> Any:  # type: ignore[type-arg]
    return {str(k): plain(v) for k, v in value.items()}


@plain.register(set)
@plain.register(frozenset)
def _(value: set[Any] | frozenset[Any]) -> Any:
    return sorted(plain(v) for v in value)


@plain.register(list)
@plain.register(tuple)
def _(value: list[Any] | tuple[Any, ...]) -> Any:
    return [plain(v) for v in value]


def event_id(stream_id: UUID, version: int) -> str:
    """The same event always has the same id, however often it is sent."""
    return str(derived_id(f"partnerledger:event:{stream_id}:{version}"))


def event_document(notification: Notification, event: Any) -> dict[str, Any]:
    """{event_id, type, stream_id, version, position, occurred_at, recorded_at, data}."""
    data = {k: plain(v) for k, v in vars(event).items()
            if k not in ("originator_id", "originator_version", "timestamp",
                         "originator_topic")}
    occurred = data.pop("occurred_at", None)
    return {
        "event_id": event_id(event.originator_id, event.originator_version),
        "type": notification.topic.split(":", 1)[-1],
        "stream_id": str(event.originator_id),
        "version": event.originator_version,
        "position": notification.id,
        "occurred_at": occurred or event.timestamp.isoformat(),
        "recorded_at": event.timestamp.isoformat(),
        "data": data,
    }
