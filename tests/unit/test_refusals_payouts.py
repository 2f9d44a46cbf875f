"""Payout refusals on the fake: runs dated ahead, money not due left alone, closed payouts."""

from __future__ import annotations

import copy
import uuid

import pytest

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.errors import Duplicate, InvalidInput, InvalidTransition, NotFound
from domain.payouts import PayoutRun
from tests.unit.world import World, day, usd


def earner(world: World, amount: str = "500.00", paid_on: float = 5) -> uuid.UUID:
    """A partner whose referred customer paid `amount` (a fifth of it is commission, held
    for 30 days)."""
    pid = world.partner()
    customer = f"cust-{pid.hex}"
    world.customer(pid, customer)
    world.run(c.RecordPayment(day(paid_on), f"in-{pid.hex}", customer, usd(amount)))
    return pid


def run(partner_ids: tuple[uuid.UUID, ...], when: float = 40,
        run_id: uuid.UUID | None = None) -> c.RunPayouts:
    return c.RunPayouts(day(when), run_id or uuid.uuid4(), None, partner_ids)


def test_a_run_cannot_take_an_id_anything_else_holds(world: World) -> None:
    pid = earner(world)
    done = world.run(run((pid,))).id
    for taken in (done, pid, world.plan_id):
        refused = world.refuse(run((pid,), 41, taken), Duplicate)
        assert refused.extra == {"existing_id": str(taken)}


def test_a_run_cannot_pay_as_of_a_time_after_its_own(world: World) -> None:
    pid = earner(world)
    ahead = c.RunPayouts(day(40), uuid.uuid4(), day(40.01), (pid,))
    refused = world.refuse(ahead, InvalidInput)
    assert list(refused.errors) == ["as_of"]


def test_a_run_pays_nothing_that_is_not_due_and_leaves_every_account_alone(
    world: World,
) -> None:
    on_hold = earner(world, paid_on=30)  # available from day 60
    below_minimum = earner(world, amount="100.00")  # 20.00 < 50.00
    suspended = earner(world)
    world.run(c.SuspendPartner(day(39), suspended, "review"))
    without_account, unknown = world.partner(), uuid.uuid4()
    accounts = {pid: copy.deepcopy(world.account(pid))
                for pid in (on_hold, below_minimum, suspended)}
    before = set(world.fake.aggregates)
    payout_run = world.run(run((on_hold, below_minimum, suspended, without_account, unknown)))
    assert isinstance(payout_run, PayoutRun)
    assert (payout_run.payouts, payout_run.skipped) == ([], {
        str(on_hold): "nothing_available", str(below_minimum): "below_min_payout",
        str(suspended): "partner_suspended"})
    assert set(world.fake.aggregates) - before == {payout_run.id}
    assert {pid: world.account(pid) for pid in accounts} == accounts


@pytest.fixture
def payout(world: World) -> uuid.UUID:
    """A payout of 100.00 started on day 40."""
    [started] = world.run(run((earner(world),))).payout_ids
    assert isinstance(started, uuid.UUID)
    return started


@pytest.mark.parametrize("closing", ["confirm", "fail"])
@pytest.mark.parametrize("step", ["confirm", "fail"])
def test_a_closed_payout_is_neither_confirmed_nor_failed_again(
    world: World, payout: uuid.UUID, closing: str, step: str
) -> None:
    commands = {"confirm": c.ConfirmPayout(day(41), payout, "wire-1"),
                "fail": c.FailPayout(day(41), payout, "bounced")}
    world.run(commands[closing])
    refused = world.refuse(commands[step], InvalidTransition)
    assert refused.extra == {"current_status": {"confirm": "paid", "fail": "failed"}[closing]}


@pytest.mark.parametrize("step", ["confirm", "fail"])
def test_closing_an_unknown_payout_is_not_found(world: World, payout: uuid.UUID,
                                                step: str) -> None:
    partner_id = world.of(payout).partner_id
    for unknown in (uuid.uuid4(), partner_id, PartnerAccount.id_for(partner_id)):
        command = (c.ConfirmPayout(day(41), unknown, "wire-1") if step == "confirm"
                   else c.FailPayout(day(41), unknown, "bounced"))
        world.refuse(command, NotFound)
