"""Where ingestion reads an inbound partition from, when an operator moves it by hand.

The worker moves its stored offsets itself, batch by batch, beside the events the batch
produced. When the broker no longer has the stored offset (a recreated topic, records
deleted by retention before they were applied) the worker stops the partition, and only an
operator's reset moves it on: each reset is an event here, one stream per consumer group,
topic and partition, saying from where to where, by whom and why.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.ids import derived_id
from domain.recording import RecordsDirectly

# Long enough for a sentence and a ticket number; a reason is not a document.
MAX_REASON = 500
MAX_NAME = 200


class IngestOffsets(Aggregate, metaclass=RecordsDirectly):
    """The manual offset resets of one consumer group on one topic-partition."""

    @staticmethod
    def id_for(group: str, topic: str, partition: int) -> UUID:
        """One stream per group, topic and partition, with an id anyone can derive."""
        return derived_id(f"partnerledger:ingest-offsets:{group}:{topic}:{partition}")

    @classmethod
    def open(cls, group: str, topic: str, partition: int) -> IngestOffsets:
        """The stream of a partition that has not been reset before."""
        return cls(cls.id_for(group, topic, partition), group, topic, partition)

    @event("Opened")
    def __init__(self, id: UUID, group: str, topic: str, partition: int) -> None:  # noqa: A002
        self.group = group
        self.topic = topic
        self.partition = partition
        self.offset: int | None = None
        self.resets = 0

    def reset(self, from_offset: int | None, to_offset: int, requested_by: str, reason: str,
              cleared_stop: str | None, occurred_at: datetime) -> None:
        """Moves the stored offset to `to_offset`; `from_offset` is what was stored (None:
        nothing yet), `cleared_stop` the reason the partition had been stopped, if it was."""
        check_reset(to_offset, requested_by, reason)
        self._offset_reset(from_offset, to_offset, requested_by.strip(), reason.strip(),
                           cleared_stop, occurred_at)

    @event("OffsetReset")
    def _offset_reset(self, from_offset: int | None, to_offset: int, requested_by: str,
                      reason: str, cleared_stop: str | None, occurred_at: datetime) -> None:
        self.offset = to_offset
        self.resets += 1


def check_reset(to_offset: int, requested_by: str, reason: str) -> None:
    """Refuses a reset to a negative offset, or one that says not who or why."""
    errors: dict[str, list[str]] = {}
    if to_offset < 0:
        errors["to"] = ["An offset is 0 or more."]
    if not reason.strip():
        errors["reason"] = ["Say why the offset is reset."]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"At most {MAX_REASON} characters."]
    if not requested_by.strip() or len(requested_by) > MAX_NAME:
        errors["requested_by"] = [f"Between 1 and {MAX_NAME} characters."]
    if errors:
        raise InvalidInput(errors, detail="; ".join(f"{k}: {' '.join(v)}"
                                                     for k, v in errors.items()))
