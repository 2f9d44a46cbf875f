"""API keys from the command line: expiry, the list (never a secret), and the demo server
saying the same tokens on every start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adapters.clock import utc_now
from api.demo import DEMO_PARTNER_ID, load_demo, tokens_file
from api.http.app import create_app
from api.services import Services
from tests.e2e.helpers import CLI, call, cli, free_port


def listed(database_url: str, *args: str) -> list[dict[str, str]]:
    result = cli(database_url, "keys", "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_keys_expire_and_the_list_shows_every_key_but_no_secret(services: Services,
                                                                database_url: str) -> None:
    assert load_demo(services.app)
    made = cli(database_url, "keys", "create", "--role", "auditor", "--expires-in", "2h")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    key_id = made.stdout.split("key_id: ")[1].split()[0]
    partner = cli(database_url, "keys", "create", "--role", "partner", "--partner-id",
                  str(DEMO_PARTNER_ID)).stdout.strip().splitlines()[-1]
    revoked = cli(database_url, "keys", "create", "--role", "internal").stdout
    assert cli(database_url, "keys", "revoke", revoked.split("key_id: ")[1].split()[0]
               ).returncode == 0
    for bad in ("0d", "2w", "-1h", "3651d", "1.5h", "9999999d"):
        refused = cli(database_url, "keys", "create", "--role", "auditor", "--expires-in", bad)
        assert refused.returncode != 0, bad
        assert "Traceback" not in refused.stderr

    client = create_app({"TESTING": True, "FOLLOW": False}, services=services).test_client()
    assert client.get("/partners", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 200
    keys = listed(database_url)
    assert [k["status"] for k in keys] == ["active", "active", "revoked"]
    auditor = keys[0]
    assert (auditor["key_id"], auditor["role"], auditor["partner_id"]) == (key_id, "auditor",
                                                                           None)
    assert auditor["last_used_at"] is not None and keys[1]["last_used_at"] is None
    assert keys[1]["partner_id"] == str(DEMO_PARTNER_ID)
    text = cli(database_url, "keys", "list").stdout + json.dumps(keys)
    for secret in (token, partner):
        assert secret not in text and secret[3:20] not in text
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT token_hash FROM api_keys")
        for row in cursor.fetchall():
            assert row["token_hash"] not in text
    assert [k["key_id"] for k in listed(database_url, "--active")] == [key_id, keys[1]["key_id"]]

    # two hours on, the key is refused as if unknown, and listed as expired
    expires = datetime.fromisoformat(auditor["expires_at"])
    assert timedelta(hours=2) - (expires - utc_now()) < timedelta(minutes=2)
    assert services.keys.authenticate(token, expires) is None
    assert services.keys.authenticate(token, expires - timedelta(seconds=1)) is not None
    assert [k["status"] for k in services.keys.listing(expires)][:1] == ["expired"]


def test_a_key_is_noted_as_used_at_most_once_a_minute(services: Services) -> None:
    _, token = services.keys.create("auditor", None, utc_now())
    now = utc_now()
    for seconds in (0, 10, 59):
        assert services.keys.authenticate(token, now + timedelta(seconds=seconds))
    [row] = services.keys.listing(now)
    assert row["last_used_at"] == now.isoformat()
    services.keys.authenticate(token, now + timedelta(seconds=61))
    assert services.keys.listing(now)[0]["last_used_at"] == (now + timedelta(seconds=61)
                                                             ).isoformat()


def serve_once(database_url: str, cwd: Path) -> str:
    """Starts `serve --demo` in `cwd` until it answers, stops it, and returns what it said."""
    port = free_port()
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url, "PORT": str(port)}
    process = subprocess.Popen([*CLI, "serve", "--demo", "--workers", "1"], env=env, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if call(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    return out


def tokens_said(output: str) -> tuple[str, str]:
    found = re.search(r"internal token: (\S+)\s+partner token:\s+(\S+)", output)
    assert found is not None, output
    return found.group(1), found.group(2)


@pytest.mark.slow
def test_the_demo_server_says_the_same_tokens_on_every_start(database_url: str,
                                                             tmp_path: Path) -> None:
    first = tokens_said(serve_once(database_url, tmp_path))
    saved = (tmp_path / tokens_file(database_url)).read_text()
    assert first == tokens_said(serve_once(database_url, tmp_path))
    assert (tmp_path / tokens_file(database_url)).read_text() == saved
    assert oct((tmp_path / tokens_file(database_url)).stat().st_mode)[-3:] == "600"
    keys = listed(database_url)
    assert [(k["role"], k["status"]) for k in keys] == [("internal", "active"),
                                                        ("partner", "active")]
    # another store served from the same directory keeps its own file
    other = f"sqlite:///{tmp_path}/other.db"
    second = tokens_said(serve_once(other, tmp_path))
    assert second != first
    assert (tmp_path / tokens_file(database_url)).read_text() == saved
    assert tokens_file(other) != tokens_file(database_url)
    # tokens that stopped working (revoked) are replaced, in the same file
    assert cli(database_url, "keys", "revoke", keys[0]["key_id"]).returncode == 0
    third = tokens_said(serve_once(database_url, tmp_path))
    assert third[0] != first[0]
    assert third[0] in (tmp_path / tokens_file(database_url)).read_text()
