"""The Flask application factory."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from api.http import auth, docs, errors, limits, pages, request_ids
from api.http.metrics import Metrics
from api.http.routes import (
    adjustments,
    audit,
    billing,
    collections,
    deals,
    ops,
    partners,
    payouts,
    plans,
    program,
    referrals,
    royalties,
    standing,
)
from api.http.schemas.common import ProblemSchema
from api.services import Services

PROBLEM_CONTENT_TYPE = "application/problem+json"


class PartnerLedgerApi(Api):
    """flask-smorest's Api with problem+json as the documented error shape."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        """The library's shared error responses, documented under the media type they are
        sent with (it documents them as application/json)."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def create_app(test_config: dict[str, Any] | None = None, *, services: Services) -> Flask:
    """Builds the app over `services`, which api/bootstrap.py composes (tests pass theirs)."""
    app = Flask("partnerledger")
    app.config.update(
        API_TITLE="partnerledger",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # /docs: Swagger UI from the installed swagger-ui-bundle package, no CDN
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=docs.ASSETS_URL,
        OPENAPI_SWAGGER_UI_CONFIG={"persistAuthorization": False, "tryItOutEnabled": False},
        JSON_SORT_KEYS=False,
        FOLLOW=True,
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"bearer": []}],
            "info": {
                "description": "System of record for partner programs. Errors are "
                "application/problem+json; money is {amount: decimal string, currency}.",
            },
        },
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["partnerledger"] = services
    if app.config["FOLLOW"]:
        services.start_following()

    metrics = Metrics()
    app.extensions["partnerledger_metrics"] = metrics
    metrics.init_app(app)
    request_ids.init_app(app)
    auth.init_app(app)
    docs.init_app(app)
    pages.init_app(app)
    limits.init_app(app)

    api = PartnerLedgerApi(app)
    for blueprint in (ops.blp, plans.blp, partners.blp, deals.blp, referrals.blp, billing.blp,
                      standing.blp, payouts.blp, royalties.blp, program.blp, adjustments.blp,
                      collections.blp, audit.blp):
        api.register_blueprint(blueprint)
    errors.init_app(app)
    return app
