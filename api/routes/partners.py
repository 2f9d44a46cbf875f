"""Partners: apply, the lifecycle transitions, and the directory."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask import Response
from flask_smorest import Blueprint

from api.auth import allow, check_partner_access, principal
from api.commanding import run_command, services, wait_for_position
from api.errors import ApiProblem
from api.schemas.common import CommandSchema, ReadQuerySchema, decode_cursor, encode_cursor
from api.schemas.partners import (
    ApplySchema,
    ApproveSchema,
    PartnerListSchema,
    PartnerQuerySchema,
    PartnerSchema,
    ReasonSchema,
)
from domain import commands as c
from projections.partner_directory import find_partner, list_partners

blp = Blueprint("partners", __name__, url_prefix="/partners", description="Partners")


def partner_json(partner: Any) -> dict[str, Any]:
    """A partner from its aggregate, in the directory's shape."""
    return {
        "id": str(partner.id),
        "name": partner.name,
        "email": partner.email,
        "company": partner.company,
        "type": partner.type,
        "country": partner.country,
        "status": partner.status,
        "status_reason": partner.status_reason,
        "tier": partner.tier,
        "plan_id": str(partner.plan_id) if partner.plan_id else None,
        "applied_at": partner.applied_at.isoformat(),
        "updated_at": partner.updated_at.isoformat(),
        "version": partner.version,
    }


def row_json(row: Any) -> dict[str, Any]:
    """A partner from its directory row."""
    return {
        "id": row["partner_id"],
        "name": row["name"],
        "email": row["email"],
        "company": row["company"],
        "type": row["type"],
        "country": row["country"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "tier": row["tier"],
        "plan_id": row["plan_id"],
        "applied_at": row["applied_at"],
        "updated_at": row["updated_at"],
        "version": int(row["version"]),
    }


@blp.route("", methods=["POST"])
@blp.arguments(ApplySchema)
@blp.response(201, PartnerSchema)
@allow("internal")
def apply(body: dict[str, Any]) -> Response:
    """A partner applies; a second open application with the same email is a 409."""
    command = c.ApplyPartner(
        body["occurred_at"], body["id"] or uuid4(), body["name"], body["email"],
        body["company"], body["type"], body["country"],
    )
    return run_command(command, partner_json, 201)


@blp.route("/<uuid:partner_id>/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(200, PartnerSchema)
@allow("internal")
def approve(body: dict[str, Any], partner_id: UUID) -> Response:
    """applied → active, on a plan."""
    command = c.ApprovePartner(body["occurred_at"], partner_id, body["plan_id"])
    return run_command(command, partner_json)


@blp.route("/<uuid:partner_id>/reject", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def reject(body: dict[str, Any], partner_id: UUID) -> Response:
    """applied → rejected."""
    return run_command(c.RejectPartner(body["occurred_at"], partner_id, body["reason"]),
                       partner_json)


@blp.route("/<uuid:partner_id>/suspend", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def suspend(body: dict[str, Any], partner_id: UUID) -> Response:
    """active → suspended: nothing new accrues until reactivated."""
    return run_command(c.SuspendPartner(body["occurred_at"], partner_id, body["reason"]),
                       partner_json)


@blp.route("/<uuid:partner_id>/reactivate", methods=["POST"])
@blp.arguments(CommandSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def reactivate(body: dict[str, Any], partner_id: UUID) -> Response:
    """suspended → active."""
    return run_command(c.ReactivatePartner(body["occurred_at"], partner_id), partner_json)


@blp.route("/<uuid:partner_id>/terminate", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, PartnerSchema)
@allow("internal")
def terminate(body: dict[str, Any], partner_id: UUID) -> Response:
    """active or suspended → terminated, for good."""
    return run_command(c.TerminatePartner(body["occurred_at"], partner_id, body["reason"]),
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
        "items": [row_json(row) for row in page.rows],
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
    return {**row_json(row), "position": position}

