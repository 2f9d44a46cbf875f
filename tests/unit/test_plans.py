"""Plans: terms are validated, revisions add versions effective from their occurred_at."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.money import Money
from domain.plans import Plan
from domain.tiers import BASE_TIER, Tier
from tests.factories import terms

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_new_plan_has_version_one_in_effect_from_its_occurred_at() -> None:
    plan = Plan(id=uuid.uuid4(), terms=terms(), occurred_at=JAN)
    assert plan.current.number == 1
    assert plan.version_at(JAN).number == 1


def test_revisions_apply_from_their_occurred_at_on() -> None:
    plan = Plan(id=uuid.uuid4(), terms=terms(), occurred_at=JAN)
    plan.revise({"deal_rate": Decimal("0.20")}, JAN + timedelta(days=31))
    plan.revise({"hold_days": 14}, JAN + timedelta(days=59))
    assert plan.version_at(JAN + timedelta(days=30)).terms.deal_rate == Decimal("0.15")
    feb = plan.version_at(JAN + timedelta(days=31))
    assert (feb.number, feb.terms.deal_rate, feb.terms.hold_days) == (2, Decimal("0.20"), 30)
    mar = plan.version_at(JAN + timedelta(days=90))
    assert (mar.number, mar.terms.deal_rate, mar.terms.hold_days) == (3, Decimal("0.20"), 14)


def test_events_before_the_plan_began_use_its_first_version() -> None:
    plan = Plan(id=uuid.uuid4(), terms=terms(), occurred_at=JAN)
    assert plan.version_at(JAN - timedelta(days=400)).number == 1


def test_a_revision_cannot_take_effect_before_the_newest_version() -> None:
    plan = Plan(id=uuid.uuid4(), terms=terms(), occurred_at=JAN)
    plan.revise({"deal_rate": Decimal("0.2")}, JAN + timedelta(days=10))
    with pytest.raises(InvalidInput) as error:
        plan.revise({"deal_rate": Decimal("0.3")}, JAN + timedelta(days=5))
    assert "occurred_at" in error.value.errors
    assert len(plan.versions) == 2
    assert plan.pending_events[-1].originator_version == 2


def test_the_currency_cannot_be_revised() -> None:
    plan = Plan(id=uuid.uuid4(), terms=terms(), occurred_at=JAN)
    with pytest.raises(InvalidInput):
        plan.revise({"currency": "EUR"}, JAN + timedelta(days=1))
    assert len(plan.pending_events) == 1


def test_tiers_must_ascend_be_unique_and_share_the_currency() -> None:
    silver = Tier("silver", Money.parse("10000", "USD"), Decimal("0.02"))
    with pytest.raises(InvalidInput) as error:
        terms(tiers=(silver, Tier("gold", Money.parse("5000", "USD"), Decimal("0.05"))))
    assert error.value.errors["tiers"] == ["Tier thresholds must be strictly ascending."]
    with pytest.raises(InvalidInput):
        terms(tiers=(silver, silver))
    with pytest.raises(InvalidInput):
        terms(tiers=(Tier("x", Money.parse("1", "EUR"), Decimal("0.1")),))
    with pytest.raises(InvalidInput):
        terms(tiers=(Tier(BASE_TIER, Money.parse("1", "USD"), Decimal("0.1")),))


def test_min_payout_must_be_in_the_plan_currency() -> None:
    with pytest.raises(InvalidInput) as error:
        terms(min_payout=Money.parse("50", "EUR"))
    assert "min_payout" in error.value.errors


def test_the_base_tier_earns_no_bonus() -> None:
    assert terms().tier(BASE_TIER).bonus_rate == Decimal(0)
    assert terms().tier("gold").bonus_rate == Decimal("0.05")


@pytest.mark.parametrize(("field", "value"), [
    ("points_per_conversion", 10**30), ("points_per_conversion", 1_000_001),
    ("hold_days", 3651), ("referral_months", 601), ("attribution_days", -1)])
def test_whole_number_terms_are_bounded_so_derived_dates_and_counts_fit(
    field: str, value: int
) -> None:
    with pytest.raises(InvalidInput) as refused:
        terms(**{field: value})
    assert field in refused.value.errors


def test_a_plan_has_at_most_twenty_tiers() -> None:
    many = tuple(Tier(f"t{n}", Money.parse(str(n + 1), "USD"), Decimal("0.01"))
                 for n in range(21))
    with pytest.raises(InvalidInput) as refused:
        terms(tiers=many)
    assert "tiers" in refused.value.errors
