"""Bearer-token authentication and the role each route allows, checked before any parsing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

from flask import Flask, current_app, g, request

from adapters.application import PartnerProgram
from adapters.keys import Principal
from api.http.errors import ApiProblem
from domain.errors import NotFound
from domain.partners import CLOSED_STATES, Partner

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC_ENDPOINTS = {"ops.healthz", "ops.readyz", "ops.metrics", "api-docs.openapi_json",
                    "api-docs.openapi_swagger_ui", "docs_assets", "portal", "portal_assets",
                    "favicon", "static"}


def allow(*roles: str) -> Callable[[F], F]:
    """Declares which roles may call a view; every other authenticated role gets a 403."""

    def mark(view: F) -> F:
        view.__dict__["allowed_roles"] = frozenset(roles)
        return view

    return mark


def principal() -> Principal:
    """The authenticated caller of the current request."""
    return g.principal  # type: ignore[no-any-return]


def check_partner_access(partner_id: UUID) -> None:
    """A partner token sees its own partner only; anything else looks like it does not exist."""
    caller = principal()
    if caller.role == "partner" and caller.partner_id != partner_id:
        raise ApiProblem(404, "not-found", f"No partner with id {partner_id}.")


def check_acting_for(partner_id: UUID) -> None:
    """A partner token may run its commands for itself only."""
    caller = principal()
    if caller.role == "partner" and caller.partner_id != partner_id:
        raise ApiProblem(403, "forbidden", "A partner key acts for its own partner only.")


def new_id(supplied: UUID | None) -> UUID:
    """The id of a resource a request creates: the caller's, or a fresh one.

    A partner key may supply only a random (version 4) UUID: the ids the service derives
    from emails, domains and billing ids are name-based, and trying one would tell a partner
    whether another partner's application or record exists.
    """
    if supplied is None:
        return uuid4()
    if principal().role == "partner" and supplied.version != 4:
        raise ApiProblem(422, "validation-error", "id: A partner key may supply only a random "
                         "(version 4) UUID.", errors={"id": ["Must be a random (version 4) UUID."]})
    return supplied


def partner_closed(app: PartnerProgram, partner_id: UUID) -> bool:
    """Whether the partner was rejected or terminated, which ends its keys.

    Read from the partner's own events rather than the directory read model, which in a
    process that did not record the change lags behind it: so a key stops working in every
    process the moment the rejection or termination is saved, wherever it came from.
    """
    try:
        partner = app.get_aggregate(Partner, partner_id)
    except NotFound:
        return False  # a key made ahead of its partner's application reads nothing yet
    return partner.status in CLOSED_STATES


def authenticate() -> None:
    """Runs before every request: 401 without a valid token, 403 for a role not allowed."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "unauthorized", "Send an API key as 'Authorization: Bearer <token>'.")
    svc = current_app.extensions["partnerledger"]
    found = svc.keys.authenticate(token.strip(), svc.app.clock())
    if found is None or (found.partner_id is not None
                         and partner_closed(svc.app, found.partner_id)):
        raise ApiProblem(401, "unauthorized", "The API key is unknown, revoked or expired.")
    g.principal = found
    view = current_app.view_functions.get(request.endpoint)
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        raise ApiProblem(403, "forbidden", "This route is not open to API keys.")
    if found.role not in roles:
        raise ApiProblem(
            403, "forbidden", f"A {found.role} key may not {request.method} {request.path}."
        )


def init_app(app: Flask) -> None:
    """Installs the authentication hook."""
    app.before_request(authenticate)
