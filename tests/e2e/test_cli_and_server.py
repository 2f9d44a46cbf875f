"""The command line and the real server: keys, `serve` under gunicorn, background following."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.settings import Settings
from api.bootstrap import build_services
from api.demo import tokens_file
from api.http.app import create_app
from api.services import Services
from domain import commands as c
from domain.deals import Deal
from domain.money import Money
from tests.e2e.helpers import CLI, call, cli, free_port
from tests.factories import terms


def test_keys_create_prints_the_token_last_and_it_authenticates(
    services: Services, database_url: str
) -> None:
    result = cli(database_url, "keys", "create", "--role", "auditor")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert services.keys.authenticate(token).role == "auditor"  # type: ignore[union-attr]


def test_partner_keys_need_an_existing_partner(services: Services, database_url: str) -> None:
    missing = cli(database_url, "keys", "create", "--role", "partner", "--partner-id",
                  str(uuid.uuid4()))
    assert missing.returncode != 0
    assert "No partner" in missing.stderr
    no_id = cli(database_url, "keys", "create", "--role", "partner")
    assert no_id.returncode != 0
    pid = uuid.uuid4()
    services.app.execute(c.ApplyPartner(None, pid, "A", "a@cli.example", "A", "agency", "DE"))
    made = cli(database_url, "keys", "create", "--role", "partner", "--partner-id", str(pid))
    assert made.returncode == 0, made.stderr
    principal = services.keys.authenticate(made.stdout.strip().splitlines()[-1])
    assert principal is not None
    assert principal.partner_id == pid


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """`partnerledger serve --demo --workers 2` on a free port; yields (base url, token)."""
    port = free_port()
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url, "PORT": str(port)}
    process = subprocess.Popen([*CLI, "serve", "--demo", "--workers", "2"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if call(f"{base}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the server did not come up")
    tokens = (tmp_path / tokens_file(database_url)).read_text()
    internal = tokens.split("INTERNAL_TOKEN=")[1].split()[0]
    yield base, internal, process
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
def test_serve_loads_the_demo_and_every_worker_reads_its_own_writes(
    server: tuple[str, str, subprocess.Popen[str]],
) -> None:
    base, token, _ = server
    status, listing = call(f"{base}/partners", token)
    assert status == 200
    assert len(listing["items"]) == 3
    plan_id = listing["items"][0]["plan_id"]
    # many requests spread over both workers: each command's read-back must reflect it
    for n in range(20):
        status, created = call(f"{base}/partners", token, {
            "name": f"W{n}", "email": f"w{n}@workers.example", "company": "W", "type": "agency",
            "country": "SE"})
        assert status == 201, created
        status, read = call(f"{base}/partners/{created['id']}?min_position={created['position']}",
                            token)
        assert (status, read["status"]) == (200, "applied")
        status, approved = call(f"{base}/partners/{created['id']}/approve", token,
                                {"plan_id": plan_id})
        assert (status, approved["status"]) == (200, "active")
        status, read = call(f"{base}/partners/{created['id']}", token)
        assert read["status"] == "active"
    status, listing = call(f"{base}/partners?status=active&limit=100", token)
    assert len(listing["items"]) == 22


def test_the_background_follower_picks_up_writes_from_other_processes(database_url: str) -> None:
    follower = build_services(Settings(database_url=database_url, follow_interval=0.05))
    writer = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        app = create_app({"TESTING": True}, services=follower)  # FOLLOW on: starts the thread
        assert follower.follower is not None
        outcome = writer.app.execute(c.ApplyPartner(None, uuid.uuid4(), "F", "f@follow.example",
                                                    "F", "agency", "IT"))
        runner = follower.projections.get("partner_directory")
        deadline = time.monotonic() + 10
        while runner.position() < (outcome.position or 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner.position() >= (outcome.position or 0)
        assert app is not None
    finally:
        writer.close()
        follower.close()


def test_deals_expire_records_every_lapsed_registration(
    services: Services, database_url: str
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=120)
    plan, pid = uuid.uuid4(), uuid.uuid4()
    services.app.execute_batch([
        c.CreatePlan(long_ago, plan, terms()),
        c.ApplyPartner(long_ago, pid, "P", "p@expire.example", "P", "agency", "DE"),
        c.ApprovePartner(long_ago, pid, plan),
    ])
    lapsed = [uuid.uuid4() for _ in range(3)]
    fresh = uuid.uuid4()
    services.app.execute_batch([
        *[c.RegisterDeal(long_ago, d, pid, "C", f"{d.hex}.example", Money.parse("1", "USD"))
          for d in lapsed],
        c.RegisterDeal(None, fresh, pid, "C", "fresh.example", Money.parse("1", "USD")),
    ])
    result = cli(database_url, "deals", "expire")
    assert result.returncode == 0, result.stderr
    assert "expired 3 deal(s)" in result.stdout
    for deal_id in lapsed:
        assert services.app.get_aggregate(Deal, deal_id).status == "expired"
    assert services.app.get_aggregate(Deal, fresh).status == "registered"
    assert "expired 0 deal(s)" in cli(database_url, "deals", "expire").stdout
