"""Manual offset resets: each one an event saying from where to where, by whom and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidInput
from domain.ingest_offsets import IngestOffsets

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_a_reset_is_recorded_with_its_reason() -> None:
    offsets = IngestOffsets.open("group", "partner.inbound", 3)
    assert offsets.id == IngestOffsets.id_for("group", "partner.inbound", 3)
    offsets.reset(10, 0, " ops ", "topic recreated", "beyond-end", NOW)
    opened, reset = offsets.collect_events()
    assert type(opened).__name__ == "Opened"
    assert type(reset).__name__ == "OffsetReset"
    assert (reset.from_offset, reset.to_offset, reset.requested_by, reset.reason,  # type: ignore[attr-defined]
            reset.cleared_stop) == (10, 0, "ops", "topic recreated", "beyond-end")  # type: ignore[attr-defined]
    assert (offsets.offset, offsets.resets) == (0, 1)


@pytest.mark.parametrize(("to", "by", "reason", "field"), [
    (-1, "ops", "why", "to"), (0, "ops", "  ", "reason"), (0, "", "why", "requested_by"),
    (0, "ops", "x" * 501, "reason"),
])
def test_a_reset_that_says_not_where_who_or_why_is_refused(
    to: int, by: str, reason: str, field: str
) -> None:
    offsets = IngestOffsets.open("group", "partner.inbound", 0)
    offsets.collect_events()
    with pytest.raises(InvalidInput) as refused:
        offsets.reset(None, to, by, reason, None, NOW)
    assert field in refused.value.errors
    assert offsets.collect_events() == []
