"""Handlers of the money-earning commands: deals, referrals, payments, refunds, points.

Each checks every rule before it records anything. Commission uses the plan version in
effect at the event's `occurred_at` and the tier in force before the event; a promotion the
event causes is recorded after its commission, as an event of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.accounts import PartnerAccount, tier_rank, tier_reached
from domain.billing import Payment, Refund
from domain.dates import add_days, add_months
from domain.deals import Deal, DomainRegistration, normalise_domain
from domain.errors import CurrencyMismatch, Duplicate, InvalidInput, InvalidTransition, NotFound
from domain.handlers import Aggregates, check_new_id, handles
from domain.money import Money
from domain.partners import Partner, normalise_email
from domain.payouts import Payout, PayoutRun
from domain.plans import Plan, PlanVersion
from domain.referrals import CustomerAttribution, LeadClaim, Referral, email_domain


def plan_of(partner: Partner, aggregates: Aggregates, when: datetime) -> tuple[Plan, PlanVersion]:
    """The partner's plan and the version in effect at `when`."""
    if partner.plan_id is None:
        raise InvalidTransition(
            "The partner has not been approved onto a plan.", current_status=partner.status
        )
    plan = aggregates.get(Plan, partner.plan_id)
    return plan, plan.version_at(when)


def check_currency(money: Money, plan: Plan, field: str) -> None:
    """A partner's money is all in its plan's currency."""
    if money.currency != plan.currency:
        raise CurrencyMismatch(
            f"{field} is in {money.currency}; this partner's plan pays in {plan.currency}.",
            expected_currency=plan.currency,
        )


def account_of(partner: Partner, currency: str, aggregates: Aggregates) -> PartnerAccount:
    """The partner's account, opened on first use."""
    account = aggregates.find(PartnerAccount, PartnerAccount.id_for(partner.id))
    if account is None:
        account = PartnerAccount(
            id=PartnerAccount.id_for(partner.id), partner_id=partner.id, currency=currency
        )
        aggregates.add(account)
    return account


def promote_if_due(
    partner: Partner, account: PartnerAccount, version: PlanVersion, occurred_at: datetime
) -> None:
    """Promotes to the highest tier the trailing-365-day revenue reaches; never demotes."""
    if not partner.is_active:
        return
    terms = version.terms
    higher = [t.threshold.amount for t in terms.tiers
              if tier_rank(terms, t.name) > tier_rank(terms, partner.tier)]
    if not higher or account.revenue_ceiling().amount < min(higher):
        return  # nothing left to reach, or out of reach even counting all revenue kept
    revenue = account.trailing_revenue(occurred_at)
    reached = tier_reached(version.terms, revenue)
    if reached is not None and tier_rank(terms, reached.name) > tier_rank(terms, partner.tier):
        partner.promote(reached.name, revenue, occurred_at)


def release_domain(deal: Deal, aggregates: Aggregates, occurred_at: datetime) -> None:
    """Frees the deal's customer domain for the next registration."""
    registration = aggregates.find(
        DomainRegistration, DomainRegistration.id_for(deal.customer_domain)
    )
    if registration is not None:
        registration.release(deal.id, occurred_at)


