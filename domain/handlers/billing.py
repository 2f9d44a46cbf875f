"""Handlers of the billing commands: payments and refunds of referred customers.

A payment earns commission inside the referral's commission window, at the plan version in
effect at its `occurred_at` and the tier in force before it; a refund claws back pro rata.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.billing import Payment, Refund
from domain.errors import Duplicate, InvalidInput, NotFound
from domain.handlers.ports import Aggregates, account_of, plan_of
from domain.money import Money
from domain.partners import Partner
from domain.plans import check_plan_currency
from domain.referrals import CustomerAttribution


def record_payment_loads(command: c.RecordPayment) -> list[UUID]:
    """The payment (a repeat is answered from it) and the customer's attribution."""
    return [Payment.id_for(command.payment_id), CustomerAttribution.id_for(command.customer_id)]


def _same_payment(payment: Payment, command: c.RecordPayment) -> bool:
    return (payment.customer_id, payment.amount) == (command.customer_id, command.amount) and (
        command.occurred_at is None or command.occurred_at == payment.paid_at
    )


def record_payment(
    command: c.RecordPayment, aggregates: Aggregates, occurred_at: datetime
) -> Payment:
    """Records a customer's payment and the commission it earns its referring partner."""
    payment_id = Payment.id_for(command.payment_id)
    existing = aggregates.find(Payment, payment_id)
    if existing is not None:
        if _same_payment(existing, command):
            return existing  # a repeat of the same payment changes nothing
        raise Duplicate(f"Payment {command.payment_id} was recorded with other details.",
                        existing_id=command.payment_id)
    attribution = aggregates.find(
        CustomerAttribution, CustomerAttribution.id_for(command.customer_id)
    )
    if attribution is None or occurred_at < attribution.converted_at:
        payment = Payment(
            id=payment_id, payment_id=command.payment_id, customer_id=command.customer_id,
            amount=command.amount, partner_id=None, commission=None, accrual_id=None, rate=None,
            plan_id=None, plan_version=None, no_commission_reason="not_referred",
            occurred_at=occurred_at,
        )
        aggregates.add(payment)
        return payment
    partner = aggregates.get(Partner, attribution.partner_id)
    plan, version = plan_of(partner, aggregates, occurred_at)
    check_plan_currency(command.amount, plan, "amount")
    account = account_of(partner, plan.currency, aggregates)
    tier = version.terms.tier(partner.tier)
    rate = version.terms.referral_rate + tier.bonus_rate
    commission: Money | None = None
    accrual_id: UUID | None = None
    reason: str | None = None
    if not partner.is_active:
        reason = f"partner_{partner.status}"
    elif not attribution.in_commission_window(occurred_at, version.terms.referral_months):
        reason = "outside_commission_window"
    else:
        commission = command.amount.times(rate)
        if commission.amount > 0:
            accrual_id = account.accrue(
                source_type="payment", source_id=command.payment_id, basis=command.amount,
                amount=commission, base_rate=version.terms.referral_rate, tier=tier.name,
                tier_bonus=tier.bonus_rate, plan_id=plan.id, plan_version=version.number,
                available_at=version.terms.hold_ends(occurred_at),
                occurred_at=occurred_at,
            )
        else:
            commission, reason = None, "zero_rate"
    payment = Payment(
        id=payment_id, payment_id=command.payment_id, customer_id=command.customer_id,
        amount=command.amount, partner_id=partner.id, commission=commission,
        accrual_id=accrual_id, rate=rate if commission else None,
        plan_id=plan.id if commission else None,
        plan_version=version.number if commission else None, no_commission_reason=reason,
        occurred_at=occurred_at,
    )
    aggregates.add(payment)
    account.record_revenue("payment", command.payment_id, command.amount, True, occurred_at)
    partner.promote_if_due(version.terms.tiers, account, occurred_at)
    return payment


def issue_refund_loads(command: c.IssueRefund) -> list[UUID]:
    """The refund (a repeat is answered from it) and the payment it refunds."""
    return [Refund.id_for(command.refund_id), Payment.id_for(command.payment_id)]


def issue_refund(command: c.IssueRefund, aggregates: Aggregates, occurred_at: datetime) -> Refund:
    """Records a refund and claws back its share of the payment's commission."""
    refund_id = Refund.id_for(command.refund_id)
    existing = aggregates.find(Refund, refund_id)
    if existing is not None:
        same = (existing.payment_id, existing.amount) == (command.payment_id, command.amount)
        if same and (command.occurred_at is None or command.occurred_at == existing.issued_at):
            return existing
        raise Duplicate(f"Refund {command.refund_id} was recorded with other details.",
                        existing_id=command.refund_id)
    payment = aggregates.find(Payment, Payment.id_for(command.payment_id))
    if payment is None:
        raise NotFound(f"No payment with id {command.payment_id}.")
    if occurred_at < payment.paid_at:
        raise InvalidInput.field("occurred_at", "A refund cannot come before its payment.")
    clawback = payment.refund(command.refund_id, command.amount, occurred_at)
    if payment.partner_id is not None:
        partner = aggregates.get(Partner, payment.partner_id)
        plan, version = plan_of(partner, aggregates, occurred_at)
        account = account_of(partner, plan.currency, aggregates)
        if clawback is not None and clawback.amount > 0:
            assert payment.accrual_id is not None and payment.rate is not None
            assert payment.plan_id is not None and payment.plan_version is not None
            account.reverse(
                accrual_id=payment.accrual_id, source_type="refund", source_id=command.refund_id,
                amount=clawback, rate=payment.rate, plan_id=payment.plan_id,
                plan_version=payment.plan_version, occurred_at=occurred_at,
            )
        account.record_revenue("refund", command.refund_id, -command.amount, True, occurred_at)
        partner.promote_if_due(version.terms.tiers, account, occurred_at)
    refund = Refund(
        id=refund_id, refund_id=command.refund_id, payment_id=command.payment_id,
        amount=command.amount, clawback=clawback, partner_id=payment.partner_id,
        occurred_at=occurred_at,
    )
    aggregates.add(refund)
    return refund
