"""Handlers of the payout commands: run payouts, confirm or fail a payout."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.errors import InvalidInput
from domain.handlers.ports import Aggregates, check_new_id, partner_and_account, plan_of
from domain.partners import Partner
from domain.payouts import Payout, PayoutRun


def run_payouts_loads(command: c.RunPayouts) -> list[UUID]:
    """The run's id, and every partner it may pay with its account."""
    return [command.id, *(i for partner_id in command.partner_ids
                          for i in partner_and_account(partner_id))]


def run_payouts(command: c.RunPayouts, aggregates: Aggregates, occurred_at: datetime) -> PayoutRun:
    """Pays every partner whose available money reaches the plan's minimum at `as_of`.

    Suspended partners are skipped; terminated partners are settled whatever the amount.
    Each payout changes the partner's account, so two runs racing for the same money
    collide on the account's version and the loser, retried, finds nothing left to pay.
    """
    check_new_id(aggregates, command.id)
    as_of = command.as_of or occurred_at
    if as_of > occurred_at:
        raise InvalidInput.field("as_of", "A payout run cannot pay money as of a later time.")
    payouts: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for partner_id in sorted(set(command.partner_ids)):
        partner = aggregates.find(Partner, partner_id)
        account = aggregates.find(PartnerAccount, PartnerAccount.id_for(partner_id))
        if partner is None or account is None:
            continue
        if partner.status not in ("active", "terminated"):
            skipped[str(partner_id)] = f"partner_{partner.status}"
            continue
        amount, _, _ = account.payable(as_of)
        settlement = partner.status == "terminated"
        if amount.amount <= 0:
            skipped[str(partner_id)] = "nothing_available"
            continue
        if not settlement:
            _, version = plan_of(partner, aggregates, as_of)
            if amount < version.terms.min_payout:
                skipped[str(partner_id)] = "below_min_payout"
                continue
        payout_id = Payout.id_for(command.id, partner_id)
        account.start_payout(payout_id, command.id, as_of, occurred_at)
        aggregates.add(Payout(id=payout_id, partner_id=partner_id, run_id=command.id,
                              amount=amount, as_of=as_of, settlement=settlement,
                              occurred_at=occurred_at))
        payouts.append({"id": payout_id, "partner_id": partner_id, "amount": amount,
                        "settlement": settlement})
    run = PayoutRun(id=command.id, as_of=as_of, payouts=payouts, skipped=skipped,
                    occurred_at=occurred_at)
    aggregates.add(run)
    return run


def _payout_and_account(payout_id: UUID, aggregates: Aggregates) -> tuple[Payout, PartnerAccount]:
    payout = aggregates.get(Payout, payout_id)
    account = aggregates.get(PartnerAccount, PartnerAccount.id_for(payout.partner_id))
    return payout, account


def payout_loads(command: c.ConfirmPayout | c.FailPayout) -> list[UUID]:
    """The payout (its account is found through it)."""
    return [command.payout_id]


def confirm_payout(command: c.ConfirmPayout, aggregates: Aggregates,
                   occurred_at: datetime) -> Payout:
    """The money reached the partner."""
    payout, account = _payout_and_account(command.payout_id, aggregates)
    payout.confirm(command.reference, occurred_at)
    account.confirm_payout(payout.id, command.reference, occurred_at)
    return payout


def fail_payout(command: c.FailPayout, aggregates: Aggregates, occurred_at: datetime) -> Payout:
    """The transfer failed: the money is available again."""
    payout, account = _payout_and_account(command.payout_id, aggregates)
    payout.fail(command.reason, occurred_at)
    account.fail_payout(payout.id, command.reason, occurred_at)
    return payout
