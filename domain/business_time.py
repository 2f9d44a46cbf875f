"""Bounds on business time: what `occurred_at`, `as_of` and periods may say.

Every entry point (HTTP, Kafka, the CLI) goes through `check_command`, so no stored event can
carry a time that a read model, a rebuild or an export could not handle: business times lie
between 1970-01-01 and the recording time plus a little clock skew; only a plan revision may
be dated ahead, by at most 366 days; royalty periods and quarters may not lie after the
current month.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from domain import commands as c
from domain.errors import InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# Another service's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
# How far ahead a plan revision may be announced.
PLAN_LEAD = timedelta(days=366)

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def latest(now: datetime, ahead: timedelta = CLOCK_SKEW) -> datetime:
    """The latest business time allowed for something recorded at `now`."""
    return now + ahead


def moment_error(moment: datetime, now: datetime, ahead: timedelta = CLOCK_SKEW) -> str | None:
    """Why `moment` is not an allowed business time at `now`, or None when it is."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "Must carry a time zone offset."
    if moment < EARLIEST:
        return "Must not be before 1970-01-01T00:00:00Z."
    if moment > latest(now, ahead):
        limit = latest(now, ahead).astimezone(UTC).isoformat(timespec="seconds")
        return f"Must not be after {limit} (the recording time plus {describe_span(ahead)})."
    return None


def check_moment(field: str, moment: datetime, now: datetime,
                 ahead: timedelta = CLOCK_SKEW) -> datetime:
    """`moment` when it lies within the bounds, else a 422 naming `field`."""
    error = moment_error(moment, now, ahead)
    if error is not None:
        raise InvalidInput.field(field, error)
    return moment


def month_number(year: int, month: int) -> int:
    """Months since year 0, for comparing months."""
    return year * 12 + month - 1


def period_error(period: str, now: datetime) -> str | None:
    """Why a royalty period "YYYY-MM" is not allowed at `now` (malformed ones are left to
    the royalty rules, which name the expected shape)."""
    match = _PERIOD.match(period)
    if match is None:
        return None
    return _month_error(month_number(int(match.group(1)), int(match.group(2))), now,
                        "A royalty period")


def quarter_error(quarter: str, now: datetime) -> str | None:
    """Why a quarter "YYYY-Qn" may not be closed at `now`: it must have begun."""
    match = _QUARTER.match(quarter)
    if match is None:
        return None
    first = month_number(int(match.group(1)), (int(match.group(2)) - 1) * 3 + 1)
    return _month_error(first, now, "A quarter")


def date_error(day: date, now: datetime, ahead: timedelta = PLAN_LEAD) -> str | None:
    """Why a calendar date (an agreement's start) is out of bounds at `now`."""
    if day < EARLIEST.date():
        return "Must not be before 1970-01-01."
    if day > (now + ahead).date():
        return f"Must not be more than {describe_span(ahead)} after today."
    return None


def check_command(command: c.Command, occurred_at: datetime, now: datetime) -> None:
    """Refuses a command whose business times lie outside the bounds (a 422 per field)."""
    ahead = PLAN_LEAD if isinstance(command, c.RevisePlan) else CLOCK_SKEW
    errors: dict[str, list[str]] = {}
    _add(errors, "occurred_at", moment_error(occurred_at, now, ahead))
    if isinstance(command, c.RunPayouts) and command.as_of is not None:
        _add(errors, "as_of", moment_error(command.as_of, now))
    elif isinstance(command, c.ReportRoyalty):
        _add(errors, "period", period_error(command.period, now))
    elif isinstance(command, c.CloseRoyaltyQuarter):
        _add(errors, "quarter", quarter_error(command.quarter, now))
    elif isinstance(command, c.SignRoyaltyAgreement):
        _add(errors, "starts_on", date_error(command.starts_on, now))
    if errors:
        raise InvalidInput(errors, detail="; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in errors.items()))


def _month_error(index: int, now: datetime, what: str) -> str | None:
    current = now.astimezone(UTC)
    if index < month_number(1970, 1):
        return f"{what} may not lie before 1970-01."
    if index > month_number(current.year, current.month):
        return f"{what} may not lie after the current month ({current:%Y-%m})."
    return None


def _add(errors: dict[str, list[str]], field: str, message: str | None) -> None:
    if message is not None:
        errors[field] = [message]


def describe_span(span: timedelta) -> str:
    """"5 minutes", "366 days"."""
    if span.days:
        return f"{span.days} days"
    return f"{int(span.total_seconds() // 60)} minutes"
