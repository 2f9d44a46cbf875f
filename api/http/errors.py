"""One place owns the error shape: application/problem+json with a stable `type`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, has_request_context, json
from werkzeug.exceptions import HTTPException

from domain.errors import PartnerLedgerError

log = logging.getLogger(__name__)

PROBLEM_BASE = "/problems/"

STATUS_BY_PROBLEM = {
    "validation-error": 422,
    "currency-mismatch": 422,
    "not-found": 404,
    "invalid-transition": 409,
    "duplicate": 409,
    "deal-conflict": 409,
    "attribution-expired": 409,
    "insufficient-points": 409,
    "refund-exceeds-payment": 409,
    "idempotency-key-reused": 409,
    "write-conflict": 503,
}

TITLES = {
    400: "Malformed request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    414: "URI too long",
    415: "Unsupported media type",
    417: "Expectation failed",
    422: "Validation error",
    431: "Request header fields too large",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
}

TYPE_BY_STATUS = {
    400: "malformed-json",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "content-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-error",
    431: "header-fields-too-large",
    500: "internal-error",
}

# werkzeug's own headers worth keeping on the problem response (Allow on a 405, above all).
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiProblem(Exception):
    """An HTTP-level refusal raised by the API layer itself (auth, paging, waiting)."""

    def __init__(
        self,
        status: int,
        problem: str,
        detail: str,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.problem = problem
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra


def problem_body(status: int, problem: str, detail: str) -> dict[str, Any]:
    """The four members every problem carries; also used by the gunicorn worker."""
    return {
        "type": PROBLEM_BASE + problem,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }


def problem_response(
    status: int,
    problem: str,
    detail: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Builds the problem+json response."""
    body = problem_body(status, problem, detail)
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    response = Response(
        json.dumps(body) + "\n", status=status, mimetype="application/problem+json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="partnerledger"'
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"field.sub": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            else:
                flat[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    elif messages:
        flat[prefix or "_schema"] = [str(m) for m in messages]
    return flat


def domain_error(error: PartnerLedgerError) -> Response:
    """Maps a domain refusal to its status, in one table.

    A partner key is told nothing about other partners: a refusal naming another partner's
    deal or referral reaches it without their ids or dates (internal and auditor keys, and
    the partner whose records they are, see everything).
    """
    status = STATUS_BY_PROBLEM.get(error.problem, 409)
    errors = getattr(error, "errors", None)
    headers = {"Retry-After": "1"} if status == 503 else None
    detail, extra = error.detail, error.extra
    caller = g.get("principal") if has_request_context() else None
    if caller is None or caller.role not in ("internal", "auditor"):
        detail, extra = error.told_to_partner(getattr(caller, "partner_id", None))
    return problem_response(status, error.problem, detail, errors, headers=headers, extra=extra)


def http_error(error: HTTPException) -> Response:
    """werkzeug and webargs errors; webargs puts field messages under `messages`."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 400 and messages:
        return problem_response(400, "malformed-json", "The request body is not valid JSON.")
    if status == 422 and messages:
        # webargs nests messages by location ("json", "query"); the field name is enough.
        by_location = messages if isinstance(messages, dict) else {"_schema": messages}
        errors: dict[str, list[str]] = {}
        for location_messages in by_location.values():
            errors.update(_flatten(location_messages))
        return problem_response(422, "validation-error", "The request has invalid fields.",
                                errors)
    problem = TYPE_BY_STATUS.get(status, f"http-{status}")
    headers = {name: value for name, value in error.get_headers() if name in KEPT_HEADERS}
    if status == 413:
        # The body was not read: the server must close rather than drain it (api/http/server.py).
        headers["Connection"] = "close"
    return problem_response(status, problem, error.description or TITLES.get(status, "Error"),
                            headers=headers)


def unexpected_error(error: Exception) -> Response:
    """Anything else is a bug: log it whole, tell the caller little."""
    log.exception("unhandled error", exc_info=error)
    return problem_response(500, "internal-error", "An unexpected error occurred.")


def init_app(app: Flask) -> None:
    """Registers the handlers; call after flask-smorest's Api so these take precedence."""
    app.register_error_handler(PartnerLedgerError, domain_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(
        ApiProblem,
        lambda e: problem_response(
            e.status, e.problem, e.detail, e.errors, headers=e.headers, extra=e.extra
        ),
    )
    app.register_error_handler(Exception, unexpected_error)
