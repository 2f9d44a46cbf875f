"""The earning rules, pinned with hand-computed figures (in memory)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain import commands as c
from domain.accounts import InsufficientPoints, PartnerAccount
from domain.billing import Payment, RefundExceedsPayment
from domain.deals import DealConflict
from domain.errors import CurrencyMismatch, Duplicate, InvalidInput, InvalidTransition
from domain.money import Money
from domain.partners import Partner
from domain.referrals import AttributionExpired
from tests.factories import terms
from tests.unit.memory import MemoryUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = uuid.UUID(int=1)


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


@pytest.fixture
def ledger() -> MemoryUnitOfWork:
    ledger = MemoryUnitOfWork()
    ledger.run(c.CreatePlan(T0, PLAN, terms(
        tiers=(terms().tiers[0].__class__("silver", usd("10000"), Decimal("0.02")),
               terms().tiers[0].__class__("gold", usd("50000"), Decimal("0.05"))),
    )), T0)
    return ledger


def partner(ledger: MemoryUnitOfWork, email: str = "ops@partner.example") -> uuid.UUID:
    pid = uuid.uuid4()
    ledger.run(c.ApplyPartner(T0, pid, "P", email, "P Ltd", "referral", "GB"), T0)
    ledger.run(c.ApprovePartner(T0, pid, PLAN), T0)
    return pid


def won_deal(ledger: MemoryUnitOfWork, pid: uuid.UUID, amount: str, when: datetime,
             domain: str | None = None, new_customer: bool = True) -> uuid.UUID:
    deal = uuid.uuid4()
    ledger.run(c.RegisterDeal(when, deal, pid, "Customer", domain or f"{deal.hex}.example",
                              usd("1000")), when)
    ledger.run(c.ApproveDeal(when, deal), when)
    ledger.run(c.CloseDealWon(when, deal, usd(amount), new_customer), when)
    return deal


def account(ledger: MemoryUnitOfWork, pid: uuid.UUID) -> PartnerAccount:
    found = ledger.aggregates[PartnerAccount.id_for(pid)]
    assert isinstance(found, PartnerAccount)
    return found


def test_a_won_deal_earns_amount_times_the_deal_rate_rounded_half_even(
    ledger: MemoryUnitOfWork,
) -> None:
    pid = partner(ledger)
    won_deal(ledger, pid, "100.30", day(1))
    [accrual] = ledger.of_type("Accrued")
    assert accrual.amount == usd("15.04")  # 100.30 x 0.15 = 15.045 -> 15.04
    assert (accrual.rate, accrual.base_rate, accrual.tier_bonus) == \
        (Decimal("0.15"), Decimal("0.15"), Decimal("0"))
    assert (accrual.source_type, accrual.plan_version, accrual.tier) == ("deal", 1, "registered")
    assert accrual.partner_id == pid
    assert accrual.occurred_at == day(1)


def test_the_promoting_deal_is_paid_at_the_old_tier_and_the_next_at_the_new(
    ledger: MemoryUnitOfWork,
) -> None:
    pid = partner(ledger)
    won_deal(ledger, pid, "12000.00", day(1))
    first = ledger.of_type("Accrued")[0]
    assert first.amount == usd("1800.00")  # 12,000 x 0.15, base tier
    [promotion] = ledger.of_type("TierPromoted")
    assert (promotion.from_tier, promotion.to_tier) == ("registered", "silver")
    assert promotion.trailing_revenue == usd("12000.00")
    won_deal(ledger, pid, "1000.00", day(2))
    second = ledger.of_type("Accrued")[1]
    assert second.amount == usd("170.00")  # 1,000 x (0.15 + 0.02)
    assert second.tier == "silver"
    # 40,000 more makes 53,000: gold. The deal earns 40,000 x 0.17 = 6,800.00 at silver first
    won_deal(ledger, pid, "40000.00", day(3))
    assert ledger.of_type("Accrued")[2].amount == usd("6800.00")
    assert [p.to_tier for p in ledger.of_type("TierPromoted")] == ["silver", "gold"]
    assert ledger.aggregates[pid].tier == "gold"  # type: ignore[attr-defined]


def test_tiers_count_only_the_trailing_365_days_and_never_demote(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    won_deal(ledger, pid, "6000.00", day(0))
    won_deal(ledger, pid, "6000.00", day(366))  # the first is out of the window: 6,000
    assert ledger.of_type("TierPromoted") == []
    won_deal(ledger, pid, "4000.00", day(367))  # 10,000 within 365 days
    assert [p.to_tier for p in ledger.of_type("TierPromoted")] == ["silver"]
    won_deal(ledger, pid, "1.00", day(900))  # revenue fell away; no demotion
    assert ledger.aggregates[pid].tier == "silver"  # type: ignore[attr-defined]


def test_a_plan_revision_applies_to_events_from_its_occurred_at(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    ledger.run(c.RevisePlan(day(10), PLAN, {"deal_rate": Decimal("0.10")}), day(10))
    won_deal(ledger, pid, "1000.00", day(9))
    won_deal(ledger, pid, "1000.00", day(10))
    before, after = ledger.of_type("Accrued")
    assert (before.amount, before.plan_version) == (usd("150.00"), 1)
    assert (after.amount, after.plan_version, after.rate) == (usd("100.00"), 2, Decimal("0.10"))


def referred_customer(ledger: MemoryUnitOfWork, pid: uuid.UUID, customer: str,
                      when: datetime) -> uuid.UUID:
    referral = uuid.uuid4()
    ledger.run(c.RecordReferral(when, referral, pid, f"{customer}@lead.example", "Lead"), when)
    ledger.run(c.ConvertReferral(when, referral, customer), when)
    return referral


def test_recurring_commission_runs_for_referral_months_calendar_months(
    ledger: MemoryUnitOfWork,
) -> None:
    pid = partner(ledger)
    converted = datetime(2026, 1, 31, 12, tzinfo=UTC)
    referred_customer(ledger, pid, "cust-1", converted)
    # 12 calendar months from 31 Jan 12:00 end on 31 Jan 2027 12:00
    inside = datetime(2027, 1, 31, 11, 59, tzinfo=UTC)
    outside = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    ledger.run(c.RecordPayment(inside, "in_1", "cust-1", usd("99.99")), inside)
    ledger.run(c.RecordPayment(outside, "in_2", "cust-1", usd("99.99")), outside)
    [accrual] = ledger.of_type("Accrued")
    assert accrual.amount == usd("20.00")  # 99.99 x 0.20 = 19.998 -> 20.00
    late = ledger.aggregates[Payment.id_for("in_2")]
    assert late.commission is None  # type: ignore[attr-defined]
    assert late.no_commission_reason == "outside_commission_window"  # type: ignore[attr-defined]


def test_payments_of_other_customers_are_recorded_and_earn_nothing(
    ledger: MemoryUnitOfWork,
) -> None:
    partner(ledger)
    ledger.run(c.RecordPayment(day(1), "in_9", "cust-unknown", usd("10.00")), day(1))
    assert ledger.of_type("Received")[0].no_commission_reason == "not_referred"
    assert ledger.of_type("Accrued") == []


def test_refunds_claw_back_pro_rata_and_the_last_exactly_the_rest(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    referred_customer(ledger, pid, "cust-1", day(1))
    ledger.run(c.RecordPayment(day(2), "in_1", "cust-1", usd("100.00")), day(2))
    assert ledger.of_type("Accrued")[0].amount == usd("20.00")
    for n, amount in enumerate(("33.33", "33.33", "33.34")):
        ledger.run(c.IssueRefund(day(3), f"re_{n}", "in_1", usd(amount)), day(3))
    amounts = [r.amount for r in ledger.of_type("Reversed")]
    # 20 x 33.33 / 100 = 6.666 -> 6.67, twice; the last takes exactly what is left
    assert amounts == [usd("6.67"), usd("6.67"), usd("6.66")]
    assert sum((a.amount for a in amounts), Decimal(0)) == Decimal("20.00")
    assert account(ledger, pid).reversed == account(ledger, pid).earned
    assert ledger.of_type("Reversed")[0].accrual_id == ledger.of_type("Accrued")[0].accrual_id


def test_rounded_partial_clawbacks_are_capped_at_what_is_left(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    ledger.run(c.RevisePlan(day(0), PLAN, {"referral_rate": Decimal("0.05")}), day(0))
    referred_customer(ledger, pid, "cust-1", day(1))
    ledger.run(c.RecordPayment(day(2), "in_1", "cust-1", usd("1.00")), day(2))  # earns 0.05
    for n in range(3):  # 0.05 x 0.30 = 0.015 -> 0.02 each; the third is capped at 0.01
        ledger.run(c.IssueRefund(day(3), f"re_{n}", "in_1", usd("0.30")), day(3))
    assert [r.amount for r in ledger.of_type("Reversed")] == [usd("0.02"), usd("0.02"),
                                                               usd("0.01")]
    ledger.run(c.IssueRefund(day(4), "re_last", "in_1", usd("0.10")), day(4))
    assert len(ledger.of_type("Reversed")) == 3  # nothing was left to claw back


def test_refund_rules_refuse_and_write_nothing(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    referred_customer(ledger, pid, "cust-1", day(1))
    ledger.run(c.RecordPayment(day(2), "in_1", "cust-1", usd("50.00")), day(2))
    before = len(ledger.events)
    with pytest.raises(RefundExceedsPayment):
        ledger.run(c.IssueRefund(day(3), "re_1", "in_1", usd("50.01")), day(3))
    with pytest.raises(CurrencyMismatch):
        ledger.run(c.IssueRefund(day(3), "re_1", "in_1", Money.parse("5", "EUR")), day(3))
    ledger.run(c.IssueRefund(day(3), "re_1", "in_1", usd("20.00")), day(3))
    ledger.run(c.IssueRefund(day(3), "re_1", "in_1", usd("20.00")), day(3))  # same: no change
    with pytest.raises(Duplicate):
        ledger.run(c.IssueRefund(day(3), "re_1", "in_1", usd("21.00")), day(3))
    with pytest.raises(RefundExceedsPayment):
        ledger.run(c.IssueRefund(day(3), "re_2", "in_1", usd("30.01")), day(3))
    assert len(ledger.events) == before + 4  # refund, payment refunded, reversal, revenue


def test_billing_ids_repeat_with_the_same_payload_only(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    referred_customer(ledger, pid, "cust-1", day(1))
    ledger.run(c.RecordPayment(day(2), "in_1", "cust-1", usd("10.00")), day(2))
    before = len(ledger.events)
    ledger.run(c.RecordPayment(None, "in_1", "cust-1", usd("10.00")), day(5))
    assert len(ledger.events) == before
    with pytest.raises(Duplicate):
        ledger.run(c.RecordPayment(None, "in_1", "cust-1", usd("10.01")), day(5))


def test_money_in_another_currency_is_refused(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    referred_customer(ledger, pid, "cust-1", day(1))
    with pytest.raises(CurrencyMismatch):
        ledger.run(c.RecordPayment(day(2), "in_1", "cust-1", Money.parse("10", "EUR")), day(2))
    with pytest.raises(CurrencyMismatch):
        ledger.run(c.RegisterDeal(day(2), uuid.uuid4(), pid, "C", "c.example",
                                  Money.parse("10", "EUR")), day(2))


def test_suspended_partners_earn_nothing_and_cannot_register(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    referred_customer(ledger, pid, "cust-1", day(1))
    ledger.run(c.SuspendPartner(day(2), pid, "review"), day(2))
    ledger.run(c.RecordPayment(day(3), "in_1", "cust-1", usd("100.00")), day(3))
    payment = ledger.aggregates[Payment.id_for("in_1")]
    assert payment.no_commission_reason == "partner_suspended"  # type: ignore[attr-defined]
    assert ledger.of_type("Accrued") == []
    for command in (c.RegisterDeal(day(3), uuid.uuid4(), pid, "C", "c.example", usd("1")),
                    c.RecordReferral(day(3), uuid.uuid4(), pid, "x@y.example", "Y")):
        with pytest.raises(InvalidTransition):
            ledger.run(command, day(3))
    ledger.run(c.ReactivatePartner(day(4), pid), day(4))
    ledger.run(c.RecordPayment(day(5), "in_2", "cust-1", usd("100.00")), day(5))
    assert ledger.of_type("Accrued")[0].amount == usd("20.00")


def test_deal_domains_are_normalised_and_first_come_first_protected(
    ledger: MemoryUnitOfWork,
) -> None:
    first, second = partner(ledger), partner(ledger, "ops@second.example")
    deal = uuid.uuid4()
    ledger.run(c.RegisterDeal(day(1), deal, first, "Acme", "WWW.Acme.Example.", usd("5")),
               day(1))
    assert ledger.aggregates[deal].customer_domain == "acme.example"  # type: ignore[attr-defined]
    with pytest.raises(DealConflict) as refused:
        ledger.run(c.RegisterDeal(day(2), uuid.uuid4(), second, "Acme", "acme.example",
                                  usd("5")), day(2))
    assert refused.value.extra["conflicting_deal_id"] == str(deal)
    [audit] = ledger.of_type("ConflictRecorded")
    assert (audit.partner_id, audit.holding_deal_id) == (second, deal)
    # past the 90-day window the domain is free again
    later = uuid.uuid4()
    ledger.run(c.RegisterDeal(day(92), later, second, "Acme", "acme.example", usd("5")), day(92))
    assert ledger.aggregates[deal].status_at(day(92)) == "expired"  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        ledger.run(c.RegisterDeal(day(92), uuid.uuid4(), second, "X", "not a domain",
                                  usd("5")), day(92))


def test_closing_frees_the_domain_and_won_needs_an_approved_open_deal(
    ledger: MemoryUnitOfWork,
) -> None:
    first, second = partner(ledger), partner(ledger, "ops@second.example")
    deal = uuid.uuid4()
    ledger.run(c.RegisterDeal(day(1), deal, first, "Acme", "acme.example", usd("5")), day(1))
    with pytest.raises(InvalidTransition):
        ledger.run(c.CloseDealWon(day(2), deal, usd("10"), True), day(2))  # not approved
    ledger.run(c.CloseDealLost(day(2), deal, "budget"), day(2))
    ledger.run(c.RegisterDeal(day(3), uuid.uuid4(), second, "Acme", "acme.example", usd("5")),
               day(3))
    expired = uuid.uuid4()
    ledger.run(c.RegisterDeal(day(3), expired, first, "B", "b.example", usd("5")), day(3))
    ledger.run(c.ApproveDeal(day(3), expired), day(3))
    with pytest.raises(InvalidTransition):
        ledger.run(c.CloseDealWon(day(100), expired, usd("10"), True), day(100))
    ledger.run(c.ExpireDeal(None, expired), day(100))
    assert ledger.of_type("Expired")[0].occurred_at == day(93)


def test_referrals_self_referral_first_touch_window_and_points(ledger: MemoryUnitOfWork) -> None:
    pid, other = partner(ledger), partner(ledger, "ops@other.example")
    own = uuid.uuid4()
    ledger.run(c.RecordReferral(day(1), own, pid, "boss@PARTNER.example", "Me"), day(1))
    assert ledger.aggregates[own].status == "rejected"  # type: ignore[attr-defined]
    assert ledger.aggregates[own].reason == "self_referral"  # type: ignore[attr-defined]
    lead = uuid.uuid4()
    ledger.run(c.RecordReferral(day(1), lead, pid, "cto@lead.example", "Lead"), day(1))
    with pytest.raises(Duplicate):
        ledger.run(c.RecordReferral(day(2), uuid.uuid4(), other, "CTO@lead.example", "L"),
                   day(2))
    with pytest.raises(AttributionExpired):
        ledger.run(c.ConvertReferral(day(92), lead, "cust-1"), day(92))
    # the window is over, so another partner may now take the lead
    ledger.run(c.RecordReferral(day(92), uuid.uuid4(), other, "cto@lead.example", "L"), day(92))
    fresh = uuid.uuid4()
    ledger.run(c.RecordReferral(day(1), fresh, pid, "ceo@new.example", "New"), day(1))
    ledger.run(c.ConvertReferral(day(5), fresh, "cust-2"), day(5))
    assert account(ledger, pid).points == 100
    with pytest.raises(Duplicate):  # one customer, one attribution
        spare = uuid.uuid4()
        ledger.run(c.RecordReferral(day(5), spare, pid, "cfo@new2.example", "N"), day(5))
        ledger.run(c.ConvertReferral(day(6), spare, "cust-2"), day(6))


def test_points_are_spent_but_never_below_zero(ledger: MemoryUnitOfWork) -> None:
    pid = partner(ledger)
    referral = uuid.uuid4()
    ledger.run(c.RecordReferral(day(1), referral, pid, "a@lead.example", "L"), day(1))
    ledger.run(c.ConvertReferral(day(1), referral, "cust-1"), day(1))
    ledger.run(c.RedeemPoints(day(2), uuid.uuid4(), pid, 60, "gift card"), day(2))
    with pytest.raises(InsufficientPoints):
        ledger.run(c.RedeemPoints(day(2), uuid.uuid4(), pid, 41, "gift card"), day(2))
    assert account(ledger, pid).points == 40
    ledger.run(c.RedeemPoints(day(2), uuid.uuid4(), pid, 40, "mug"), day(2))
    assert account(ledger, pid).points == 0


def test_partner_directory_tier_starts_at_the_base() -> None:
    assert Partner(id=uuid.uuid4(), name="x", email="x@y.example", company="x", type="agency",
                   country="DE", occurred_at=T0).tier == "registered"
