"""Partner refusals on the fake: taken ids and emails, lifecycle steps a status does not allow."""

from __future__ import annotations

import uuid

import pytest

from domain import commands as c
from domain.errors import Duplicate, InvalidTransition, NotFound
from domain.partners import TRANSITIONS
from tests.unit.world import PARTNER_PATHS, T0, World, partner_command

REFUSED_STEPS = [(status, step) for status in PARTNER_PATHS for step in sorted(TRANSITIONS)
                 if status not in TRANSITIONS[step][0]]


def application(email: str, partner_id: uuid.UUID | None = None) -> c.ApplyPartner:
    return c.ApplyPartner(T0, partner_id or uuid.uuid4(), "Bo", email, "Bo Ltd", "agency", "DE")


def test_an_application_cannot_take_an_id_anything_else_holds(world: World) -> None:
    holder = world.partner()
    for taken in (holder, world.plan_id):
        refused = world.refuse(application("new@bo.example", taken), Duplicate)
        assert refused.extra == {"existing_id": str(taken)}


@pytest.mark.parametrize("holder_status", ["applied", "active", "suspended"])
@pytest.mark.parametrize("spelling", ["ops@acme.example", " OPS@Acme.Example "])
def test_an_email_held_by_an_open_application_is_refused(
    world: World, holder_status: str, spelling: str
) -> None:
    holder = world.partner(holder_status, email="ops@acme.example")
    refused = world.refuse(application(spelling), Duplicate)
    assert refused.extra == {"existing_partner_id": str(holder)}


@pytest.mark.parametrize("holder_status", ["rejected", "terminated"])
def test_a_closed_application_frees_its_email(world: World, holder_status: str) -> None:
    world.partner(holder_status, email="ops@acme.example")
    world.run(application("OPS@acme.example"))


@pytest.mark.parametrize(("status", "step"), REFUSED_STEPS)
def test_a_lifecycle_step_the_status_does_not_allow_is_refused(
    world: World, status: str, step: str
) -> None:
    pid = world.partner(status)
    refused = world.refuse(partner_command(step, pid, world.plan_id), InvalidTransition)
    assert refused.extra == {"current_status": status}


def test_the_transition_is_checked_before_the_plan_is_looked_up(world: World) -> None:
    pid = world.partner("rejected")
    refused = world.refuse(c.ApprovePartner(T0, pid, uuid.uuid4()), InvalidTransition)
    assert refused.extra == {"current_status": "rejected"}


def test_approval_onto_an_unknown_plan_is_not_found(world: World) -> None:
    pid = world.partner("applied")
    world.refuse(c.ApprovePartner(T0, pid, uuid.uuid4()), NotFound)
    world.refuse(c.ApprovePartner(T0, pid, world.partner()), NotFound)  # an id, not a plan


@pytest.mark.parametrize("step", sorted(TRANSITIONS))
def test_lifecycle_steps_on_an_unknown_partner_are_not_found(world: World, step: str) -> None:
    world.refuse(partner_command(step, uuid.uuid4(), world.plan_id), NotFound)
    world.refuse(partner_command(step, world.plan_id, world.plan_id), NotFound)
