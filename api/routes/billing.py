"""Payments and refunds from billing, keyed by the billing system's own ids."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from api.auth import allow
from api.commanding import run_command, services, wait_for_position
from api.routes.deals import money
from api.schemas.common import ReadQuerySchema
from api.schemas.earning import PaymentOutSchema, PaymentSchema, RefundOutSchema, RefundSchema
from domain import commands as c
from domain.billing import Payment, Refund

blp = Blueprint("billing", __name__, description="Payments and refunds")


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


@blp.route("/payments", methods=["POST"])
@blp.arguments(PaymentSchema)
@blp.response(201, PaymentOutSchema)
@blp.alt_response(200, schema=PaymentOutSchema,
                  description="A repeat of the same payment: nothing changed.")
@allow("internal")
def record_payment(body: dict[str, Any]) -> Response:
    """A paid invoice; a referred customer's payment inside the window earns commission.

    The same id with the same payload changes nothing (200); with another payload it is a
    409 duplicate.
    """
    command = c.RecordPayment(body["occurred_at"], body["id"], body["customer_id"],
                              body["amount"])
    return run_command(command, payment_json, 201)


@blp.route("/refunds", methods=["POST"])
@blp.arguments(RefundSchema)
@blp.response(201, RefundOutSchema)
@blp.alt_response(200, schema=RefundOutSchema,
                  description="A repeat of the same refund: nothing changed.")
@allow("internal")
def issue_refund(body: dict[str, Any]) -> Response:
    """A refund claws back commission * refund / payment; the last one exactly the rest."""
    command = c.IssueRefund(body["occurred_at"], body["id"], body["payment_id"], body["amount"])
    return run_command(command, refund_json, 201)


@blp.route("/payments/<string:payment_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, PaymentOutSchema)
@allow("internal", "auditor")
def get_payment(query: dict[str, Any], payment_id: str) -> dict[str, Any]:
    """One payment, by the billing system's id."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    payment = svc.app.get_aggregate(Payment, Payment.id_for(payment_id))
    return {**payment_json(payment), "position": position}


@blp.route("/refunds/<string:refund_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, RefundOutSchema)
@allow("internal", "auditor")
def get_refund(query: dict[str, Any], refund_id: str) -> dict[str, Any]:
    """One refund, by the billing system's id."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    refund = svc.app.get_aggregate(Refund, Refund.id_for(refund_id))
    return {**refund_json(refund), "position": position}
