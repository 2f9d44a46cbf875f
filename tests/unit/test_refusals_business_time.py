"""Business-time refusals on the fake: every bound, checked before anything is loaded."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain import commands as c
from domain.errors import InvalidInput
from tests.factories import terms
from tests.unit.world import NOW, World, usd

# Ids nothing holds: the bounds are checked before any of them is looked up.
UNKNOWN = uuid.UUID(int=99)
NAIVE = datetime(2026, 1, 1)  # no time zone: refused
BEFORE_1970 = datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)
PAST_SKEW = NOW + timedelta(minutes=5, microseconds=1)
PAST_LEAD = NOW + timedelta(days=366, microseconds=1)
SCHEDULE = ((None, Decimal("0.05")),)

CASES = [
    (c.ApplyPartner(NAIVE, UNKNOWN, "A", "a@a.example", "A", "agency", "DE"), ["occurred_at"]),
    (c.RegisterDeal(BEFORE_1970, UNKNOWN, UNKNOWN, "C", "c.example", usd("1")), ["occurred_at"]),
    (c.RecordPayment(PAST_SKEW, "in_1", "cust", usd("1")), ["occurred_at"]),
    (c.CreatePlan(PAST_SKEW, UNKNOWN, terms()), ["occurred_at"]),
    (c.RevisePlan(PAST_LEAD, UNKNOWN, {"hold_days": 1}), ["occurred_at"]),
    (c.RunPayouts(None, UNKNOWN, PAST_SKEW, (UNKNOWN,)), ["as_of"]),
    (c.RunPayouts(PAST_SKEW, UNKNOWN, BEFORE_1970, (UNKNOWN,)), ["occurred_at", "as_of"]),
    (c.ReportRoyalty(None, UNKNOWN, "2027-07", usd("1"), usd("0")), ["period"]),
    (c.ReportRoyalty(None, UNKNOWN, "1969-12", usd("1"), usd("0")), ["period"]),
    (c.CloseRoyaltyQuarter(None, UNKNOWN, "2027-Q3"), ["quarter"]),
    (c.SignRoyaltyAgreement(None, UNKNOWN, UNKNOWN, "USD", SCHEDULE, None,
                            (NOW + timedelta(days=367)).date()), ["starts_on"]),
    (c.SignRoyaltyAgreement(None, UNKNOWN, UNKNOWN, "USD", SCHEDULE, None, date(1969, 12, 31)),
     ["starts_on"]),
]


@pytest.mark.parametrize(("command", "fields"), CASES,
                         ids=[f"{type(case[0]).__name__}-{'+'.join(case[1])}" for case in CASES])
def test_a_business_time_out_of_bounds_is_refused_before_anything_is_loaded(
    world: World, command: c.Command, fields: list[str]
) -> None:
    refused = world.refuse(command, InvalidInput)
    assert list(refused.errors) == fields


def test_a_time_within_the_bounds_reaches_the_rules(world: World) -> None:
    pid = world.partner()
    world.run(c.SuspendPartner(NOW + timedelta(minutes=5), pid, "review"))
    world.run(c.RevisePlan(NOW + timedelta(days=366), world.plan_id, {"hold_days": 1}))
