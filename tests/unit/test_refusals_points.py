"""Points refusals on the fake: never below zero, one redemption per id, not after termination."""

from __future__ import annotations

import uuid

import pytest

from domain import commands as c
from domain.accounts import InsufficientPoints, PartnerAccount
from domain.errors import Duplicate, InvalidTransition, NotFound
from tests.unit.world import World, day


def redemption(partner_id: uuid.UUID, points: int,
               redemption_id: uuid.UUID | None = None) -> c.RedeemPoints:
    return c.RedeemPoints(day(3), redemption_id or uuid.uuid4(), partner_id, points, "mug")


def test_a_partner_without_points_redeems_nothing_and_no_account_is_opened(
    world: World,
) -> None:
    pid = world.partner()
    refused = world.refuse(redemption(pid, 1), InsufficientPoints)
    assert refused.extra == {"points_balance": 0}
    assert PartnerAccount.id_for(pid) not in world.fake.aggregates


def test_a_redemption_cannot_take_more_points_than_held(world: World) -> None:
    pid = world.partner()
    world.customer(pid, "cust-1")  # 100 points
    world.run(redemption(pid, 30))
    refused = world.refuse(redemption(pid, 71), InsufficientPoints)
    assert refused.extra == {"points_balance": 70}


def test_a_redemption_id_is_spent_once(world: World) -> None:
    pid = world.partner()
    world.customer(pid, "cust-1")
    spent = uuid.uuid4()
    world.run(redemption(pid, 10, spent))
    refused = world.refuse(redemption(pid, 10, spent), Duplicate)
    assert refused.extra == {"existing_id": str(spent)}


def test_a_terminated_partner_cannot_redeem(world: World) -> None:
    pid = world.partner()
    world.customer(pid, "cust-1")
    world.run(c.TerminatePartner(day(3), pid, "ended"))
    refused = world.refuse(redemption(pid, 1), InvalidTransition)
    assert refused.extra == {"current_status": "terminated"}


@pytest.mark.parametrize("status", ["applied", "rejected"])
def test_a_partner_never_approved_onto_a_plan_cannot_redeem(world: World, status: str) -> None:
    refused = world.refuse(redemption(world.partner(status), 1), InvalidTransition)
    assert refused.extra == {"current_status": status}


def test_an_unknown_partner_cannot_redeem(world: World) -> None:
    world.refuse(redemption(uuid.uuid4(), 1), NotFound)
    world.refuse(redemption(world.plan_id, 1), NotFound)
