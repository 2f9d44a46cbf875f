"""Commands: what callers ask the ledger to do, as plain values.

HTTP bodies and Kafka messages both become these; the handlers in `domain.handlers` apply them.
`occurred_at` is business time; None means "now" by the application's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.money import Money
from domain.plans import PlanTerms


@dataclass(frozen=True)
class Command:
    """Base of every command."""

    occurred_at: datetime | None


@dataclass(frozen=True)
class CreatePlan(Command):
    id: UUID
    terms: PlanTerms


@dataclass(frozen=True)
class RevisePlan(Command):
    plan_id: UUID
    changes: dict[str, Any]


@dataclass(frozen=True)
class ApplyPartner(Command):
    id: UUID
    name: str
    email: str
    company: str
    type: str
    country: str


@dataclass(frozen=True)
class ApprovePartner(Command):
    partner_id: UUID
    plan_id: UUID


@dataclass(frozen=True)
class RejectPartner(Command):
    partner_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class SuspendPartner(Command):
    partner_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class ReactivatePartner(Command):
    partner_id: UUID


@dataclass(frozen=True)
class TerminatePartner(Command):
    partner_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class MovePartnerToPlan(Command):
    partner_id: UUID
    plan_id: UUID


@dataclass(frozen=True)
class ChangePartnerDetails(Command):
    partner_id: UUID
    name: str | None = None
    company: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class RegisterDeal(Command):
    id: UUID
    partner_id: UUID
    customer_name: str
    customer_domain: str
    estimated_value: Money


@dataclass(frozen=True)
class ApproveDeal(Command):
    deal_id: UUID


@dataclass(frozen=True)
class RejectDeal(Command):
    deal_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class CloseDealWon(Command):
    deal_id: UUID
    amount: Money
    new_customer: bool


@dataclass(frozen=True)
class CloseDealLost(Command):
    deal_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class ExpireDeal(Command):
    deal_id: UUID


@dataclass(frozen=True)
class RecordReferral(Command):
    id: UUID
    partner_id: UUID
    lead_email: str
    lead_company: str


@dataclass(frozen=True)
class ConvertReferral(Command):
    referral_id: UUID
    customer_id: str


@dataclass(frozen=True)
class RecordPayment(Command):
    payment_id: str
    customer_id: str
    amount: Money


@dataclass(frozen=True)
class IssueRefund(Command):
    refund_id: str
    payment_id: str
    amount: Money


@dataclass(frozen=True)
class AdjustBalance(Command):
    id: UUID
    partner_id: UUID
    amount: Money
    reason: str


@dataclass(frozen=True)
class RedeemPoints(Command):
    id: UUID
    partner_id: UUID
    points: int
    reward: str


@dataclass(frozen=True)
class RunPayouts(Command):
    id: UUID
    as_of: datetime | None
    partner_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class ConfirmPayout(Command):
    payout_id: UUID
    reference: str


@dataclass(frozen=True)
class FailPayout(Command):
    payout_id: UUID
    reason: str


@dataclass(frozen=True)
class SignRoyaltyAgreement(Command):
    id: UUID
    partner_id: UUID
    currency: str
    schedule: tuple[tuple[Decimal | None, Decimal], ...]
    minimum_per_quarter: Money | None
    starts_on: date


@dataclass(frozen=True)
class ReportRoyalty(Command):
    agreement_id: UUID
    period: str
    gross_sales: Money
    returns: Money


@dataclass(frozen=True)
class CloseRoyaltyQuarter(Command):
    agreement_id: UUID
    quarter: str
