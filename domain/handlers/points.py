"""Handler of the loyalty points command: redeem points for a reward."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.errors import InvalidTransition
from domain.handlers.ports import Aggregates, partner_and_account, plan_of
from domain.partners import Partner


def redeem_points_loads(command: c.RedeemPoints) -> list[UUID]:
    """The redemption's id, the partner and its account."""
    return [command.id, *partner_and_account(command.partner_id)]


def redeem_points(
    command: c.RedeemPoints, aggregates: Aggregates, occurred_at: datetime
) -> PartnerAccount:
    """Spends a partner's points on a reward; a terminated partner redeems nothing."""
    partner = aggregates.get(Partner, command.partner_id)
    if partner.status == "terminated":
        raise InvalidTransition("A terminated partner cannot redeem points.",
                                current_status=partner.status)
    account = aggregates.find(PartnerAccount, PartnerAccount.id_for(partner.id))
    if account is None:
        account = PartnerAccount(id=PartnerAccount.id_for(partner.id), partner_id=partner.id,
                                 currency=plan_of(partner, aggregates, occurred_at)[0].currency)
    account.redeem_points(command.id, command.points, command.reward, occurred_at)
    aggregates.add(account)
    return account
