"""Deals, referrals, payments, refunds, points and standings as answers."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from adapters.sql import Row
from domain.money import Money
from projections.commissions import deal_status, referral_status
from projections.money import from_minor


def money(value: Money | None) -> dict[str, str] | None:
    """Money or nothing, on the wire."""
    return None if value is None else value.to_json()


def _time(text: str | None) -> str | None:
    return datetime.fromisoformat(text).isoformat() if text else None


def deal_json(deal: Any, now: datetime) -> dict[str, Any]:
    """A deal from its aggregate; the status is what a reader sees `now`."""
    return {
        "id": str(deal.id),
        "partner_id": str(deal.partner_id),
        "customer": {"name": deal.customer_name, "domain": deal.customer_domain},
        "estimated_value": deal.estimated_value.to_json(),
        "status": deal.status_at(now),
        "reason": deal.reason,
        "protected_until": deal.protected_until.isoformat(),
        "amount": money(deal.amount),
        "new_customer": deal.new_customer,
        "registered_at": deal.registered_at.isoformat(),
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
    }


def deal_row_json(row: Row, now: datetime) -> dict[str, Any]:
    """A deal from its read-model row."""
    currency = row["currency"]
    return {
        "id": row["deal_id"],
        "partner_id": row["partner_id"],
        "customer": {"name": row["customer_name"], "domain": row["customer_domain"]},
        "estimated_value": {"amount": row["estimated_value"], "currency": currency},
        "status": deal_status(row, now),
        "reason": row["reason"],
        "protected_until": datetime.fromisoformat(row["protected_until"]).isoformat(),
        "amount": {"amount": row["amount"], "currency": currency} if row["amount"] else None,
        "new_customer": None if row["new_customer"] is None else bool(row["new_customer"]),
        "registered_at": datetime.fromisoformat(row["registered_at"]).isoformat(),
        "closed_at": datetime.fromisoformat(row["closed_at"]).isoformat()
        if row["closed_at"] else None,
    }


def referral_json(referral: Any, now: datetime) -> dict[str, Any]:
    """A referral from its aggregate; the status is what a reader sees `now`."""
    return {
        "id": str(referral.id),
        "partner_id": str(referral.partner_id),
        "lead": {"email": referral.lead_email, "company": referral.lead_company},
        "status": referral.status_at(now),
        "reason": referral.reason,
        "customer_id": referral.customer_id,
        "attribution_expires_at": referral.attribution_expires_at.isoformat(),
        "recorded_at": referral.recorded_at.isoformat(),
        "converted_at": referral.converted_at.isoformat() if referral.converted_at else None,
        "points": referral.points,
    }


def referral_row_json(row: Row, now: datetime) -> dict[str, Any]:
    """A referral from its read-model row."""
    return {
        "id": row["referral_id"],
        "partner_id": row["partner_id"],
        "lead": {"email": row["lead_email"], "company": row["lead_company"]},
        "status": referral_status(row, now),
        "reason": row["reason"],
        "customer_id": row["customer_id"],
        "attribution_expires_at": _time(row["attribution_expires_at"]),
        "recorded_at": _time(row["recorded_at"]),
        "converted_at": _time(row["converted_at"]),
        "points": int(row["points"]),
    }


def payment_json(payment: Any) -> dict[str, Any]:
    """A payment with the commission it earned and what refunds took back."""
    return {
        "id": payment.payment_id,
        "customer_id": payment.customer_id,
        "amount": payment.amount.to_json(),
        "partner_id": str(payment.partner_id) if payment.partner_id else None,
        "commission": money(payment.commission),
        "no_commission_reason": payment.no_commission_reason,
        "refunded": payment.refunded.to_json(),
        "reversed": payment.reversed.to_json(),
        "occurred_at": payment.paid_at.isoformat(),
    }


def refund_json(refund: Any) -> dict[str, Any]:
    """A refund and the commission it clawed back."""
    return {
        "id": refund.refund_id,
        "payment_id": refund.payment_id,
        "amount": refund.amount.to_json(),
        "clawback": money(refund.clawback),
        "partner_id": str(refund.partner_id) if refund.partner_id else None,
        "occurred_at": refund.issued_at.isoformat(),
    }


def points_json(account: Any) -> dict[str, Any]:
    """The points balance after a redemption."""
    return {"partner_id": str(account.partner_id), "points": account.points}


def ratio(part: int, whole: int) -> str:
    """A rate as a decimal string with four places, half-even; 0 when there is no whole."""
    if whole == 0:
        return "0.0000"
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def standing_json(partner_id: UUID, partner: Row, figures: Any,
                  currency: str | None, rank: int | None) -> dict[str, Any]:
    """A partner's standing from its directory row and figures; money in `currency`, or null
    while the partner has none; `rank` its all-time place on the leaderboard."""
    deals = figures.deals
    decided = deals["won"] + deals["lost"] + deals["expired"]
    referrals = figures.referrals
    counted = referrals["recorded"] - referrals["rejected"]
    return {
        "partner_id": str(partner_id),
        "status": partner["status"],
        "tier": partner["tier"],
        "sourced_revenue": {
            "total": from_minor(figures.revenue_total, currency).to_json() if currency else None,
            "new_business": from_minor(figures.revenue_new_business, currency).to_json()
            if currency else None,
        },
        "commission": {
            "earned": from_minor(figures.earned, currency).to_json() if currency else None,
            "reversed": from_minor(figures.reversed, currency).to_json() if currency else None,
        },
        "deals": {**deals, "win_rate": ratio(deals["won"], decided)},
        "referrals": {**referrals, "conversion_rate": ratio(referrals["converted"], counted)},
        "active_customers": figures.active_customers,
        "points": figures.points,
        "rank": rank,
    }
