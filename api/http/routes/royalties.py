"""Royalty agreements: signing, monthly reports and restatements, quarter closes."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, principal
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.errors import ApiProblem
from api.http.presenters.royalties import agreement_json
from api.http.schemas.common import ReadQuerySchema
from api.http.schemas.royalties import AgreementOutSchema
from api.schemas.common import CommandSchema
from api.schemas.royalties import AgreementSchema, ReportSchema
from domain.errors import NotFound
from domain.royalties import RoyaltyAgreement

blp = Blueprint("royalties", __name__, description="Royalty agreements")


@blp.route("/royalty-agreements", methods=["POST"])
@blp.arguments(AgreementSchema)
@blp.response(201, AgreementOutSchema)
@allow("internal")
def sign(body: dict[str, Any]) -> Answer:
    """Sign an agreement: marginal brackets on each agreement year's cumulative net sales."""
    command = builders.sign_royalty_agreement(body, body["occurred_at"], body["id"] or uuid4())
    return run_command(command, agreement_json, 201)


@blp.route("/royalty-agreements/<uuid:agreement_id>/reports", methods=["POST"])
@blp.arguments(ReportSchema)
@blp.response(201, AgreementOutSchema)
@allow("internal")
def report(body: dict[str, Any], agreement_id: UUID) -> Answer:
    """Report a month; a second report of a month is a restatement (accrues the difference)."""
    command = builders.report_royalty(body, body["occurred_at"], agreement_id)
    return run_command(command, agreement_json, 201)


@blp.route("/royalty-agreements/<uuid:agreement_id>/quarters/<string:quarter>/close",
           methods=["POST"])
@blp.arguments(CommandSchema, required=False)
@blp.response(200, AgreementOutSchema)
@allow("internal")
def close(body: dict[str, Any], agreement_id: UUID, quarter: str) -> Answer:
    """Top the quarter up to `minimum_per_quarter`; closing twice changes nothing."""
    command = builders.close_royalty_quarter(body, body["occurred_at"], agreement_id, quarter)
    return run_command(command, agreement_json)


@blp.route("/royalty-agreements/<uuid:agreement_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, AgreementOutSchema)
@allow("internal", "auditor", "partner")
def get_agreement(query: dict[str, Any], agreement_id: UUID) -> dict[str, Any]:
    """An agreement with its reports and accruals. A partner key sees its own only."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    try:
        agreement: RoyaltyAgreement | None = svc.app.get_aggregate(RoyaltyAgreement,
                                                                   agreement_id)
    except NotFound:
        agreement = None
    caller = principal()
    # another partner's agreement must read exactly like a missing one
    if agreement is None or (caller.role == "partner"
                             and agreement.partner_id != caller.partner_id):
        raise ApiProblem(404, "not-found", f"No royalty agreement with id {agreement_id}.")
    return {**agreement_json(agreement), "position": position}
