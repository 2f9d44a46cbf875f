"""Handlers of the deal commands: register, approve, reject, close won or lost, expire.

Commission on a won deal uses the plan version in effect at the event's `occurred_at` and the
tier in force before the event; a promotion the deal causes is recorded after its commission.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.dates import add_days
from domain.deals import Deal, DomainRegistration, normalise_domain
from domain.errors import InvalidInput
from domain.handlers.ports import (
    Aggregates,
    account_of,
    check_new_id,
    partner_and_account,
    plan_of,
)
from domain.partners import Partner
from domain.plans import check_plan_currency


def release_domain(deal: Deal, aggregates: Aggregates, occurred_at: datetime) -> None:
    """Frees the deal's customer domain for the next registration."""
    registration = aggregates.find(
        DomainRegistration, DomainRegistration.id_for(deal.customer_domain)
    )
    if registration is not None:
        registration.release(deal.id, occurred_at)


def register_deal_loads(command: c.RegisterDeal) -> list[UUID]:
    """The new deal's id, the partner, its account and the customer domain's registration."""
    ids = [command.id, *partner_and_account(command.partner_id)]
    with suppress(InvalidInput):  # a malformed domain is refused by the handler instead
        ids.append(DomainRegistration.id_for(normalise_domain(command.customer_domain)))
    return ids


def register_deal(command: c.RegisterDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    """Registers a deal and protects its customer domain, first come first protected."""
    check_new_id(aggregates, command.id)
    partner = aggregates.get(Partner, command.partner_id)
    partner.check_active("register deals")
    plan, version = plan_of(partner, aggregates, occurred_at)
    check_plan_currency(command.estimated_value, plan, "estimated_value")
    domain = normalise_domain(command.customer_domain)
    protected_until = add_days(occurred_at, version.terms.deal_protection_days)
    registration_id = DomainRegistration.id_for(domain)
    registration = aggregates.find(DomainRegistration, registration_id)
    if registration is None:
        registration = DomainRegistration(id=registration_id, domain=domain)
        aggregates.add(registration)
    registration.hold(command.id, partner.id, protected_until, occurred_at)
    deal = Deal(
        id=command.id,
        partner_id=partner.id,
        customer_name=command.customer_name,
        customer_domain=domain,
        estimated_value=command.estimated_value,
        protected_until=protected_until,
        occurred_at=occurred_at,
    )
    aggregates.add(deal)
    return deal


def deal_loads(
    command: c.ApproveDeal | c.RejectDeal | c.CloseDealLost | c.ExpireDeal | c.CloseDealWon,
) -> list[UUID]:
    """The deal (its partner and domain are found through it)."""
    return [command.deal_id]


def approve_deal(command: c.ApproveDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    """Approves a registered deal inside its window."""
    deal = aggregates.get(Deal, command.deal_id)
    deal.approve(occurred_at)
    return deal


def reject_deal(command: c.RejectDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    """Turns an open deal down and frees its domain."""
    deal = aggregates.get(Deal, command.deal_id)
    deal.reject(command.reason, occurred_at)
    release_domain(deal, aggregates, occurred_at)
    return deal


def close_lost(command: c.CloseDealLost, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    """Closes an open deal as lost and frees its domain."""
    deal = aggregates.get(Deal, command.deal_id)
    deal.lose(command.reason, occurred_at)
    release_domain(deal, aggregates, occurred_at)
    return deal


def expire_deal(command: c.ExpireDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    """Records the expiry of an open deal past its window."""
    deal = aggregates.get(Deal, command.deal_id)
    deal.expire(occurred_at)
    release_domain(deal, aggregates, deal.protected_until)
    return deal


def close_won(command: c.CloseDealWon, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    """Wins an approved deal: commission, sourced revenue, and any promotion it brings."""
    deal = aggregates.get(Deal, command.deal_id)
    deal.check_win(occurred_at)
    partner = aggregates.get(Partner, deal.partner_id)
    plan, version = plan_of(partner, aggregates, occurred_at)
    check_plan_currency(command.amount, plan, "amount")
    account = account_of(partner, plan.currency, aggregates)
    deal.win(command.amount, command.new_customer, occurred_at)
    if partner.is_active:
        tier = version.terms.tier(partner.tier)
        commission = command.amount.times(version.terms.deal_rate + tier.bonus_rate)
        if commission.amount > 0:
            account.accrue(
                source_type="deal", source_id=str(deal.id), basis=command.amount,
                amount=commission, base_rate=version.terms.deal_rate, tier=tier.name,
                tier_bonus=tier.bonus_rate, plan_id=plan.id, plan_version=version.number,
                available_at=version.terms.hold_ends(occurred_at),
                occurred_at=occurred_at,
            )
    account.record_revenue("deal", str(deal.id), command.amount, command.new_customer,
                           occurred_at)
    partner.promote_if_due(version.terms.tiers, account, occurred_at)
    release_domain(deal, aggregates, occurred_at)
    return deal
