"""Business time is bounded in the domain, so every entry point (HTTP, Kafka) refuses the same."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import commands as c
from domain.business_time import check_command
from domain.errors import InvalidInput
from domain.money import Money
from domain.payouts import Payout
from tests.factories import terms
from tests.unit.memory import MemoryUnitOfWork
from tests.unit.test_earning import PLAN, T0, ledger, partner, referred_customer, usd

__all__ = ["ledger"]

NOW = T0 + timedelta(days=200)
ID = uuid.UUID(int=7)
FAR_EAST_YEAR_ONE = datetime.fromisoformat("0001-01-01T00:00:00+14:00")
FAR_WEST_9999 = datetime.fromisoformat("9999-12-31T23:59:59-12:00")
UTC_9999 = datetime.fromisoformat("9999-12-31T23:59:59+00:00")

EVERY_COMMAND: list[c.Command] = [
    c.CreatePlan(None, ID, terms()),
    c.RevisePlan(None, ID, {"hold_days": 1}),
    c.ApplyPartner(None, ID, "P", "p@p.example", "P", "referral", "GB"),
    c.ApprovePartner(None, ID, ID),
    c.RejectPartner(None, ID),
    c.SuspendPartner(None, ID),
    c.ReactivatePartner(None, ID),
    c.TerminatePartner(None, ID),
    c.RegisterDeal(None, ID, ID, "C", "c.example", Money.parse("1", "USD")),
    c.ApproveDeal(None, ID),
    c.RejectDeal(None, ID),
    c.CloseDealWon(None, ID, Money.parse("1", "USD"), True),
    c.CloseDealLost(None, ID),
    c.ExpireDeal(None, ID),
    c.RecordReferral(None, ID, ID, "l@l.example", "L"),
    c.ConvertReferral(None, ID, "cust"),
    c.RecordPayment(None, "in_1", "cust", Money.parse("1", "USD")),
    c.IssueRefund(None, "re_1", "in_1", Money.parse("1", "USD")),
    c.RedeemPoints(None, ID, ID, 1, "r"),
    c.RunPayouts(None, ID, None, ()),
    c.ConfirmPayout(None, ID, "ref"),
    c.FailPayout(None, ID, "why"),
    c.SignRoyaltyAgreement(None, ID, ID, "USD", ((None, Money.parse("1", "USD").amount),),
                           None, date(2026, 1, 1)),
    c.ReportRoyalty(None, ID, "2026-01", Money.parse("1", "USD"), Money.parse("0", "USD")),
    c.CloseRoyaltyQuarter(None, ID, "2026-Q1"),
]


def _named(command: c.Command) -> str:
    return type(command).__name__


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=_named)
@pytest.mark.parametrize("moment", [
    FAR_EAST_YEAR_ONE, FAR_WEST_9999, UTC_9999,
    datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
    NOW + timedelta(minutes=5, microseconds=1) + timedelta(days=366),
], ids=["year-1+14", "9999-12", "9999Z", "1969", "past-every-lead"])
def test_every_command_refuses_a_business_time_out_of_bounds(
    command: c.Command, moment: datetime
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_command(command, moment, NOW)
    assert "occurred_at" in refused.value.errors


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=_named)
def test_every_command_accepts_the_bounds_themselves(command: c.Command) -> None:
    check_command(command, datetime(1970, 1, 1, tzinfo=UTC), NOW)
    check_command(command, NOW + timedelta(minutes=5), NOW)


def test_only_a_plan_revision_may_be_dated_ahead_by_at_most_366_days() -> None:
    revise = c.RevisePlan(None, ID, {"hold_days": 1})
    check_command(revise, NOW + timedelta(days=366), NOW)
    with pytest.raises(InvalidInput):
        check_command(revise, NOW + timedelta(days=366, seconds=1), NOW)
    with pytest.raises(InvalidInput):
        check_command(c.CreatePlan(None, ID, terms()), NOW + timedelta(minutes=6), NOW)


@pytest.mark.parametrize(("period", "ok"), [
    ("1970-01", True), ("1969-12", False), (f"{NOW:%Y-%m}", True),
    (f"{(NOW + timedelta(days=31)):%Y-%m}", False), ("9999-12", False)])
def test_a_royalty_period_may_not_lie_after_the_current_month(period: str, ok: bool) -> None:
    command = c.ReportRoyalty(None, ID, period, usd("1"), usd("0"))
    if ok:
        check_command(command, NOW, NOW)
    else:
        with pytest.raises(InvalidInput) as refused:
            check_command(command, NOW, NOW)
        assert "period" in refused.value.errors


@pytest.mark.parametrize(("quarter", "ok"), [
    ("2026-Q3", True), ("2026-Q4", False), ("9999-Q4", False), ("1969-Q4", False)])
def test_a_quarter_may_be_closed_once_it_has_begun(quarter: str, ok: bool) -> None:
    command = c.CloseRoyaltyQuarter(None, ID, quarter)  # NOW is in July 2026
    if ok:
        check_command(command, NOW, NOW)
    else:
        with pytest.raises(InvalidInput) as refused:
            check_command(command, NOW, NOW)
        assert "quarter" in refused.value.errors


def test_a_payout_runs_as_of_is_bounded_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_command(c.RunPayouts(None, ID, UTC_9999, ()), NOW, NOW)
    assert "as_of" in refused.value.errors


def test_a_refused_time_changes_nothing(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    before = len(ledger.events)
    with pytest.raises(InvalidInput):
        ledger.run(c.RegisterDeal(FAR_EAST_YEAR_ONE, uuid.uuid4(), pid, "C", "c.example",
                                  usd("1")), NOW)
    with pytest.raises(InvalidInput):
        ledger.run(c.RevisePlan(UTC_9999, PLAN, {"hold_days": 1}), NOW)
    assert len(ledger.events) == before
    ledger.run(c.RevisePlan(NOW + timedelta(days=30), PLAN, {"hold_days": 1}), NOW)
    ledger.run(c.RevisePlan(NOW + timedelta(days=40), PLAN, {"hold_days": 2}), NOW)


def test_a_payout_run_dated_ahead_pays_nothing_still_on_hold(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    # hold_days 30: the accrual becomes available two minutes after NOW
    paid_at = NOW - timedelta(days=30) + timedelta(minutes=2)
    referred_customer(ledger, pid, "cust-1", paid_at - timedelta(days=1))
    ledger.run(c.RecordPayment(paid_at, "in_1", "cust-1", usd("1000.00")), NOW)
    run = ledger.run(c.RunPayouts(NOW + timedelta(minutes=4), uuid.uuid4(), None, (pid,)), NOW)
    assert run.payouts == []
    assert run.as_of == NOW
    assert not [a for a in ledger.aggregates.values() if isinstance(a, Payout)]
    later = NOW + timedelta(minutes=3)
    run = ledger.run(c.RunPayouts(None, uuid.uuid4(), None, (pid,)), later)
    assert [p["amount"] for p in run.payouts] == [usd("200.00")]
