"""Handlers of the partner lifecycle commands, from application to termination."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.errors import CurrencyMismatch
from domain.handlers.ports import Aggregates, check_new_id, partner_and_account
from domain.partners import EmailClaim, Partner, normalise_email
from domain.plans import Plan


def apply_partner_loads(command: c.ApplyPartner) -> list[UUID]:
    """The new partner's id and the claim on its email."""
    return [command.id, EmailClaim.id_for(command.email)]


def apply_partner(
    command: c.ApplyPartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Records an application; the email must not be held by another open application."""
    check_new_id(aggregates, command.id)
    claim_id = EmailClaim.id_for(command.email)
    claim = aggregates.find(EmailClaim, claim_id)
    if claim is not None:
        claim.claim(command.id)
    else:
        aggregates.add(EmailClaim(id=claim_id, partner_id=command.id))
    partner = Partner(
        id=command.id,
        name=command.name,
        email=normalise_email(command.email),
        company=command.company,
        type=command.type,
        country=command.country,
        occurred_at=occurred_at,
    )
    aggregates.add(partner)
    return partner


def approve_partner_loads(command: c.ApprovePartner) -> list[UUID]:
    """The partner, its account and the plan."""
    return [*partner_and_account(command.partner_id), command.plan_id]


def approve_partner(
    command: c.ApprovePartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Admits an applicant onto an existing plan."""
    partner = aggregates.get(Partner, command.partner_id)
    partner.check_transition("approve")
    aggregates.get(Plan, command.plan_id)
    partner.approve(command.plan_id, occurred_at)
    return partner


def _release_email(partner: Partner, aggregates: Aggregates) -> None:
    claim = aggregates.find(EmailClaim, EmailClaim.id_for(partner.email))
    if claim is not None:
        claim.release(partner.id)


def partner_loads(
    command: c.RejectPartner | c.SuspendPartner | c.ReactivatePartner | c.TerminatePartner,
) -> list[UUID]:
    """The partner and its account (the email claim is found through the partner)."""
    return partner_and_account(command.partner_id)


def reject_partner(
    command: c.RejectPartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Turns an application down and frees its email."""
    partner = aggregates.get(Partner, command.partner_id)
    partner.reject(command.reason, occurred_at)
    _release_email(partner, aggregates)
    return partner


def suspend_partner(
    command: c.SuspendPartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Pauses an active partner."""
    partner = aggregates.get(Partner, command.partner_id)
    partner.suspend(command.reason, occurred_at)
    return partner


def reactivate_partner(
    command: c.ReactivatePartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Ends a suspension."""
    partner = aggregates.get(Partner, command.partner_id)
    partner.reactivate(occurred_at)
    return partner


def terminate_partner(
    command: c.TerminatePartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Ends a partnership and frees its email."""
    partner = aggregates.get(Partner, command.partner_id)
    partner.terminate(command.reason, occurred_at)
    _release_email(partner, aggregates)
    return partner


def change_details_loads(command: c.ChangePartnerDetails) -> list[UUID]:
    """The partner and its account (every partner command looks at both)."""
    return partner_and_account(command.partner_id)


def change_details(
    command: c.ChangePartnerDetails, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Corrects a partner's name, company or country; unchanged values record nothing."""
    partner = aggregates.get(Partner, command.partner_id)
    partner.change_details({"name": command.name, "company": command.company,
                            "country": command.country}, occurred_at)
    return partner


def move_to_plan_loads(command: c.MovePartnerToPlan) -> list[UUID]:
    """The partner, its account and the plan it moves to."""
    return [*partner_and_account(command.partner_id), command.plan_id]


def move_to_plan(
    command: c.MovePartnerToPlan, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    """Moves a partner to another plan in the same currency from `occurred_at` on: accruals
    dated from then use it, none dated before change."""
    partner = aggregates.get(Partner, command.partner_id)
    target = aggregates.get(Plan, command.plan_id)
    if partner.plan_id is not None:
        current = aggregates.get(Plan, partner.plan_id)
        if target.currency != current.currency:
            raise CurrencyMismatch(
                f"This partner is paid in {current.currency}; plan {target.id} pays in "
                f"{target.currency}.", expected_currency=current.currency)
    partner.move_to_plan(command.plan_id, occurred_at)
    return partner
