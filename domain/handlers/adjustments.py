"""Handler of manual adjustments: a credit or debit an operator books on a partner's account."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.errors import InvalidTransition
from domain.handlers.ports import Aggregates, account_of, partner_and_account
from domain.partners import Partner
from domain.plans import Plan


def adjust_balance_loads(command: c.AdjustBalance) -> list[UUID]:
    """The adjustment's id, the partner and its account (the plan is found through the
    partner)."""
    return [command.id, *partner_and_account(command.partner_id)]


def adjust_balance(
    command: c.AdjustBalance, aggregates: Aggregates, occurred_at: datetime
) -> PartnerAccount:
    """Books a credit or debit in the partner's currency. A partner never approved onto a
    plan has no currency and so no account; a terminated one can still be settled."""
    partner = aggregates.get(Partner, command.partner_id)
    if partner.plan_id is None:
        raise InvalidTransition("A partner that was never approved onto a plan has no "
                                "account to adjust.", current_status=partner.status)
    currency = aggregates.get(Plan, partner.plan_id).currency
    account = account_of(partner, currency, aggregates)
    account.adjust(command.id, command.amount, command.reason, occurred_at)
    return account
