"""A partner's standing, and spending loyalty points."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, check_acting_for, check_partner_access, new_id
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.errors import ApiProblem
from api.http.presenters.earning import points_json, standing_json
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.earning import PointsOutSchema, StandingSchema
from api.schemas.earning import RedemptionSchema
from domain.accounts import PartnerAccount
from domain.errors import NotFound
from domain.money import Money
from domain.plans import Plan
from domain.tiers import next_tier
from projections.commissions import standing_figures
from projections.partner_directory import find_partner
from projections.program import ALL_TIME, ranked_row

blp = Blueprint("standing", __name__, description="Standing and loyalty points")


@blp.route("/partners/<uuid:partner_id>/standing", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, StandingSchema)
@allow("internal", "auditor", "partner")
def standing(query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
    """Status, tier, sourced revenue, deal and referral figures, customers, points, and rank
    (its all-time place on `GET /leaderboard`)."""
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
        ranked = ranked_row(cursor, ALL_TIME, str(partner_id))
    currency = figures.currency
    progress = None
    if partner["plan_id"]:
        terms = svc.app.get_aggregate(Plan, UUID(partner["plan_id"])).version_at(now).terms
        currency = currency or terms.currency
        above = next_tier(terms.tiers, str(partner["tier"]))
        if above is not None:
            try:
                account = svc.app.get_aggregate(PartnerAccount,
                                                PartnerAccount.id_for(partner_id))
                trailing = account.trailing_revenue(now)
            except NotFound:  # no account until the first revenue, accrual or points
                trailing = Money.zero(terms.currency)
            progress = {"name": above.name, "threshold": above.threshold.to_json(),
                        "trailing_revenue": trailing.to_json()}
    rank = int(ranked[1]["rank"]) if ranked is not None else None
    return {**standing_json(partner_id, partner, figures, currency, rank),
            "next_tier": progress, "position": position}


@blp.route("/partners/<uuid:partner_id>/points/redemptions", methods=["POST"])
@blp.arguments(RedemptionSchema)
@blp.response(201, PointsOutSchema)
@allow("internal", "partner")
def redeem(body: dict[str, Any], partner_id: UUID) -> Answer:
    """Spend points; more than the balance is a 409 insufficient-points."""
    check_partner_access(partner_id)
    check_acting_for(partner_id)
    command = builders.redeem_points(body, body["occurred_at"], new_id(body["id"]), partner_id)
    return run_command(command, points_json, 201)
