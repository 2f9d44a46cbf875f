"""Request bounds enforced before any view runs: body size, media type, JSON shape, query names.

SPEC section 5: a body over 1 MiB is a 413 before it is read; a non-empty body that is not
application/json is a 415; JSON nested deeper than 64 levels or holding a number of more than
40 digits is a 400; a query parameter the route does not declare is a 422.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from gunicorn.http.errors import NoMoreData, ParseException
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge

from api.http.errors import ApiProblem
from api.json_bounds import MalformedJson, strict_loads

MAX_BODY_BYTES = 1024 * 1024
JSON_MEDIA_TYPE = "application/json"
UNKNOWN_QUERY_NAMES_SHOWN = 20


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON with bounded parsing, so `request.get_json()` is bounded too."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)


def refuse_large_body() -> None:
    """Runs first, before authentication: the declared length alone decides."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == JSON_MEDIA_TYPE


def check_body() -> None:
    """A non-empty body must be bounded JSON, declared as such."""
    if request.routing_exception is not None:
        return  # a 404 or 405 says more than anything about the body
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not request.content_length and not chunked:
        return
    # werkzeug stops a chunked stream at MAX_CONTENT_LENGTH without an error, so the limit
    # there is one byte more: a body that reaches it is too large, and the rest stays unread.
    try:
        data = request.get_data(cache=True)
    except (ParseException, NoMoreData) as error:
        # gunicorn raises these from the body stream for a malformed or cut-off chunk
        raise ApiProblem(400, "bad-request", f"The request body is malformed: {error}.",
                         headers={"Connection": "close"}) from None
    if len(data) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    if not data:
        return
    if not _is_json(request.headers.get("Content-Type")):
        raise ApiProblem(415, "unsupported-media-type",
                         "Send the body as JSON with 'Content-Type: application/json'.")
    try:
        # webargs parses the body again with the standard json module; by then it is known
        # to be within the bounds, which is what makes that second parse safe.
        strict_loads(data)
    except MalformedJson as error:
        raise ApiProblem(400, "malformed-json", str(error)) from None


def _declared_query_names(endpoint: str) -> frozenset[str]:
    cache: dict[str, frozenset[str]] = current_app.extensions["partnerledger_query_names"]
    if endpoint not in cache:
        view = current_app.view_functions.get(endpoint)
        parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        names: set[str] = set()
        for parameter in parameters:
            if parameter.get("in") != "query":
                continue
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) and issubclass(schema, Schema) \
                else schema
            names.update(field.data_key or name for name, field in schema.load_fields.items())
        cache[endpoint] = frozenset(names)
    return cache[endpoint]


def check_query() -> None:
    """Every query parameter must be one the route declares (none, for most routes)."""
    if request.endpoint is None or not request.args:
        return
    unknown = sorted(set(request.args) - _declared_query_names(request.endpoint))
    if unknown:
        errors = {name[:100]: ["Unknown query parameter."]
                  for name in unknown[:UNKNOWN_QUERY_NAMES_SHOWN]}
        raise ApiProblem(422, "validation-error", "The request has unknown query parameters.",
                         errors)


def init_app(app: Flask) -> None:
    """Call after auth.init_app: the size check goes first, the others after authentication."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1  # see check_body
    app.json = StrictJSONProvider(app)
    app.extensions["partnerledger_query_names"] = {}
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_large_body)
    app.before_request(check_body)
    app.before_request(check_query)
