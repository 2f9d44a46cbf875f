"""Payments and refunds from billing, keyed by the billing system's own ids."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.presenters.earning import payment_json, refund_json
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.earning import PaymentOutSchema, RefundOutSchema
from api.schemas.earning import PaymentSchema, RefundSchema
from domain.billing import Payment, Refund

blp = Blueprint("billing", __name__, description="Payments and refunds")


@blp.route("/payments", methods=["POST"])
@blp.arguments(PaymentSchema)
@blp.response(201, PaymentOutSchema)
@blp.alt_response(200, schema=PaymentOutSchema,
                  description="A repeat of the same payment: nothing changed.")
@allow("internal")
def record_payment(body: dict[str, Any]) -> Answer:
    """A paid invoice; a referred customer's payment inside the window earns commission.

    The same id with the same payload changes nothing (200); with another payload it is a
    409 duplicate.
    """
    return run_command(builders.record_payment(body, body["occurred_at"]), payment_json, 201)


@blp.route("/refunds", methods=["POST"])
@blp.arguments(RefundSchema)
@blp.response(201, RefundOutSchema)
@blp.alt_response(200, schema=RefundOutSchema,
                  description="A repeat of the same refund: nothing changed.")
@allow("internal")
def issue_refund(body: dict[str, Any]) -> Answer:
    """A refund claws back commission * refund / payment; the last one exactly the rest."""
    return run_command(builders.issue_refund(body, body["occurred_at"]), refund_json, 201)


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