@handles(c.RegisterDeal)
def register_deal(command: c.RegisterDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    check_new_id(aggregates, command.id)
    partner = aggregates.get(Partner, command.partner_id)
    partner.check_active("register deals")
    plan, version = plan_of(partner, aggregates, occurred_at)
    check_currency(command.estimated_value, plan, "estimated_value")
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


@handles(c.ApproveDeal)
def approve_deal(command: c.ApproveDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    deal = aggregates.get(Deal, command.deal_id)
    deal.approve(occurred_at)
    return deal


@handles(c.RejectDeal)
def reject_deal(command: c.RejectDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    deal = aggregates.get(Deal, command.deal_id)
    deal.reject(command.reason, occurred_at)
    release_domain(deal, aggregates, occurred_at)
    return deal


@handles(c.CloseDealLost)
def close_lost(command: c.CloseDealLost, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    deal = aggregates.get(Deal, command.deal_id)
    deal.lose(command.reason, occurred_at)
    release_domain(deal, aggregates, occurred_at)
    return deal


@handles(c.ExpireDeal)
def expire_deal(command: c.ExpireDeal, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    deal = aggregates.get(Deal, command.deal_id)
    deal.expire(occurred_at)
    release_domain(deal, aggregates, deal.protected_until)
    return deal


@handles(c.CloseDealWon)
def close_won(command: c.CloseDealWon, aggregates: Aggregates, occurred_at: datetime) -> Deal:
    deal = aggregates.get(Deal, command.deal_id)
    deal.check_win(occurred_at)
    partner = aggregates.get(Partner, deal.partner_id)
    plan, version = plan_of(partner, aggregates, occurred_at)
    check_currency(command.amount, plan, "amount")
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
                hold_days=version.terms.hold_days,
                occurred_at=occurred_at,
            )
    account.record_revenue("deal", str(deal.id), command.amount, command.new_customer,
                           occurred_at)
    promote_if_due(partner, account, version, occurred_at)
    release_domain(deal, aggregates, occurred_at)
    return deal


@handles(c.RecordReferral)
def record_referral(
    command: c.RecordReferral, aggregates: Aggregates, occurred_at: datetime
) -> Referral:
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


@handles(c.ConvertReferral)
def convert_referral(
    command: c.ConvertReferral, aggregates: Aggregates, occurred_at: datetime
) -> Referral:
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


def _same_payment(payment: Payment, command: c.RecordPayment) -> bool:
    return (payment.customer_id, payment.amount) == (command.customer_id, command.amount) and (
        command.occurred_at is None or command.occurred_at == payment.paid_at
    )


@handles(c.RecordPayment)
def record_payment(
    command: c.RecordPayment, aggregates: Aggregates, occurred_at: datetime
) -> Payment:
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
    check_currency(command.amount, plan, "amount")
    account = account_of(partner, plan.currency, aggregates)
    window_end = add_months(attribution.converted_at, version.terms.referral_months)
    tier = version.terms.tier(partner.tier)
    rate = version.terms.referral_rate + tier.bonus_rate
    commission: Money | None = None
    accrual_id: UUID | None = None
    reason: str | None = None
    if not partner.is_active:
        reason = f"partner_{partner.status}"
    elif occurred_at >= window_end:
        reason = "outside_commission_window"
    else:
        commission = command.amount.times(rate)
        if commission.amount > 0:
            accrual_id = account.accrue(
                source_type="payment", source_id=command.payment_id, basis=command.amount,
                amount=commission, base_rate=version.terms.referral_rate, tier=tier.name,
                tier_bonus=tier.bonus_rate, plan_id=plan.id, plan_version=version.number,
                hold_days=version.terms.hold_days,
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
    promote_if_due(partner, account, version, occurred_at)
    return payment


@handles(c.IssueRefund)
def issue_refund(command: c.IssueRefund, aggregates: Aggregates, occurred_at: datetime) -> Refund:
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
        promote_if_due(partner, account, version, occurred_at)
    refund = Refund(
        id=refund_id, refund_id=command.refund_id, payment_id=command.payment_id,
        amount=command.amount, clawback=clawback, partner_id=payment.partner_id,
        occurred_at=occurred_at,
    )
    aggregates.add(refund)
    return refund


@handles(c.RedeemPoints)
def redeem_points(
    command: c.RedeemPoints, aggregates: Aggregates, occurred_at: datetime
) -> PartnerAccount:
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


@handles(c.RunPayouts)
def run_payouts(command: c.RunPayouts, aggregates: Aggregates, occurred_at: datetime) -> PayoutRun:
    """Pays every partner whose available money reaches the plan's minimum at `as_of`.

    Suspended partners are skipped; terminated partners are settled whatever the amount.
    Each payout changes the partner's account, so two runs racing for the same money
    collide on the account's version and the loser, retried, finds nothing left to pay.
    """
    check_new_id(aggregates, command.id)
    as_of = command.as_of or occurred_at
    if as_of > occurred_at:
        raise InvalidInput.field("as_of", "A payout run cannot pay money as of a later time.")
    payouts: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for partner_id in sorted(set(command.partner_ids)):
        partner = aggregates.find(Partner, partner_id)
        account = aggregates.find(PartnerAccount, PartnerAccount.id_for(partner_id))
        if partner is None or account is None:
            continue
        if partner.status not in ("active", "terminated"):
            skipped[str(partner_id)] = f"partner_{partner.status}"
            continue
        amount, _, _ = account.payable(as_of)
        settlement = partner.status == "terminated"
        if amount.amount <= 0:
            skipped[str(partner_id)] = "nothing_available"
            continue
        if not settlement:
            _, version = plan_of(partner, aggregates, as_of)
            if amount < version.terms.min_payout:
                skipped[str(partner_id)] = "below_min_payout"
                continue
        payout_id = Payout.id_for(command.id, partner_id)
        account.start_payout(payout_id, command.id, as_of, occurred_at)
        aggregates.add(Payout(id=payout_id, partner_id=partner_id, run_id=command.id,
                              amount=amount, as_of=as_of, settlement=settlement,
                              occurred_at=occurred_at))
        payouts.append({"id": payout_id, "partner_id": partner_id, "amount": amount,
                        "settlement": settlement})
    run = PayoutRun(id=command.id, as_of=as_of, payouts=payouts, skipped=skipped,
                    occurred_at=occurred_at)
    aggregates.add(run)
    return run


def _payout_and_account(payout_id: UUID, aggregates: Aggregates) -> tuple[Payout, PartnerAccount]:
    payout = aggregates.get(Payout, payout_id)
    account = aggregates.get(PartnerAccount, PartnerAccount.id_for(payout.partner_id))
    return payout, account


@handles(c.ConfirmPayout)
def confirm_payout(command: c.ConfirmPayout, aggregates: Aggregates,
                   occurred_at: datetime) -> Payout:
    payout, account = _payout_and_account(command.payout_id, aggregates)
    payout.confirm(command.reference, occurred_at)
    account.confirm_payout(payout.id, command.reference, occurred_at)
    return payout


@handles(c.FailPayout)
def fail_payout(command: c.FailPayout, aggregates: Aggregates, occurred_at: datetime) -> Payout:
    payout, account = _payout_and_account(command.payout_id, aggregates)
    payout.fail(command.reason, occurred_at)
    account.fail_payout(payout.id, command.reason, occurred_at)
    return payout
