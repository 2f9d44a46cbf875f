"""Ledger buckets and payouts, in memory, with hand-computed figures."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from domain import commands as c
from domain.accounts import PartnerAccount, ledger_entries
from domain.errors import InvalidInput, InvalidTransition
from domain.ledger import Balances, balances_at
from tests.unit.memory import MemoryUnitOfWork
from tests.unit.test_earning import PLAN, T0, day, ledger, partner, referred_customer, usd

__all__ = ["ledger"]


def balances(ledger: MemoryUnitOfWork, pid: uuid.UUID, as_of: datetime) -> Balances:
    account_id = PartnerAccount.id_for(pid)
    events = [e for e in ledger.events if e.originator_id == account_id]
    return balances_at(ledger_entries(events), as_of)


def check_invariant(b: Balances) -> None:
    assert b.earned - b.reversed == b.pending + b.available + b.in_payout + b.paid


def pay(ledger: MemoryUnitOfWork, pid: uuid.UUID, when: datetime) -> list[uuid.UUID]:
    run = ledger.run(c.RunPayouts(when, uuid.uuid4(), when, (pid,)), when)
    return list(run.payout_ids)


@pytest.fixture
def earning(ledger: MemoryUnitOfWork) -> uuid.UUID:
    pid = partner(ledger)
    referred_customer(ledger, pid, "cust-1", day(0))
    ledger.run(c.RecordPayment(day(1), "in_1", "cust-1", usd("500.00")), day(1))  # 100.00
    return pid


def test_accruals_are_pending_for_the_hold_then_available(
    ledger: MemoryUnitOfWork, earning: uuid.UUID
) -> None:
    assert balances(ledger, earning, day(30)) == Balances(
        Decimal("100.00"), Decimal(0), Decimal("100.00"), Decimal(0), Decimal(0), Decimal(0))
    at_hold = balances(ledger, earning, day(31))  # 30 hold days after day 1
    assert (at_hold.pending, at_hold.available) == (Decimal(0), Decimal("100.00"))


def test_a_reversal_reduces_the_bucket_its_accrual_sits_in(
    ledger: MemoryUnitOfWork, earning: uuid.UUID
) -> None:
    ledger.run(c.IssueRefund(day(2), "re_1", "in_1", usd("100.00")), day(2))  # claws 20.00
    b = balances(ledger, earning, day(10))
    assert (b.pending, b.available, b.reversed) == (Decimal("80.00"), 0, Decimal("20.00"))
    assert balances(ledger, earning, day(40)).available == Decimal("80.00")


def test_payout_runs_move_available_money_and_respect_the_minimum(
    ledger: MemoryUnitOfWork, earning: uuid.UUID
) -> None:
    assert pay(ledger, earning, day(20)) == []  # still pending
    ledger.run(c.RevisePlan(day(0), PLAN, {"min_payout": usd("150.00")}), day(0))
    assert pay(ledger, earning, day(40)) == []  # 100.00 < 150.00
    ledger.run(c.RevisePlan(day(41), PLAN, {"min_payout": usd("50.00")}), day(41))
    [payout] = pay(ledger, earning, day(42))
    b = balances(ledger, earning, day(42))
    assert (b.available, b.in_payout) == (0, Decimal("100.00"))
    assert pay(ledger, earning, day(43)) == []  # nothing left to pay twice
    ledger.run(c.ConfirmPayout(day(45), payout, "wire-1"), day(45))
    b = balances(ledger, earning, day(45))
    assert (b.in_payout, b.paid) == (0, Decimal("100.00"))
    with pytest.raises(InvalidTransition):
        ledger.run(c.FailPayout(day(46), payout, "late"), day(46))


def test_a_failed_payout_returns_the_money_to_available(
    ledger: MemoryUnitOfWork, earning: uuid.UUID
) -> None:
    [payout] = pay(ledger, earning, day(40))
    ledger.run(c.FailPayout(day(41), payout, "bank rejected"), day(41))
    b = balances(ledger, earning, day(41))
    assert (b.available, b.in_payout) == (Decimal("100.00"), 0)
    assert len(pay(ledger, earning, day(42))) == 1


def test_a_clawback_after_payout_goes_negative_and_the_next_payout_nets_it(
    ledger: MemoryUnitOfWork, earning: uuid.UUID
) -> None:
    [first] = pay(ledger, earning, day(40))
    ledger.run(c.ConfirmPayout(day(41), first, "wire-1"), day(41))
    ledger.run(c.IssueRefund(day(50), "re_1", "in_1", usd("250.00")), day(50))  # claws 50.00
    b = balances(ledger, earning, day(50))
    assert (b.available, b.paid, b.reversed) == (Decimal("-50.00"), Decimal("100.00"),
                                                 Decimal("50.00"))
    check_invariant(b)
    assert pay(ledger, earning, day(51)) == []  # negative: nothing to pay
    ledger.run(c.RecordPayment(day(52), "in_2", "cust-1", usd("500.00")), day(52))  # +100.00
    [second] = pay(ledger, earning, day(90))
    assert ledger.aggregates[second].amount == usd("50.00")  # type: ignore[attr-defined]
    b = balances(ledger, earning, day(90))
    assert (b.available, b.in_payout, b.paid) == (0, Decimal("50.00"), Decimal("100.00"))
    check_invariant(b)


def test_suspended_partners_are_skipped_and_terminated_ones_settled(
    ledger: MemoryUnitOfWork, earning: uuid.UUID
) -> None:
    ledger.run(c.SuspendPartner(day(35), earning, None), day(35))
    run = ledger.run(c.RunPayouts(day(40), uuid.uuid4(), day(40), (earning,)), day(40))
    assert run.payout_ids == []
    assert run.skipped == {str(earning): "partner_suspended"}
    ledger.run(c.RevisePlan(day(41), PLAN, {"min_payout": usd("1000.00")}), day(41))
    ledger.run(c.TerminatePartner(day(42), earning, "ended"), day(42))
    [settled] = pay(ledger, earning, day(43))  # below the minimum, settled anyway
    assert ledger.aggregates[settled].settlement is True  # type: ignore[attr-defined]


def test_a_run_cannot_look_into_the_future(ledger: MemoryUnitOfWork, earning: uuid.UUID) -> None:
    with pytest.raises(InvalidInput):
        ledger.run(c.RunPayouts(day(40), uuid.uuid4(), day(41), (earning,)), day(40))


def test_refunds_cannot_precede_their_payment(ledger: MemoryUnitOfWork, earning: uuid.UUID) -> None:
    with pytest.raises(InvalidInput):
        ledger.run(c.IssueRefund(T0, "re_early", "in_1", usd("1.00")), T0)
