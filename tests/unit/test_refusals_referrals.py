"""Referral refusals on the fake: who may refer, first touch, conversions out of their window."""

from __future__ import annotations

import uuid

import pytest

from domain import commands as c
from domain.errors import Duplicate, InvalidTransition, NotFound
from domain.referrals import AttributionExpired
from tests.unit.world import World, day


def referral(partner_id: uuid.UUID, lead: str = "cto@lead.example",
             referral_id: uuid.UUID | None = None) -> c.RecordReferral:
    return c.RecordReferral(day(3), referral_id or uuid.uuid4(), partner_id, lead, "Lead Ltd")


def test_a_referral_cannot_take_an_id_anything_else_holds(world: World) -> None:
    pid = world.partner()
    for taken in (world.referral(pid), pid, world.plan_id):
        refused = world.refuse(referral(pid, referral_id=taken), Duplicate)
        assert refused.extra == {"existing_id": str(taken)}


def test_an_unknown_partner_cannot_refer(world: World) -> None:
    world.refuse(referral(uuid.uuid4()), NotFound)


@pytest.mark.parametrize("status", ["applied", "rejected", "suspended", "terminated"])
def test_only_an_active_partner_records_referrals(world: World, status: str) -> None:
    refused = world.refuse(referral(world.partner(status)), InvalidTransition)
    assert refused.extra == {"current_status": status}


def test_a_lead_held_by_an_open_referral_is_refused_first_touch_wins(world: World) -> None:
    holder, other = world.partner(), world.partner()
    held = world.referral(holder, "cto@lead.example")
    refused = world.refuse(referral(other, " CTO@Lead.Example"), Duplicate)
    assert refused.extra == {"existing_referral_id": str(held)}
    assert refused.owner_id == holder
    # another partner is not told which referral holds the lead
    detail, extra = refused.told_to_partner(other)
    assert str(held) not in detail
    assert extra == {}
    assert refused.told_to_partner(holder) == (refused.detail, refused.extra)
    again = world.refuse(referral(holder, "cto@lead.example"), Duplicate)
    assert again.told_to_partner(holder) == (again.detail, {"existing_referral_id": str(held)})


def test_a_converted_lead_stays_held_after_its_window(world: World) -> None:
    holder = world.partner()
    held = world.referral(holder, "cto@lead.example")
    world.run(c.ConvertReferral(day(2), held, "cust-1"))
    late = c.RecordReferral(day(200), uuid.uuid4(), world.partner(), "cto@lead.example", "L")
    refused = world.refuse(late, Duplicate)
    assert refused.extra == {"existing_referral_id": str(held)}


def test_a_conversion_after_the_attribution_window_is_refused(world: World) -> None:
    held = world.referral(world.partner(), when=day(1))
    refused = world.refuse(c.ConvertReferral(day(91.01), held, "cust-1"), AttributionExpired)
    assert refused.extra == {"attribution_expires_at": day(91).isoformat()}


def test_a_converted_referral_does_not_convert_again(world: World) -> None:
    referral_id = world.customer(world.partner(), "cust-1")
    refused = world.refuse(c.ConvertReferral(day(3), referral_id, "cust-2"), InvalidTransition)
    assert refused.extra == {"current_status": "converted"}


def test_a_self_referral_does_not_convert(world: World) -> None:
    pid = world.partner(email="ops@northwind.example")
    own = world.referral(pid, "boss@Northwind.example")
    assert world.of(own).reason == "self_referral"
    refused = world.refuse(c.ConvertReferral(day(3), own, "cust-1"), InvalidTransition)
    assert refused.extra == {"current_status": "rejected"}


def test_a_customer_is_attributed_to_one_referral_only(world: World) -> None:
    first = world.customer(world.partner(), "cust-1")
    second = world.referral(world.partner())
    refused = world.refuse(c.ConvertReferral(day(3), second, "cust-1"), Duplicate)
    assert refused.extra == {"existing_referral_id": str(first)}


def test_converting_an_unknown_referral_is_not_found(world: World) -> None:
    world.refuse(c.ConvertReferral(day(3), uuid.uuid4(), "cust-1"), NotFound)
    world.refuse(c.ConvertReferral(day(3), world.partner(), "cust-1"), NotFound)
