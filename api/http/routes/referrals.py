"""Referrals: leads with an attribution window, conversions, reads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, check_acting_for, check_partner_access, new_id
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.presenters.earning import referral_json, referral_row_json
from api.http.reads import partner_page, scoped_row
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.earning import ReferralListSchema, ReferralOutSchema, ReferralQuerySchema
from api.schemas.earning import ConvertSchema, RecordReferralSchema
from projections.commissions import find_referral, list_referrals

blp = Blueprint("referrals", __name__, description="Referrals")


def present_referral(referral: Any) -> dict[str, Any]:
    """A referral as the command left it, with the status a reader sees now."""
    return referral_json(referral, services().app.clock())


@blp.route("/referrals", methods=["POST"])
@blp.arguments(RecordReferralSchema)
@blp.response(201, ReferralOutSchema)
@allow("internal", "partner")
def record(body: dict[str, Any]) -> Answer:
    """Record a lead. A lead from the partner's own email domain is recorded as rejected."""
    check_acting_for(body["partner_id"])
    command = builders.record_referral(body, body["occurred_at"], new_id(body["id"]))
    return run_command(command, present_referral, 201)


@blp.route("/referrals/<uuid:referral_id>/convert", methods=["POST"])
@blp.arguments(ConvertSchema)
@blp.response(200, ReferralOutSchema)
@allow("internal")
def convert(body: dict[str, Any], referral_id: UUID) -> Answer:
    """The lead became a billing customer; after the window it is 409 attribution-expired."""
    command = builders.convert_referral(body, body["occurred_at"], referral_id)
    return run_command(command, present_referral)


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
