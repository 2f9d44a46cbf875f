"""Audit: the log with its hash chain, any stream's events and past state, verification.

Auditor and internal keys only; a partner key gets a 403.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask_smorest import Blueprint

from adapters.audit_chain import AuditChain
from api import audit
from api.http.auth import allow
from api.http.commanding import services
from api.http.schemas.audit import (
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
