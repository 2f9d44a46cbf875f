"""Command handlers: load aggregates through a port, call one method each, return the result.

A handler checks every rule before it changes anything, so a refused command leaves no
pending event behind; the unit of work behind the port saves what the handler changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.billing import Payment, Refund
from domain.business_time import check_command
from domain.errors import Duplicate
from domain.partners import EmailClaim, Partner, normalise_email
from domain.plans import Plan
from domain.referrals import CustomerAttribution, LeadClaim

A = TypeVar("A", bound=Aggregate)


class Aggregates(Protocol):
    """The port handlers load and add aggregates through (a unit of work)."""

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        """The aggregate, or NotFound when there is none of that type."""

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate, or None."""

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any aggregate has this id."""

    def add(self, aggregate: Aggregate) -> None:
        """Adds a new aggregate to be saved."""


Handler = Callable[[Any, Aggregates, datetime], Aggregate]
HANDLERS: dict[type[c.Command], Handler] = {}


def handles(command_type: type[c.Command]) -> Callable[[Handler], Handler]:
    """Registers a handler for one command type."""

    def register(handler: Handler) -> Handler:
        HANDLERS[command_type] = handler
        return handler

    return register


def touches(command: c.Command) -> list[UUID]:
    """Aggregate ids a command will load, so a batch can fetch most of them at once."""
    ids: list[UUID] = []
    for name in ("id", "plan_id", "partner_id", "deal_id", "referral_id", "payout_id",
                 "agreement_id"):
        value = getattr(command, name, None)
        if isinstance(value, UUID):
            ids.append(value)
    if isinstance(command, c.ApplyPartner):
        ids.append(EmailClaim.id_for(command.email))
    elif isinstance(command, c.RecordPayment):
        ids += [Payment.id_for(command.payment_id),
                CustomerAttribution.id_for(command.customer_id)]
    elif isinstance(command, c.IssueRefund):
        ids += [Refund.id_for(command.refund_id), Payment.id_for(command.payment_id)]
    elif isinstance(command, c.RecordReferral):
        ids.append(LeadClaim.id_for(command.lead_email))
    elif isinstance(command, c.RunPayouts):
        for partner_id in command.partner_ids:
            ids += [partner_id, PartnerAccount.id_for(partner_id)]
    elif isinstance(command, c.ConvertReferral):
        ids.append(CustomerAttribution.id_for(command.customer_id))
    if isinstance(getattr(command, "partner_id", None), UUID):
        ids.append(PartnerAccount.id_for(command.partner_id))  # type: ignore[attr-defined]
    return ids


def handle(command: c.Command, aggregates: Aggregates, now: datetime) -> Aggregate:
    """Applies one command; `now` (the recording time) stands in for a missing `occurred_at`.

    Business times outside their bounds are refused before anything is loaded. A payout run
    never pays as of a moment after its recording, so no money leaves its hold early.
    """
    occurred_at = command.occurred_at or now
    check_command(command, occurred_at, now)
    if isinstance(command, c.RunPayouts):
        command = replace(command, as_of=min(command.as_of or occurred_at, now))
    return HANDLERS[type(command)](command, aggregates, occurred_at)


def check_new_id(aggregates: Aggregates, aggregate_id: UUID) -> None:
    """A create command's id must not be taken by anything else."""
    if aggregates.exists(aggregate_id):
        raise Duplicate(f"Id {aggregate_id} is already taken.", existing_id=str(aggregate_id))


@handles(c.CreatePlan)
def create_plan(command: c.CreatePlan, aggregates: Aggregates, occurred_at: datetime) -> Plan:
    check_new_id(aggregates, command.id)
    plan = Plan(id=command.id, terms=command.terms, occurred_at=occurred_at)
    aggregates.add(plan)
    return plan


@handles(c.RevisePlan)
def revise_plan(command: c.RevisePlan, aggregates: Aggregates, occurred_at: datetime) -> Plan:
    plan = aggregates.get(Plan, command.plan_id)
    plan.revise(command.changes, occurred_at)
    return plan


@handles(c.ApplyPartner)
def apply_partner(
    command: c.ApplyPartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
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


@handles(c.ApprovePartner)
def approve_partner(
    command: c.ApprovePartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    partner = aggregates.get(Partner, command.partner_id)
    partner.check_transition("approve")
    aggregates.get(Plan, command.plan_id)
    partner.approve(command.plan_id, occurred_at)
    return partner


def _release_email(partner: Partner, aggregates: Aggregates) -> None:
    claim = aggregates.find(EmailClaim, EmailClaim.id_for(partner.email))
    if claim is not None:
        claim.release(partner.id)


@handles(c.RejectPartner)
def reject_partner(
    command: c.RejectPartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    partner = aggregates.get(Partner, command.partner_id)
    partner.reject(command.reason, occurred_at)
    _release_email(partner, aggregates)
    return partner


@handles(c.SuspendPartner)
def suspend_partner(
    command: c.SuspendPartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    partner = aggregates.get(Partner, command.partner_id)
    partner.suspend(command.reason, occurred_at)
    return partner


@handles(c.ReactivatePartner)
def reactivate_partner(
    command: c.ReactivatePartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    partner = aggregates.get(Partner, command.partner_id)
    partner.reactivate(occurred_at)
    return partner


@handles(c.TerminatePartner)
def terminate_partner(
    command: c.TerminatePartner, aggregates: Aggregates, occurred_at: datetime
) -> Partner:
    partner = aggregates.get(Partner, command.partner_id)
    partner.terminate(command.reason, occurred_at)
    _release_email(partner, aggregates)
    return partner


# The earning handlers register themselves on import; they need the names above.
from domain import earning, royalty_handlers  # noqa: E402, F401
