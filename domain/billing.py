"""Payments and refunds from the billing system, keyed by its own ids."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import CurrencyMismatch, PartnerLedgerError
from domain.ids import derived_id
from domain.money import Money
from domain.recording import RecordsDirectly


class RefundExceedsPayment(PartnerLedgerError):
    """Refunds would add up to more than was paid."""

    problem = "refund-exceeds-payment"


class Payment(Aggregate, metaclass=RecordsDirectly):
    """A paid invoice, with the commission it earned (if any) and what refunds took back."""

    @staticmethod
    def id_for(payment_id: str) -> UUID:
        """Derived from the billing system's payment id."""
        return derived_id(f"partnerledger:payment:{payment_id}")

    @event("Received")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        payment_id: str,
        customer_id: str,
        amount: Money,
        partner_id: UUID | None,
        commission: Money | None,
        accrual_id: UUID | None,
        rate: Decimal | None,
        plan_id: UUID | None,
        plan_version: int | None,
        no_commission_reason: str | None,
        occurred_at: datetime,
    ) -> None:
        self.payment_id = payment_id
        self.customer_id = customer_id
        self.amount = amount
        self.partner_id = partner_id
        self.commission = commission
        self.accrual_id = accrual_id
        self.rate = rate
        self.plan_id = plan_id
        self.plan_version = plan_version
        self.no_commission_reason = no_commission_reason
        self.paid_at = occurred_at
        self.refunded = Money.zero(amount.currency)
        self.reversed = Money.zero(amount.currency)

    def clawback_for(self, refund: Money) -> Money | None:
        """The commission a refund takes back: pro rata, and exactly the rest at the end.

        Each partial clawback is `commission * refund / payment`, rounded once half-even and
        capped at what is left, so the reversals can never exceed the commission; the refund
        that completes the payment takes back exactly the remainder.
        """
        if refund.currency != self.amount.currency:
            raise CurrencyMismatch(
                f"Payment {self.payment_id} is in {self.amount.currency}; "
                f"the refund is in {refund.currency}.",
                expected_currency=self.amount.currency,
            )
        left_to_refund = self.amount - self.refunded
        if refund.amount > left_to_refund.amount:
            raise RefundExceedsPayment(
                f"Payment {self.payment_id} has {left_to_refund.amount} left to refund; "
                f"asked for {refund.amount}.",
                refundable={"amount": str(left_to_refund.amount), "currency": refund.currency},
            )
        if self.commission is None:
            return None
        remaining = self.commission - self.reversed
        if refund.amount == left_to_refund.amount:
            return remaining
        share = Money.rounded(
            self.commission.amount * refund.amount / self.amount.amount, refund.currency
        )
        return share if share <= remaining else remaining

    def refund(self, refund_id: str, amount: Money, occurred_at: datetime) -> Money | None:
        """Records a refund; returns the commission it claws back, if any."""
        clawback = self.clawback_for(amount)
        self._refunded(refund_id, amount, clawback, occurred_at)
        return clawback

    @event("Refunded")
    def _refunded(
        self, refund_id: str, amount: Money, clawback: Money | None, occurred_at: datetime
    ) -> None:
        self.refunded = self.refunded + amount
        if clawback is not None:
            self.reversed = self.reversed + clawback


class Refund(Aggregate, metaclass=RecordsDirectly):
    """A refund, kept by the billing system's id so a repeat changes nothing."""

    @staticmethod
    def id_for(refund_id: str) -> UUID:
        """Derived from the billing system's refund id."""
        return derived_id(f"partnerledger:refund:{refund_id}")

    @event("Issued")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        refund_id: str,
        payment_id: str,
        amount: Money,
        clawback: Money | None,
        partner_id: UUID | None,
        occurred_at: datetime,
    ) -> None:
        self.refund_id = refund_id
        self.payment_id = payment_id
        self.amount = amount
        self.clawback = clawback
        self.partner_id = partner_id
        self.issued_at = occurred_at
