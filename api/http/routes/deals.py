"""Deals: registration with domain protection, approval, closing, reads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, check_acting_for, check_partner_access, new_id
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.presenters.earning import deal_json, deal_row_json
from api.http.reads import partner_page, scoped_row
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.earning import DealListSchema, DealOutSchema, DealQuerySchema
from api.schemas.common import CommandSchema
from api.schemas.earning import CloseWonSchema, RegisterDealSchema
from api.schemas.partners import ReasonSchema
from projections.commissions import find_deal, list_deals

blp = Blueprint("deals", __name__, description="Deal registration")


def present_deal(deal: Any) -> dict[str, Any]:
    """A deal as the command left it, with the status a reader sees now."""
    return deal_json(deal, services().app.clock())


@blp.route("/deals", methods=["POST"])
@blp.arguments(RegisterDealSchema)
@blp.response(201, DealOutSchema)
@allow("internal", "partner")
def register(body: dict[str, Any]) -> Answer:
    """Register a deal; a domain another partner protects is a 409 deal-conflict."""
    check_acting_for(body["partner_id"])
    command = builders.register_deal(body, body["occurred_at"], new_id(body["id"]))
    return run_command(command, present_deal, 201)


@blp.route("/deals/<uuid:deal_id>/approve", methods=["POST"])
@blp.arguments(CommandSchema, required=False)
@blp.response(200, DealOutSchema)
@allow("internal")
def approve(body: dict[str, Any], deal_id: UUID) -> Answer:
    """registered → approved."""
    return run_command(builders.approve_deal(body, body["occurred_at"], deal_id), present_deal)


@blp.route("/deals/<uuid:deal_id>/reject", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, DealOutSchema)
@allow("internal")
def reject(body: dict[str, Any], deal_id: UUID) -> Answer:
    """An open deal is turned down; its domain is free again."""
    return run_command(builders.reject_deal(body, body["occurred_at"], deal_id), present_deal)


@blp.route("/deals/<uuid:deal_id>/close-won", methods=["POST"])
@blp.arguments(CloseWonSchema)
@blp.response(200, DealOutSchema)
@allow("internal")
def close_won(body: dict[str, Any], deal_id: UUID) -> Answer:
    """approved → won: accrues amount * (deal rate + tier bonus)."""
    return run_command(builders.close_deal_won(body, body["occurred_at"], deal_id), present_deal)


@blp.route("/deals/<uuid:deal_id>/close-lost", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, DealOutSchema)
@allow("internal")
def close_lost(body: dict[str, Any], deal_id: UUID) -> Answer:
    """An open deal is lost; its domain is free again."""
    return run_command(builders.close_deal_lost(body, body["occurred_at"], deal_id), present_deal)


@blp.route("/deals/<uuid:deal_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, DealOutSchema)
@allow("internal", "auditor", "partner")
def get_deal(query: dict[str, Any], deal_id: UUID) -> dict[str, Any]:
    """One deal. A partner key sees its own deals only."""
    wait_for_position(query["min_position"])
    row, position = scoped_row("commissions", find_deal, str(deal_id), "deal")
    return {**deal_row_json(row, services().app.clock()), "position": position}


@blp.route("/partners/<uuid:partner_id>/deals", methods=["GET"])
@blp.arguments(DealQuerySchema, location="query")
@blp.response(200, DealListSchema)
@allow("internal", "auditor", "partner")
def partner_deals(query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
    """A partner's deals, oldest first, optionally by status."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    return partner_page("commissions", str(partner_id), query, list_deals, deal_row_json)
