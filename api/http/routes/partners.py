"""Partners: apply, the lifecycle transitions, and the directory."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, check_partner_access, principal
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.errors import ApiProblem
from api.http.presenters.partners import partner_json, partner_row_json
from api.http.reads import decode_cursor, encode_cursor
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.partners import PartnerListSchema, PartnerQuerySchema, PartnerSchema
from api.schemas.common import CommandSchema
from api.schemas.partners import ApplySchema, ApproveSchema, DetailsSchema, ReasonSchema
from projections.partner_directory import find_partner, list_partners

blp = Blueprint("partners", __name__, url_prefix="/partners", description="Partners")


@blp.route("", methods=["POST"])
@blp.arguments(ApplySchema)
@blp.response(201, PartnerSchema)
@allow("internal")
def apply(body: dict[str, Any]) -> Answer:
    """A partner applies; a second open application with the same email is a 409."""
    command = builders.apply_partner(body, body["occurred_at"], body["id"] or uuid4())
    return run_command(command, partner_json, 201)


@blp.route("/<uuid:partner_id>/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(200, PartnerSchema)
@allow("internal")
def approve(body: dict[str, Any], partner_id: UUID) -> Answer:
    """applied → active, on a plan."""
    command = builders.approve_partner(body, body["occurred_at"], partner_id)
    return run_command(command, partner_json)


@blp.route("/<uuid:partner_id>/reject", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def reject(body: dict[str, Any], partner_id: UUID) -> Answer:
    """applied → rejected."""
    return run_command(builders.reject_partner(body, body["occurred_at"], partner_id),
                       partner_json)


@blp.route("/<uuid:partner_id>/suspend", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def suspend(body: dict[str, Any], partner_id: UUID) -> Answer:
    """active → suspended: nothing new accrues until reactivated."""
    return run_command(builders.suspend_partner(body, body["occurred_at"], partner_id),
                       partner_json)


@blp.route("/<uuid:partner_id>/reactivate", methods=["POST"])
@blp.arguments(CommandSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def reactivate(body: dict[str, Any], partner_id: UUID) -> Answer:
    """suspended → active."""
    return run_command(builders.reactivate_partner(body, body["occurred_at"], partner_id),
                       partner_json)


@blp.route("/<uuid:partner_id>/terminate", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def terminate(body: dict[str, Any], partner_id: UUID) -> Answer:
    """active or suspended → terminated, for good."""
    return run_command(builders.terminate_partner(body, body["occurred_at"], partner_id),
                       partner_json)


@blp.route("/<uuid:partner_id>/plan", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(200, PartnerSchema)
@allow("internal")
def move_to_plan(body: dict[str, Any], partner_id: UUID) -> Answer:
    """Moves an active or suspended partner to another plan in the same currency from
    `occurred_at` on: accruals dated from then use the new plan, none dated before change. A
    move dated before the partner's last plan change is a 409; another currency a 422."""
    return run_command(builders.move_partner_to_plan(body, body["occurred_at"], partner_id),
                       partner_json)


@blp.route("/<uuid:partner_id>", methods=["PATCH"])
@blp.arguments(DetailsSchema)
@blp.response(200, PartnerSchema)
@allow("internal")
def change_details(body: dict[str, Any], partner_id: UUID) -> Answer:
    """Corrects the name, company or country (email, type and plan are not edited here);
    values equal to the current ones record nothing. A rejected or terminated partner's
    record is not edited: 409."""
    return run_command(builders.change_partner_details(body, body["occurred_at"], partner_id),
                       partner_json)


@blp.route("", methods=["GET"])
@blp.arguments(PartnerQuerySchema, location="query")
@blp.response(200, PartnerListSchema)
@allow("internal", "auditor", "partner")
def directory(query: dict[str, Any]) -> dict[str, Any]:
    """The partner directory, filtered by status and tier. A partner key lists itself only."""
    wait_for_position(query["min_position"])
    svc = services()
    caller = principal()
    own = str(caller.partner_id) if caller.role == "partner" else None
    after = decode_cursor(query["cursor"])
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get("partner_directory").position(cursor)
        page = list_partners(
            cursor, status=query["status"], tier=query["tier"], partner_id=own,
            after_seq=after, limit=query["limit"],
        )
    return {
        "items": [partner_row_json(row) for row in page.rows],
        "next_cursor": encode_cursor(page.next_seq),
        "position": position,
    }


@blp.route("/<uuid:partner_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, PartnerSchema)
@allow("internal", "auditor", "partner")
def get_partner(query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
    """One partner from the directory."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    svc = services()
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get("partner_directory").position(cursor)
        row = find_partner(cursor, str(partner_id))
    if row is None:
        raise ApiProblem(404, "not-found", f"No partner with id {partner_id}.")
    return {**partner_row_json(row), "position": position}

