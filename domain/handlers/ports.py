"""The port handlers load and add aggregates through, and the loading helpers they share."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.accounts import PartnerAccount
from domain.errors import Duplicate, InvalidTransition
from domain.partners import Partner
from domain.plans import Plan, PlanVersion

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


def check_new_id(aggregates: Aggregates, aggregate_id: UUID) -> None:
    """A create command's id must not be taken by anything else."""
    if aggregates.exists(aggregate_id):
        raise Duplicate(f"Id {aggregate_id} is already taken.", existing_id=str(aggregate_id))


def plan_of(partner: Partner, aggregates: Aggregates, when: datetime) -> tuple[Plan, PlanVersion]:
    """The partner's plan and the version in effect at `when`."""
    plan_id = partner.plan_at(when)
    if plan_id is None:
        raise InvalidTransition(
            "The partner has not been approved onto a plan.", current_status=partner.status
        )
    plan = aggregates.get(Plan, plan_id)
    return plan, plan.version_at(when)


def account_of(partner: Partner, currency: str, aggregates: Aggregates) -> PartnerAccount:
    """The partner's account, opened on first use."""
    account = aggregates.find(PartnerAccount, PartnerAccount.id_for(partner.id))
    if account is None:
        account = PartnerAccount(
            id=PartnerAccount.id_for(partner.id), partner_id=partner.id, currency=currency
        )
        aggregates.add(account)
    return account


def partner_and_account(partner_id: UUID) -> list[UUID]:
    """A partner's id and its account's, for a handler's `loads`."""
    return [partner_id, PartnerAccount.id_for(partner_id)]
