"""Plans: create, revise, read."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask import Response
from flask_smorest import Blueprint

from api.auth import allow, principal
from api.commanding import run_command, services, wait_for_position
from api.errors import ApiProblem
from api.schemas.common import ReadQuerySchema
from api.schemas.plans import CreatePlanSchema, PlanSchema, RevisePlanSchema
from domain import commands as c
from domain.errors import InvalidInput
from domain.money import decimal_text
from domain.partners import Partner
from domain.plans import Plan, PlanTerms, PlanVersion, Tier

blp = Blueprint("plans", __name__, url_prefix="/plans", description="Commission plans")

TERM_FIELDS = (
    "name", "currency", "deal_rate", "referral_rate", "referral_months", "attribution_days",
    "deal_protection_days", "hold_days", "min_payout", "points_per_conversion",
)


def _tiers(raw: list[dict[str, Any]]) -> tuple[Tier, ...]:
    return tuple(Tier(t["name"], t["threshold"], t["bonus_rate"]) for t in raw)


def version_json(version: PlanVersion) -> dict[str, Any]:
    """One plan version on the wire."""
    terms = version.terms
    return {
        "version": version.number,
        "effective_from": version.effective_from.isoformat(),
        **{name: getattr(terms, name) for name in TERM_FIELDS},
        "deal_rate": decimal_text(terms.deal_rate),
        "referral_rate": decimal_text(terms.referral_rate),
        "min_payout": terms.min_payout.to_json(),
        "tiers": [
            {
                "name": t.name,
                "threshold": t.threshold.to_json(),
                "bonus_rate": decimal_text(t.bonus_rate),
            }
            for t in terms.tiers
        ],
    }


def plan_json(plan: Any) -> dict[str, Any]:
    """A plan: current terms at the top level, and its version history."""
    return {
        "id": str(plan.id),
        **version_json(plan.current),
        "versions": [version_json(v) for v in plan.versions],
    }


@blp.route("", methods=["POST"])
@blp.arguments(CreatePlanSchema)
@blp.response(201, PlanSchema)
@allow("internal")
def create_plan(body: dict[str, Any]) -> Response:
    """Create a commission plan."""
    terms = PlanTerms(
        **{name: body[name] for name in TERM_FIELDS}, tiers=_tiers(body["tiers"])
    )
    command = c.CreatePlan(body["occurred_at"], body["id"] or uuid4(), terms)
    return run_command(command, plan_json, 201)


@blp.route("/<uuid:plan_id>/revisions", methods=["POST"])
@blp.arguments(RevisePlanSchema)
@blp.response(201, PlanSchema)
@allow("internal")
def revise_plan(body: dict[str, Any], plan_id: UUID) -> Response:
    """Revise a plan from `occurred_at` on; earlier accruals keep the version they used."""
    changes = {k: v for k, v in body.items() if k != "occurred_at"}
    if "tiers" in changes:
        changes["tiers"] = _tiers(changes["tiers"])
    plan = services().app.get_aggregate(Plan, plan_id)
    if "currency" in changes and changes["currency"] != plan.currency:
        raise InvalidInput.field("currency", "A plan's currency cannot be revised.")
    return run_command(c.RevisePlan(body["occurred_at"], plan_id, changes), plan_json, 201)


@blp.route("/<uuid:plan_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, PlanSchema)
@allow("internal", "auditor", "partner")
def get_plan(query: dict[str, Any], plan_id: UUID) -> dict[str, Any]:
    """A plan with every version. A partner key reads only its own partner's plan."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    caller = principal()
    if caller.role == "partner":
        assert caller.partner_id is not None
        partner = svc.app.get_aggregate(Partner, caller.partner_id)
        if partner.plan_id != plan_id:
            raise ApiProblem(404, "not-found", f"No plan with id {plan_id}.")
    body = plan_json(svc.app.get_aggregate(Plan, plan_id))
    body["position"] = position
    return body
