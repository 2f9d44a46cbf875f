"""Deal refusals on the fake: who may register, protected domains, steps a status does not allow."""

from __future__ import annotations

import copy
import uuid

import pytest

from domain import commands as c
from domain.deals import DealConflict, DomainRegistration
from domain.errors import CurrencyMismatch, Duplicate, InvalidInput, InvalidTransition, NotFound
from tests.unit.world import DEAL_PATHS, World, day, deal_command, eur, usd

STEPS = ("approve", "reject", "close_won", "close_lost", "expire")
# statuses each step may start from; "lapsed" is an open deal past its protection window
ALLOWED = {
    "approve": {"registered"},
    "reject": {"registered", "approved"},
    "close_won": {"approved"},
    "close_lost": {"registered", "approved"},
    "expire": {"lapsed"},
}
REFUSED_STEPS = [(status, step) for status in DEAL_PATHS for step in STEPS
                 if status not in ALLOWED[step]]


def registration(partner_id: uuid.UUID, domain: str = "acme.example",
                 deal_id: uuid.UUID | None = None) -> c.RegisterDeal:
    return c.RegisterDeal(day(3), deal_id or uuid.uuid4(), partner_id, "Acme", domain,
                          usd("100.00"))


def test_a_deal_cannot_take_an_id_anything_else_holds(world: World) -> None:
    pid = world.partner()
    for taken in (world.deal(pid), pid, world.plan_id):
        refused = world.refuse(registration(pid, deal_id=taken), Duplicate)
        assert refused.extra == {"existing_id": str(taken)}


def test_an_unknown_partner_cannot_register(world: World) -> None:
    world.refuse(registration(uuid.uuid4()), NotFound)
    world.refuse(registration(world.plan_id), NotFound)


@pytest.mark.parametrize("status", ["applied", "rejected", "suspended", "terminated"])
def test_only_an_active_partner_registers_deals(world: World, status: str) -> None:
    refused = world.refuse(registration(world.partner(status)), InvalidTransition)
    assert refused.extra == {"current_status": status}


def test_the_estimate_must_be_in_the_plan_currency(world: World) -> None:
    command = c.RegisterDeal(day(3), uuid.uuid4(), world.partner(), "Acme", "acme.example",
                             eur("100.00"))
    refused = world.refuse(command, CurrencyMismatch)
    assert refused.extra == {"expected_currency": "USD"}


@pytest.mark.parametrize("domain", ["not a domain", "acme", "", "-acme.example", "acme..example"])
def test_the_customer_domain_must_be_a_domain_name(world: World, domain: str) -> None:
    refused = world.refuse(registration(world.partner(), domain), InvalidInput)
    assert list(refused.errors) == ["customer.domain"]


def test_a_protected_domain_refuses_the_next_registration_and_records_only_the_attempt(
    world: World,
) -> None:
    holder, other = world.partner(), world.partner()
    held = world.deal(holder, domain="acme.example")
    registration_id = DomainRegistration.id_for("acme.example")
    others = {i: copy.deepcopy(a) for i, a in world.fake.aggregates.items()
              if i != registration_id}
    events = len(world.fake.events)
    attempt = uuid.uuid4()
    with pytest.raises(DealConflict) as refused:
        world.run(registration(other, "WWW.Acme.Example.", attempt))
    assert refused.value.extra == {"conflicting_deal_id": str(held)}
    [audit] = world.fake.events[events:]
    assert type(audit).__name__ == "ConflictRecorded"
    assert (audit.originator_id, audit.attempted_deal_id, audit.partner_id,
            audit.holding_deal_id) == (registration_id, attempt, other, held)
    assert {i: a for i, a in world.fake.aggregates.items() if i != registration_id} == others
    assert world.of(registration_id).deal_id == held
    # the other partner learns nothing about whose deal holds the domain
    detail, extra = refused.value.told_to_partner(other)
    assert str(held) not in detail
    assert extra == {}
    assert refused.value.told_to_partner(holder) == (refused.value.detail,
                                                     {"conflicting_deal_id": str(held)})


def test_the_protecting_partner_cannot_register_the_domain_twice(world: World) -> None:
    pid = world.partner()
    held = world.deal(pid, domain="acme.example")
    with pytest.raises(DealConflict) as refused:
        world.run(registration(pid, "acme.example"))
    assert refused.value.extra == {"conflicting_deal_id": str(held)}


@pytest.mark.parametrize(("status", "step"), REFUSED_STEPS)
def test_a_deal_step_the_status_does_not_allow_is_refused(
    world: World, status: str, step: str
) -> None:
    deal_id = world.deal(world.partner(), status)
    when = day(100) if status == "lapsed" else day(3)
    refused = world.refuse(deal_command(step, deal_id, when), InvalidTransition)
    assert refused.extra == {"current_status": "expired" if status == "lapsed" else status}


def test_a_win_must_be_in_the_plan_currency(world: World) -> None:
    deal_id = world.deal(world.partner(), "approved")
    refused = world.refuse(c.CloseDealWon(day(3), deal_id, eur("1000.00"), True),
                           CurrencyMismatch)
    assert refused.extra == {"expected_currency": "USD"}


@pytest.mark.parametrize("step", STEPS)
def test_steps_on_an_unknown_deal_are_not_found(world: World, step: str) -> None:
    world.refuse(deal_command(step, uuid.uuid4(), day(3)), NotFound)
    world.refuse(deal_command(step, world.partner(), day(3)), NotFound)
