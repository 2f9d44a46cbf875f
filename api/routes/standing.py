"""A partner's standing, and spending loyalty points."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from flask import Response
from flask_smorest import Blueprint

from api.auth import allow, check_acting_for, check_partner_access, new_id
from api.commanding import run_command, services, wait_for_position
from api.errors import ApiProblem
from api.schemas.common import ReadQuerySchema
from api.schemas.earning import PointsOutSchema, RedemptionSchema, StandingSchema
from domain import commands as c
from domain.plans import Plan
from projections.commissions import standing_figures
from projections.money import from_minor
from projections.partner_directory import find_partner

blp = Blueprint("standing", __name__, description="Standing and loyalty points")


def ratio(part: int, whole: int) -> str:
    """A rate as a decimal string with four places, half-even; 0 when there is no whole."""
    if whole == 0:
        return "0.0000"
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


@blp.route("/partners/<uuid:partner_id>/standing", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, StandingSchema)
@allow("internal", "auditor", "partner")
def standing(query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
    """Status, tier, sourced revenue, deal and referral figures, customers, points, rank."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    svc = services()
    now = svc.app.clock()
    with svc.db.transaction(commit=False) as cursor:
        position = min(runner.position(cursor) for runner in svc.projections.runners)
        partner = find_partner(cursor, str(partner_id))
        if partner is None:
            raise ApiProblem(404, "not-found", f"No partner with id {partner_id}.")
        figures = standing_figures(cursor, str(partner_id), now)
    currency = figures.currency
    if currency is None and partner["plan_id"]:
        currency = svc.app.get_aggregate(Plan, UUID(partner["plan_id"])).currency
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
        "rank": figures.rank,
        "position": position,
    }


def points_json(account: Any) -> dict[str, Any]:
    """The points balance after a redemption."""
    return {"partner_id": str(account.partner_id), "points": account.points}


@blp.route("/partners/<uuid:partner_id>/points/redemptions", methods=["POST"])
@blp.arguments(RedemptionSchema)
@blp.response(201, PointsOutSchema)
@allow("internal", "partner")
def redeem(body: dict[str, Any], partner_id: UUID) -> Response:
    """Spend points; more than the balance is a 409 insufficient-points."""
    check_partner_access(partner_id)
    check_acting_for(partner_id)
    command = c.RedeemPoints(body["occurred_at"], new_id(body["id"]), partner_id,
                             body["points"], body["reward"])
    return run_command(command, points_json, 201)
