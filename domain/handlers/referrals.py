"""Handlers of the referral commands: record a lead, convert it to a customer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.dates import add_days
from domain.errors import Duplicate
from domain.handlers.ports import (
    Aggregates,
    account_of,
    check_new_id,
    partner_and_account,
    plan_of,
)
from domain.partners import Partner, normalise_email
from domain.referrals import CustomerAttribution, LeadClaim, Referral, email_domain


def record_referral_loads(command: c.RecordReferral) -> list[UUID]:
    """The new referral's id, the partner, its account and the claim on the lead's email."""
    return [command.id, *partner_and_account(command.partner_id),
            LeadClaim.id_for(command.lead_email)]


def record_referral(
    command: c.RecordReferral, aggregates: Aggregates, occurred_at: datetime
) -> Referral:
    """Records a lead; a self-referral is kept as rejected, a lead held elsewhere refused."""
    check_new_id(aggregates, command.id)
    partner = aggregates.get(Partner, command.partner_id)
    partner.check_active("record referrals")
    _, version = plan_of(partner, aggregates, occurred_at)
    lead_email = normalise_email(command.lead_email)
    expires_at = add_days(occurred_at, version.terms.attribution_days)
    status, reason = "pending", None
    if email_domain(lead_email) == email_domain(partner.email):
        status, reason = "rejected", "self_referral"
    else:
        claim_id = LeadClaim.id_for(lead_email)
        claim = aggregates.find(LeadClaim, claim_id)
        if claim is None:
            claim = LeadClaim(id=claim_id, email=lead_email)
            aggregates.add(claim)
        try:
            claim.hold(command.id, expires_at, occurred_at)
        except Duplicate as refusal:
            # whose referral holds the lead decides what the caller may be told about it
            holder = aggregates.find(Referral, claim.referral_id) if claim.referral_id else None
            refusal.owner_id = holder.partner_id if holder is not None else None
            raise
    referral = Referral(
        id=command.id,
        partner_id=partner.id,
        lead_email=lead_email,
        lead_company=command.lead_company,
        attribution_expires_at=expires_at,
        status=status,
        reason=reason,
        occurred_at=occurred_at,
    )
    aggregates.add(referral)
    return referral


def convert_referral_loads(command: c.ConvertReferral) -> list[UUID]:
    """The referral and the customer's attribution."""
    return [command.referral_id, CustomerAttribution.id_for(command.customer_id)]


def convert_referral(
    command: c.ConvertReferral, aggregates: Aggregates, occurred_at: datetime
) -> Referral:
    """The lead became a customer: attribute it to the partner and award the points."""
    referral = aggregates.get(Referral, command.referral_id)
    referral.check_convert(occurred_at)
    attribution_id = CustomerAttribution.id_for(command.customer_id)
    existing = aggregates.find(CustomerAttribution, attribution_id)
    if existing is not None:
        raise Duplicate(
            f"Customer {command.customer_id} is already attributed to a referral.",
            existing_referral_id=str(existing.referral_id),
        )
    partner = aggregates.get(Partner, referral.partner_id)
    plan, version = plan_of(partner, aggregates, occurred_at)
    points = version.terms.points_per_conversion if partner.is_active else 0
    referral.convert(command.customer_id, points, occurred_at)
    aggregates.add(CustomerAttribution(
        id=attribution_id, customer_id=command.customer_id, partner_id=partner.id,
        referral_id=referral.id, converted_at=occurred_at,
    ))
    claim = aggregates.find(LeadClaim, LeadClaim.id_for(referral.lead_email))
    if claim is not None:
        claim.mark_converted(referral.id)
    if points:
        account_of(partner, plan.currency, aggregates).award_points(referral.id, points,
                                                                    occurred_at)
    return referral
