"""Referrals: leads with an attribution window, conversions, reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from flask import Response
from flask_smorest import Blueprint

from api.auth import allow, check_acting_for, check_partner_access, new_id
from api.commanding import run_command, services, wait_for_position
from api.reads import partner_page, scoped_row
from api.schemas.common import ReadQuerySchema
from api.schemas.earning import (
    ConvertSchema,
    RecordReferralSchema,
    ReferralListSchema,
    ReferralOutSchema,
    ReferralQuerySchema,
)
from domain import commands as c
from projections.commissions import find_referral, list_referrals, referral_status

blp = Blueprint("referrals", __name__, description="Referrals")


def _time(text: str | None) -> str | None:
    return datetime.fromisoformat(text).isoformat() if text else None


def referral_json(referral: Any) -> dict[str, Any]:
    """A referral from its aggregate; the status is what a reader sees now."""
    return {
        "id": str(referral.id),
        "partner_id": str(referral.partner_id),
        "lead": {"email": referral.lead_email, "company": referral.lead_company},
        "status": referral.status_at(services().app.clock()),
        "reason": referral.reason,
        "customer_id": referral.customer_id,
        "attribution_expires_at": referral.attribution_expires_at.isoformat(),
        "recorded_at": referral.recorded_at.isoformat(),
        "converted_at": referral.converted_at.isoformat() if referral.converted_at else None,
        "points": referral.points,
    }


def referral_row_json(row: Any, now: datetime) -> dict[str, Any]:
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


@blp.route("/referrals", methods=["POST"])
@blp.arguments(RecordReferralSchema)
@blp.response(201, ReferralOutSchema)
@allow("internal", "partner")
def record(body: dict[str, Any]) -> Response:
    """Record a lead. A lead from the partner's own email domain is recorded as rejected."""
    check_acting_for(body["partner_id"])
    command = c.RecordReferral(body["occurred_at"], new_id(body["id"]), body["partner_id"],
                               body["lead"]["email"], body["lead"]["company"])
    return run_command(command, referral_json, 201)


@blp.route("/referrals/<uuid:referral_id>/convert", methods=["POST"])
@blp.arguments(ConvertSchema)
@blp.response(200, ReferralOutSchema)
@allow("internal")
def convert(body: dict[str, Any], referral_id: UUID) -> Response:
    """The lead became a billing customer; after the window it is 409 attribution-expired."""
    command = c.ConvertReferral(body["occurred_at"], referral_id, body["customer_id"])
    return run_command(command, referral_json)


@blp.route("/referrals/<uuid:referral_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, ReferralOutSchema)
@allow("internal", "auditor", "partner")
def get_referral(query: dict[str, Any], referral_id: UUID) -> dict[str, Any]:
    """One referral. A partner key sees its own referrals only."""
    wait_for_position(query["min_position"])
    row, position = scoped_row("commissions", find_referral, str(referral_id), "referral")
    return {**referral_row_json(row, services().app.clock()), "position": position}


@blp.route("/partners/<uuid:partner_id>/referrals", methods=["GET"])
@blp.arguments(ReferralQuerySchema, location="query")
@blp.response(200, ReferralListSchema)
@allow("internal", "auditor", "partner")
def partner_referrals(query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
    """A partner's referrals, oldest first, optionally by status."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    return partner_page("commissions", str(partner_id), query, list_referrals,
                        referral_row_json)
