"""Plans: create, revise, read."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, principal
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.errors import ApiProblem
from api.http.presenters.plans import plan_json
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.plans import PlanSchema
from api.schemas.plans import CreatePlanSchema, RevisePlanSchema
from domain.errors import InvalidInput
from domain.partners import Partner
from domain.plans import Plan

blp = Blueprint("plans", __name__, url_prefix="/plans", description="Commission plans")


@blp.route("", methods=["POST"])
@blp.arguments(CreatePlanSchema)
@blp.response(201, PlanSchema)
@allow("internal")
def create_plan(body: dict[str, Any]) -> Answer:
    """Create a commission plan."""
    command = builders.create_plan(body, body["occurred_at"], body["id"] or uuid4())
    return run_command(command, plan_json, 201)


@blp.route("/<uuid:plan_id>/revisions", methods=["POST"])
@blp.arguments(RevisePlanSchema)
@blp.response(201, PlanSchema)
@allow("internal")
def revise_plan(body: dict[str, Any], plan_id: UUID) -> Answer:
    """Revise a plan from `occurred_at` on; earlier accruals keep the version they used."""
    plan = services().app.get_aggregate(Plan, plan_id)
    if "currency" in body and body["currency"] != plan.currency:
        raise InvalidInput.field("currency", "A plan's currency cannot be revised.")
    command = builders.revise_plan(body, body["occurred_at"], plan_id)
    return run_command(command, plan_json, 201)


@blp.route("/<uuid:plan_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, PlanSchema)
@allow("internal", "auditor", "partner")
def get_plan(query: dict[str, Any], plan_id: UUID) -> dict[str, Any]:
    """A plan with every version. A partner key reads only the plans its partner has been on."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    caller = principal()
    if caller.role == "partner":
        assert caller.partner_id is not None
        partner = svc.app.get_aggregate(Partner, caller.partner_id)
        if plan_id not in partner.plan_ids():
            raise ApiProblem(404, "not-found", f"No plan with id {plan_id}.")
    body = plan_json(svc.app.get_aggregate(Plan, plan_id))
    body["position"] = position
    return body
