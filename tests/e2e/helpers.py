"""What end-to-end tests share: an HTTP client holding a token per role, money and business
times on the wire, answers checked and read, plans and partners made over HTTP, and the
command line and servers run as processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from adapters.clock import utc_now
from api.services import Services
from tests.factories import partner_body, plan_body

# One instant per test session, so the times a test writes keep their distances exactly.
NOW = datetime.now(UTC)


def at(days_ago: float) -> str:
    """A business time `days_ago` days before NOW, on the wire."""
    return (NOW - timedelta(days=days_ago)).isoformat()


def usd(amount: str, currency: str = "USD") -> dict[str, str]:
    """Money on the wire (in dollars, unless told otherwise)."""
    return {"amount": amount, "currency": currency}


# answers ---------------------------------------------------------------------------------


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    """The JSON of an answer that must have `status`."""
    assert response.status_code == status, response.get_json()
    return dict(response.get_json())


def problem_type(response: Any) -> str:
    """The last segment of a problem+json answer's `type`."""
    assert response.mimetype == "application/problem+json"
    return str(response.get_json()["type"]).rsplit("/", 1)[-1]


@dataclass
class Api:
    """A test client that knows the tokens of each role."""

    client: FlaskClient
    services: Services
    internal: str
    auditor: str

    def headers(self, token: str | None, **extra: str) -> dict[str, str]:
        headers = {k.replace("_", "-"): v for k, v in extra.items()}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def post(self, path: str, body: object = None, token: str | None = "internal",
             **headers: str) -> object:
        token = self.internal if token == "internal" else token
        return self.client.post(path, json=body, headers=self.headers(token, **headers))

    def get(self, path: str, token: str | None = "internal", **headers: str) -> object:
        token = self.internal if token == "internal" else token
        return self.client.get(path, headers=self.headers(token, **headers))

    def partner_token(self, partner_id: str) -> str:
        _, token = self.services.keys.create("partner", uuid.UUID(partner_id), utc_now())
        return token


# records over HTTP -----------------------------------------------------------------------


def create_plan(api: Api, **overrides: Any) -> str:
    """A new plan's id; `overrides` change the factory's plan body."""
    response = api.post("/plans", plan_body(**overrides))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def apply(api: Api, **overrides: Any) -> dict[str, Any]:
    """A new partner's application, as answered."""
    response = api.post("/partners", partner_body(**overrides))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def active_partner(api: Api, plan: str, occurred_at: str) -> str:
    """A partner that applied and was approved onto `plan`, both at `occurred_at`."""
    pid = str(apply(api, occurred_at=occurred_at)["id"])
    ok(api.post(f"/partners/{pid}/approve", {"plan_id": plan, "occurred_at": occurred_at}))
    return pid


def deal_body(pid: str, domain: str = "acme.example", **extra: Any) -> dict[str, Any]:
    """A deal registration for `pid`: Acme at `domain`, estimated at 100.00."""
    return {"partner_id": pid, "customer": {"name": "Acme", "domain": domain},
            "estimated_value": usd("100.00"), **extra}


# processes -------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "api.cli", "--log-level", "WARNING"]


def cli(database_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`partnerledger <args>` on the store at `database_url`, to completion."""
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url}
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, cwd=cwd,
                          timeout=60, check=False)


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, token: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A GET (or, with a body, a POST) to a running server: the status and the JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Polls `condition` until it holds; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
