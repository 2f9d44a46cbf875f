"""Audit: the log with its hash chain, any stream's events and past state, verification,
Merkle proofs and signed tree heads.

Auditor and internal keys only (a partner key gets a 403), except a partner's own statement
with its proofs.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from flask import Response
from flask_smorest import Blueprint

from adapters.audit_chain import AuditChain
from adapters.audit_heads import TreeHeads
from api import audit
from api.http.auth import allow, check_partner_access, principal
from api.http.commanding import services
from api.http.presenters.explain import explain as explain_line
from api.http.schemas.audit import (
    ConsistencyQuerySchema,
    ConsistencySchema,
    ExplainQuerySchema,
    ExplainSchema,
    HeadsQuerySchema,
    HeadsSchema,
    InclusionQuerySchema,
    InclusionSchema,
    LogQuerySchema,
    LogSchema,
    StateQuerySchema,
    StreamEventsQuerySchema,
    StreamEventsSchema,
    StreamStateSchema,
    VerificationSchema,
)

blp = Blueprint("audit", __name__, description="Audit: replay, state in the past, the chain")


@blp.route("/audit/log", methods=["GET"])
@blp.arguments(LogQuerySchema, location="query")
@blp.response(200, LogSchema)
@allow("internal", "auditor")
def log(query: dict[str, Any]) -> dict[str, Any]:
    """The global log in order, after a position, each event with its chain link."""
    return audit.log_page(services(), query["after"], query["limit"])


@blp.route("/audit/streams/<uuid:stream_id>/events", methods=["GET"])
@blp.arguments(StreamEventsQuerySchema, location="query")
@blp.response(200, StreamEventsSchema)
@allow("internal", "auditor")
def stream_events(query: dict[str, Any], stream_id: UUID) -> dict[str, Any]:
    """Every event of one aggregate, by version: type, times, data and log position."""
    return audit.stream_events(services(), stream_id, query["after_version"], query["limit"])


@blp.route("/audit/streams/<uuid:stream_id>/state", methods=["GET"])
@blp.arguments(StateQuerySchema, location="query")
@blp.response(200, StreamStateSchema)
@allow("internal", "auditor")
def stream_state(query: dict[str, Any], stream_id: UUID) -> dict[str, Any]:
    """The aggregate after its Nth event (`version`), or as recorded at `as_of`."""
    return audit.stream_state(services(), stream_id, query["version"], query["as_of"])


@blp.route("/audit/verify", methods=["GET"])
@blp.response(200, VerificationSchema)
@allow("internal", "auditor")
def verify() -> dict[str, Any]:
    """Recomputes the hash chain over the whole log; `ok` false names the first position
    altered, removed, reordered or added behind the application's back."""
    return AuditChain(services().db).verify().to_json()


@blp.route("/audit/proofs/inclusion", methods=["GET"])
@blp.arguments(InclusionQuerySchema, location="query")
@blp.response(200, InclusionSchema)
@allow("internal", "auditor")
def inclusion(query: dict[str, Any]) -> dict[str, Any]:
    """The audit path of the event at `position` in the tree of `tree_size` events."""
    return audit.inclusion_proof(services(), query["position"], query["tree_size"])


@blp.route("/audit/proofs/consistency", methods=["GET"])
@blp.arguments(ConsistencyQuerySchema, location="query")
@blp.response(200, ConsistencySchema)
@allow("internal", "auditor")
def consistency(query: dict[str, Any]) -> dict[str, Any]:
    """The proof that the log's first `first` events are the start of its first `second`."""
    return audit.consistency_proof(services(), query["first"], query["second"])


@blp.route("/audit/heads", methods=["GET"])
@blp.arguments(HeadsQuerySchema, location="query")
@blp.response(200, HeadsSchema)
@allow("internal", "auditor")
def heads(query: dict[str, Any]) -> dict[str, Any]:
    """Signed tree heads recorded by `partnerledger audit digest`, largest first."""
    return {"items": [h.to_json() for h in TreeHeads(services().db).recent(query["limit"])]}


@blp.route("/partners/<uuid:partner_id>/statement/proofs", methods=["GET"])
@blp.doc(responses={"200": {
    "description": "JSON lines: a header with the signed tree head, then each statement line "
                   "with its stored event and inclusion proof (tools/verify_export.py checks it).",
    "content": {"application/jsonl": {"schema": {"type": "string"}}}}})
@allow("internal", "auditor", "partner")
def statement_proofs(partner_id: UUID) -> Response:
    """A partner's statement that the partner can check alone against a signed tree head
    (409 when no head is recorded and no signing key is configured)."""
    check_partner_access(partner_id)
    lines = audit.statement_proof_lines(services(), partner_id)
    body = "".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n"
                   for line in lines)
    # JSON lines, not one JSON document: a finished response, passed through as it is
    return Response(body, mimetype="application/jsonl")


@blp.route("/partners/<uuid:partner_id>/statement/<string(maxlength=200):entry_id>/explain",
           methods=["GET"])
@blp.arguments(ExplainQuerySchema, location="query")
@blp.response(200, ExplainSchema)
@allow("internal", "auditor", "partner")
def explain(query: dict[str, Any], partner_id: UUID, entry_id: str) -> dict[str, Any]:
    """Why a statement line is what it is: its events, rule, plan version and tier, inputs,
    arithmetic with rounding, and the request or Kafka message that asked for it."""
    check_partner_access(partner_id)
    return explain_line(services(), partner_id, entry_id, query["kind"],
                        everything=principal().role != "partner")
