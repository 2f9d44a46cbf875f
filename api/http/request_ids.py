"""Request ids: each request carries one (the caller's `X-Request-Id` when well formed, else a
new one), answered in the same header and recorded as the provenance of what it writes."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id() -> str:
    """The current request's id."""
    return str(g.get("request_id") or "")


def init_app(app: Flask) -> None:
    """Gives every request an id and echoes it."""

    @app.before_request
    def assign() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if ACCEPTED.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def echo(response: Response) -> Response:
        if g.get("request_id"):
            response.headers[HEADER] = g.request_id
        return response
