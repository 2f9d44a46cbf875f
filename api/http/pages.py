"""Pages served by the app: `/portal`, the partner portal (one HTML page, its script and its
styles, shipped inside this package so it works offline), over the public API only."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, abort, send_from_directory

PORTAL = Path(__file__).parent / "portal"
PORTAL_ASSETS = frozenset({"portal.js", "portal.css"})
# The page runs only its own script and styles and talks only to this API.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
          "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _guarded(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def portal() -> Response:
    """The portal page (no key needed to load it; every figure needs the partner's key)."""
    return _guarded(send_from_directory(PORTAL, "portal.html", max_age=0))


def portal_asset(name: str) -> Response:
    """The page's script or styles."""
    if name not in PORTAL_ASSETS:
        abort(404)
    return _guarded(send_from_directory(PORTAL, name, max_age=300))


def no_icon() -> Response:
    """Browsers ask for `/favicon.ico` on their own (after a download, say); the answer is
    that there is none, without a 404 logged in their console or ours."""
    response = Response(status=204)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def init_app(app: Flask) -> None:
    """Serves the portal."""
    app.add_url_rule("/favicon.ico", endpoint="favicon", view_func=no_icon, methods=["GET"])
    app.add_url_rule("/portal", endpoint="portal", view_func=portal, methods=["GET"])
    app.add_url_rule("/portal/assets/<string(maxlength=64):name>", endpoint="portal_assets",
                     view_func=portal_asset, methods=["GET"])
