"""Fixtures of the HTTP tests: the Flask app over the fresh store, and a client with tokens."""

from __future__ import annotations

import pytest
from flask import Flask

from adapters.clock import utc_now
from api.http.app import create_app
from api.services import Services
from tests.e2e.helpers import Api


@pytest.fixture
def flask_app(services: Services) -> Flask:
    """The Flask app over those services."""
    return create_app({"TESTING": True, "FOLLOW": False}, services=services)


@pytest.fixture
def api(flask_app: Flask, services: Services) -> Api:
    """HTTP access with an internal and an auditor token."""
    _, internal = services.keys.create("internal", None, utc_now())
    _, auditor = services.keys.create("auditor", None, utc_now())
    return Api(flask_app.test_client(), services, internal, auditor)
