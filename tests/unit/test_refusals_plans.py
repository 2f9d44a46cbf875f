"""Plan refusals on the fake: taken ids, revisions out of order, terms a revision would break."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from domain import commands as c
from domain.errors import Duplicate, InvalidInput, NotFound
from domain.tiers import BASE_TIER, Tier
from tests.factories import terms
from tests.unit.world import T0, World, day, eur, usd


def test_a_plan_cannot_take_an_id_anything_else_holds(world: World) -> None:
    for taken in (world.plan_id, world.partner()):
        refused = world.refuse(c.CreatePlan(T0, taken, terms()), Duplicate)
        assert refused.extra == {"existing_id": str(taken)}


def test_revising_an_unknown_plan_is_not_found(world: World) -> None:
    world.refuse(c.RevisePlan(T0, uuid.uuid4(), {"hold_days": 1}), NotFound)
    world.refuse(c.RevisePlan(T0, world.partner(), {"hold_days": 1}), NotFound)


def test_a_revision_cannot_take_effect_before_the_newest_version(world: World) -> None:
    world.run(c.RevisePlan(day(10), world.plan_id, {"hold_days": 14}))
    refused = world.refuse(c.RevisePlan(day(9), world.plan_id, {"hold_days": 7}), InvalidInput)
    assert list(refused.errors) == ["occurred_at"]


def test_a_revision_cannot_change_the_currency(world: World) -> None:
    refused = world.refuse(c.RevisePlan(day(1), world.plan_id, {"currency": "EUR"}),
                           InvalidInput)
    assert list(refused.errors) == ["currency"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"hold_days": 3651}, "hold_days"),
    ({"referral_months": 601}, "referral_months"),
    ({"attribution_days": -1}, "attribution_days"),
    ({"deal_protection_days": 3651}, "deal_protection_days"),
    ({"points_per_conversion": 1_000_001}, "points_per_conversion"),
    ({"min_payout": eur("50.00")}, "min_payout"),
    ({"tiers": (Tier("silver", usd("100"), Decimal("0.1")),
                Tier("gold", usd("50"), Decimal("0.2")))}, "tiers"),
    ({"tiers": (Tier(BASE_TIER, usd("100"), Decimal("0.1")),)}, "tiers"),
    ({"tiers": (Tier("gold", eur("100"), Decimal("0.1")),)}, "tiers"),
    ({"tiers": tuple(Tier(f"t{n}", usd(str(n + 1)), Decimal("0.01")) for n in range(21))},
     "tiers"),
])
def test_a_revision_must_leave_valid_terms(
    world: World, changes: dict[str, Any], field: str
) -> None:
    refused = world.refuse(c.RevisePlan(day(1), world.plan_id, changes), InvalidInput)
    assert field in refused.errors
