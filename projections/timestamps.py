"""Timestamps in read models: fixed-width ISO 8601 text in UTC, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime

# Where a stored time cannot be expressed in UTC (a year-1 time east of Greenwich, a
# year-9999 time west of it), the read model keeps the nearest representable instant:
# a stored event must never stop a projection.
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """The instant in UTC, clamped to what `datetime` can represent; naive means UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        offset = moment.utcoffset()
        return _LAST if offset is not None and offset.total_seconds() < 0 else _FIRST


def iso(moment: datetime) -> str:
    """`2026-03-01T12:00:00.000000+00:00`, four-digit years included."""
    t = utc(moment)
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:"
            f"{t.second:02d}.{t.microsecond:06d}+00:00")
