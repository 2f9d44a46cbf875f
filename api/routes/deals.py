"""Deals: registration with domain protection, approval, closing, reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from flask import Response
from flask_smorest import Blueprint

from api.auth import allow, check_acting_for, check_partner_access, new_id
from api.commanding import run_command, services, wait_for_position
from api.reads import partner_page, scoped_row
from api.schemas.common import CommandSchema, ReadQuerySchema
from api.schemas.earning import (
    CloseWonSchema,
    DealListSchema,
    DealOutSchema,
    DealQuerySchema,
    RegisterDealSchema,
)
from api.schemas.partners import ReasonSchema
from domain import commands as c
from domain.money import Money
from projections.commissions import deal_status, find_deal, list_deals

blp = Blueprint("deals", __name__, description="Deal registration")


def money(value: Money | None) -> dict[str, str] | None:
    """Money or nothing, on the wire."""
    return None if value is None else value.to_json()


def deal_json(deal: Any) -> dict[str, Any]:
    """A deal from its aggregate; the status is what a reader sees now."""
    return {
        "id": str(deal.id),
        "partner_id": str(deal.partner_id),
        "customer": {"name": deal.customer_name, "domain": deal.customer_domain},
        "estimated_value": deal.estimated_value.to_json(),
        "status": deal.status_at(services().app.clock()),
        "reason": deal.reason,
        "protected_until": deal.protected_until.isoformat(),
        "amount": money(deal.amount),
        "new_customer": deal.new_customer,
        "registered_at": deal.registered_at.isoformat(),
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
    }


def deal_row_json(row: Any, now: datetime) -> dict[str, Any]:
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


@blp.route("/deals", methods=["POST"])
@blp.arguments(RegisterDealSchema)
@blp.response(201, DealOutSchema)
@allow("internal", "partner")
def register(body: dict[str, Any]) -> Response:
    """Register a deal; a domain another partner protects is a 409 deal-conflict."""
    check_acting_for(body["partner_id"])
    command = c.RegisterDeal(
        body["occurred_at"], new_id(body["id"]), body["partner_id"],
        body["customer"]["name"], body["customer"]["domain"], body["estimated_value"],
    )
    return run_command(command, deal_json, 201)


@blp.route("/deals/<uuid:deal_id>/approve", methods=["POST"])
@blp.arguments(CommandSchema, required=False)
@blp.response(200, DealOutSchema)
@allow("internal")
def approve(body: dict[str, Any], deal_id: UUID) -> Response:
    """registered → approved."""
    return run_command(c.ApproveDeal(body["occurred_at"], deal_id), deal_json)


@blp.route("/deals/<uuid:deal_id>/reject", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, DealOutSchema)
@allow("internal")
def reject(body: dict[str, Any], deal_id: UUID) -> Response:
    """An open deal is turned down; its domain is free again."""
    return run_command(c.RejectDeal(body["occurred_at"], deal_id, body["reason"]), deal_json)


@blp.route("/deals/<uuid:deal_id>/close-won", methods=["POST"])
@blp.arguments(CloseWonSchema)
@blp.response(200, DealOutSchema)
@allow("internal")
def close_won(body: dict[str, Any], deal_id: UUID) -> Response:
    """approved → won: accrues amount * (deal rate + tier bonus)."""
    command = c.CloseDealWon(body["occurred_at"], deal_id, body["amount"], body["new_customer"])
    return run_command(command, deal_json)


@blp.route("/deals/<uuid:deal_id>/close-lost", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, DealOutSchema)
@allow("internal")
def close_lost(body: dict[str, Any], deal_id: UUID) -> Response:
    """An open deal is lost; its domain is free again."""
    return run_command(c.CloseDealLost(body["occurred_at"], deal_id, body["reason"]), deal_json)


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
