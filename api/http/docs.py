"""`/docs`: the OpenAPI document as a browsable page (Swagger UI), its scripts and styles
served from the installed `swagger-ui-bundle` package, so it works offline."""

from __future__ import annotations

from flask import Flask, Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"
# the files the page loads; nothing else of the package is served
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png"})


def asset(name: str) -> Response:
    """One of the page's files, cached for a day (the package's version pins them)."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)


def init_app(app: Flask) -> None:
    """Serves the page's files."""
    app.add_url_rule(f"{ASSETS_URL}<string(maxlength=64):name>", endpoint="docs_assets",
                     view_func=asset, methods=["GET"])
