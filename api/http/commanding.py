"""Running a command for a request: idempotency, the save, catch-up, and the answer's data.

With an `Idempotency-Key` header the response is recorded in the same transaction as the
command's events, so a retry after any crash either finds the recorded response or finds
nothing written at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from flask import Response, current_app, jsonify, request

from adapters.idempotency import StoredResponse, request_hash
from adapters.provenance import Provenance
from api.http.auth import principal
from api.http.errors import ApiProblem
from api.http.request_ids import request_id
from api.services import Services
from domain.commands import Command
from domain.errors import PartnerLedgerError
from projections.runner import ProjectionFailed

log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 255


def services() -> Services:
    """The services of the running app."""
    return current_app.extensions["partnerledger"]  # type: ignore[no-any-return]


# What a command's view returns: the data and status for its response schema, or a replay.
Answer = tuple[dict[str, Any], int] | Response


def _replay(stored: StoredResponse, this_request: str) -> Response:
    """The recorded answer as a finished Response, which flask-smorest passes through
    untouched: a replay must be byte for byte the first answer, so it is encoded the way
    flask-smorest encodes a view's data (jsonify)."""
    if stored.request_hash != this_request:
        raise ApiProblem(
            409,
            "idempotency-key-reused",
            "This Idempotency-Key was already used with a different request.",
        )
    body = dict(stored.body)
    body["position"] = services().idempotency.position_of(stored)
    response = jsonify(body)
    response.status_code = stored.status
    response.headers["Idempotent-Replayed"] = "true"
    return response


def run_command(
    command: Command, present: Callable[[Aggregate], dict[str, Any]], status: int = 200
) -> Answer:
    """Executes a command for the current request; the answer's data is `present(aggregate)`
    with the log position, for the view's response schema to dump."""
    svc = services()
    key = request.headers.get("Idempotency-Key")
    caller = principal().key_id
    fingerprint = request_hash(request.method, request.path, request.get_data())
    if key is not None:
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            raise ApiProblem(422, "validation-error", "Idempotency-Key must be 1-255 characters.",
                             errors={"Idempotency-Key": ["Must be 1-255 characters."]})
        stored = svc.idempotency.find(caller, key)
        if stored is not None:
            return _replay(stored, fingerprint)

    source = {"via": "http", "request_id": request_id(), "key_id": caller,
              "method": request.method, "path": request.path}

    def record(outcome: Any) -> list[Any]:
        if outcome.error is not None:
            return []
        writes: list[Any] = Provenance.record(Provenance.rows(outcome.events, source))
        if key is not None:
            response = StoredResponse(fingerprint, status, present(outcome.aggregate),
                                      outcome.events)
            writes.append(svc.idempotency.record(caller, key, response, svc.app.clock()))
        return writes

    try:
        outcome = svc.app.execute(command, side_writes=record)
    except (PartnerLedgerError, IntegrityError):
        # A concurrent request with the same key may have won: answer as it did.
        stored = svc.idempotency.find(caller, key) if key is not None else None
        if stored is not None:
            return _replay(stored, fingerprint)
        raise
    try:
        svc.projections.catch_up()
    except ProjectionFailed as stopped:
        # logged in full where it first stopped; the command itself is saved
        log.warning("read models lag: %s", stopped)
    except Exception:
        log.exception("projection catch-up after a command failed")
    assert outcome.aggregate is not None
    body = present(outcome.aggregate)
    if not outcome.events:
        # a repeat that changed nothing (a billing id seen before with the same payload)
        body["position"] = svc.app.position()
        return body, 200
    body["position"] = outcome.position
    return body, status


def wait_for_position(min_position: int | None) -> None:
    """Honours `?min_position=`: waits (bounded) until read models reach it, else 503."""
    if min_position is None:
        return
    svc = services()
    timeout = svc.settings.min_position_timeout
    if min_position > svc.app.position():
        raise ApiProblem(
            503,
            "projection-behind",
            f"Position {min_position} has not been written yet (the log ends at "
            f"{svc.app.position()}).",
            headers={"Retry-After": "1"},
        )
    try:
        reached = svc.projections.wait_for(min_position, timeout)
    except ProjectionFailed as error:
        # the position only: handler errors may quote another partner's data
        where = f" at position {error.failure.position}" if error.failure else ""
        raise ApiProblem(503, "projection-behind",
                         f"A read model is stopped{where}; see /readyz.",
                         headers={"Retry-After": "5"}) from error
    if not reached:
        raise ApiProblem(
            503,
            "projection-behind",
            f"Read models have not reached position {min_position} within {timeout:g}s.",
            headers={"Retry-After": "1"},
        )
