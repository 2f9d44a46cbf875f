"""Royalties: marginal brackets per agreement year, restatements, quarterly minimums."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.errors import CurrencyMismatch, InvalidInput, InvalidTransition
from domain.money import Money
from domain.royalties import Bracket, RoyaltyAgreement, royalty_on
from tests.factories import terms
from tests.unit.memory import MemoryUnitOfWork
from tests.unit.test_earning import PLAN, T0, ledger, partner, usd

__all__ = ["ledger"]

# Reports and closes are recorded once their months have begun.
RECORDED = T0.replace(year=T0.year + 2)
SCHEDULE = ((Decimal("100000"), Decimal("0.05")), (None, Decimal("0.08")))


def sign(ledger: MemoryUnitOfWork, pid: uuid.UUID, minimum: str | None = "2000.00") -> uuid.UUID:
    agreement = uuid.uuid4()
    ledger.run(c.SignRoyaltyAgreement(T0, agreement, pid, "USD", SCHEDULE,
                                      usd(minimum) if minimum else None, date(2026, 1, 1)), T0)
    return agreement


def report(ledger: MemoryUnitOfWork, agreement: uuid.UUID, period: str, gross: str,
           returns: str = "0") -> None:
    ledger.run(c.ReportRoyalty(T0, agreement, period, usd(gross), usd(returns)), RECORDED)


def amounts(ledger: MemoryUnitOfWork, kind: str, source_type: str) -> list[Money]:
    return [e.amount for e in ledger.of_type(kind) if e.source_type == source_type]


def test_brackets_restatements_and_quarter_top_ups(ledger: MemoryUnitOfWork) -> None:
    agreement = sign(ledger, partner(ledger))
    report(ledger, agreement, "2026-01", "60000.00")  # 60,000 x 5% = 3,000.00
    report(ledger, agreement, "2026-02", "70000.00", "10000.00")  # year 120,000: 6,600 total
    assert amounts(ledger, "Accrued", "royalty_report") == [usd("3000.00"), usd("3600.00")]
    report(ledger, agreement, "2026-01", "40000.00")  # year 100,000: 5,000, so -1,600
    assert amounts(ledger, "Reversed", "royalty_report") == [usd("1600.00")]
    report(ledger, agreement, "2026-01", "80000.00")  # year 140,000: 5,000 + 3,200 = 8,200
    assert amounts(ledger, "Accrued", "royalty_report")[-1] == usd("3200.00")
    ledger.run(c.CloseRoyaltyQuarter(T0, agreement, "2026-Q1"), RECORDED)  # 8,200 >= 2,000
    assert amounts(ledger, "Accrued", "royalty_quarter") == []
    report(ledger, agreement, "2026-04", "10000.00")  # year 150,000: +800 at 8%
    ledger.run(c.CloseRoyaltyQuarter(T0, agreement, "2026-Q2"), RECORDED)  # 800 < 2,000: +1,200
    assert amounts(ledger, "Accrued", "royalty_quarter") == [usd("1200.00")]
    before = len(ledger.events)
    ledger.run(c.CloseRoyaltyQuarter(T0, agreement, "2026-Q2"), RECORDED)  # closing twice: nothing
    assert len(ledger.events) == before
    report(ledger, agreement, "2026-04", "20000.00")  # +800: top-up shrinks to 400 (-800)
    assert amounts(ledger, "Reversed", "royalty_quarter") == [usd("800.00")]
    report(ledger, agreement, "2027-01", "50000.00")  # a new agreement year: 5% again
    assert amounts(ledger, "Accrued", "royalty_report")[-1] == usd("2500.00")
    stored = ledger.aggregates[agreement]
    assert isinstance(stored, RoyaltyAgreement)
    earned = sum((m.amount for m in amounts(ledger, "Accrued", "royalty_report")), Decimal(0))
    clawed = sum((m.amount for m in amounts(ledger, "Reversed", "royalty_report")), Decimal(0))
    # 2026: Jan 80,000 + Feb 60,000 + Apr 20,000 = 160,000: 5,000 + 60,000 x 8% = 9,800
    assert earned - clawed == Decimal("9800.00") + Decimal("2500.00")


@pytest.mark.parametrize(("schedule", "field"), [
    (((Decimal("100"), Decimal("0.1")), (Decimal("50"), Decimal("0.2")),
      (None, Decimal("0.3"))), "schedule.1.up_to"),
    (((None, Decimal("-0.1")),), "schedule.0.rate"),
    (((Decimal("100"), Decimal("0.1")),), "schedule.0.up_to"),
    (((None, Decimal("0.1")), (None, Decimal("0.2"))), "schedule.0.up_to"),
])
def test_bad_schedules_are_refused(
    ledger: MemoryUnitOfWork, schedule: tuple[tuple[Decimal | None, Decimal], ...], field: str
) -> None:
    pid = partner(ledger)
    with pytest.raises(InvalidInput) as error:
        ledger.run(c.SignRoyaltyAgreement(T0, uuid.uuid4(), pid, "USD", schedule, None,
                                          date(2026, 1, 1)), T0)
    assert field in error.value.errors


def test_periods_currencies_and_sales_are_checked(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    with pytest.raises(CurrencyMismatch):
        ledger.run(c.SignRoyaltyAgreement(T0, uuid.uuid4(), pid, "EUR", SCHEDULE, None,
                                          date(2026, 1, 1)), T0)
    agreement = sign(ledger, pid)
    for period in ("2025-12", "2026-13", "26-01", "2026-1"):
        with pytest.raises(InvalidInput):
            report(ledger, agreement, period, "1.00")
    with pytest.raises(InvalidInput):
        report(ledger, agreement, "2026-01", "1.00", "2.00")
    with pytest.raises(InvalidInput):
        ledger.run(c.ReportRoyalty(T0, agreement, "2026-01", Money.parse("1", "EUR"),
                                   usd("0")), T0)
    with pytest.raises(InvalidInput):
        ledger.run(c.CloseRoyaltyQuarter(T0, agreement, "2026-Q5"), RECORDED)
    ledger.run(c.SuspendPartner(T0, pid, None), T0)
    with pytest.raises(InvalidTransition):
        report(ledger, agreement, "2026-01", "1.00")


def test_the_schedule_is_marginal() -> None:
    schedule = [Bracket(Decimal("100"), Decimal("0.1")), Bracket(Decimal("300"), Decimal("0.2")),
                Bracket(None, Decimal("0.5"))]
    assert royalty_on(schedule, Decimal("50")) == Decimal("5.0")
    assert royalty_on(schedule, Decimal("300")) == Decimal("10") + Decimal("40")
    assert royalty_on(schedule, Decimal("400")) == Decimal("50") + Decimal("50")


reports = st.lists(
    st.tuples(st.sampled_from(["2026-01", "2026-02", "2026-03", "2026-07", "2026-12"]),
              st.integers(min_value=0, max_value=20_000_000),
              st.integers(min_value=0, max_value=100)),
    min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(history=reports)
def test_the_year_always_accrues_the_schedule_on_its_net_sales(
    history: list[tuple[str, int, int]],
) -> None:
    ledger = MemoryUnitOfWork()
    ledger.run(c.CreatePlan(T0, PLAN, terms()), T0)
    pid = partner(ledger)
    agreement = sign(ledger, pid, None)
    latest: dict[str, int] = {}
    for period, gross_cents, returns_percent in history:
        returns_cents = gross_cents * returns_percent // 100
        ledger.run(c.ReportRoyalty(T0 + timedelta(minutes=len(ledger.events)), agreement,
                                   period, Money(Decimal(gross_cents).scaleb(-2), "USD"),
                                   Money(Decimal(returns_cents).scaleb(-2), "USD")), RECORDED)
        latest[period] = gross_cents - returns_cents
    net = Decimal(sum(latest.values())).scaleb(-2)
    expected = Money.rounded(royalty_on([Bracket(u, r) for u, r in SCHEDULE], net), "USD")
    accrued = sum((m.amount for m in amounts(ledger, "Accrued", "royalty_report")), Decimal(0))
    reversed_ = sum((m.amount for m in amounts(ledger, "Reversed", "royalty_report")),
                    Decimal(0))
    assert accrued - reversed_ == expected.amount
    assert_no_accrual_over_reversed(ledger)


def assert_no_accrual_over_reversed(ledger: MemoryUnitOfWork) -> None:
    """Every reversal names an accrual, and none is reversed by more than it accrued."""
    accrued = {e.accrual_id: e.amount.amount for e in ledger.of_type("Accrued")}
    taken: dict[uuid.UUID, Decimal] = {}
    for reversal in ledger.of_type("Reversed"):
        taken[reversal.accrual_id] = taken.get(reversal.accrual_id, Decimal(0)) + \
            reversal.amount.amount
    assert all(taken[i] <= accrued[i] for i in taken)


def test_a_restatement_reverses_across_the_year_never_more_than_an_accrual(
    ledger: MemoryUnitOfWork,
) -> None:
    pid = partner(ledger)
    agreement = uuid.uuid4()
    steep = ((Decimal("1000"), Decimal("0.10")), (None, Decimal("0.50")))
    ledger.run(c.SignRoyaltyAgreement(T0, agreement, pid, "USD", steep, None,
                                      date(2026, 1, 1)), T0)
    report(ledger, agreement, "2026-01", "1000.00")  # 100.00
    report(ledger, agreement, "2026-02", "1000.00")  # 500.00 (above the first bracket)
    report(ledger, agreement, "2026-01", "0.00")  # year 1,000: 100.00 total, so -500.00
    assert amounts(ledger, "Reversed", "royalty_report") == [usd("100.00"), usd("400.00")]
    assert_no_accrual_over_reversed(ledger)
