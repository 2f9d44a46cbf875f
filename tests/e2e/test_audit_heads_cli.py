"""Signing tree heads from the command line: a key made by `audit keygen`, heads signed by
`audit digest` and published to Kafka with `--publish`, listed by `audit heads`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from api.demo import load_demo
from api.services import Services
from tests.e2e.helpers import free_port
from tests.kafka_broker import Broker, read_topic
from tools.verify_export import ed25519_verify, head_message


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "--log-level", "WARNING", *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=90, check=False)


@pytest.fixture
def signer(services: Services, database_url: str, tmp_path: Path) -> dict[str, str]:
    """A store with the demo in it and a key made by `audit keygen`."""
    assert load_demo(services.app)
    key = tmp_path / "audit.key"
    made = run({}, "audit", "keygen", "--out", str(key))
    assert made.returncode == 0, made.stderr
    assert oct(key.stat().st_mode)[-3:] == "600"
    public = made.stdout.split("public key: ")[1].split()[0]
    again = run({}, "audit", "keygen", "--out", str(key))
    assert again.returncode == 1 and "not overwriting" in again.stderr
    return {"PARTNERLEDGER_DATABASE_URL": database_url,
            "PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE": str(key), "public": public}


def test_digest_signs_the_log_head_and_publishes_it(signer: dict[str, str], broker: Broker,
                                                    services: Services) -> None:
    topic = f"heads-{uuid.uuid4().hex[:8]}"
    env = {**signer, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "PARTNERLEDGER_HEADS_TOPIC": topic}
    first = run(env, "audit", "digest", "--publish")
    assert first.returncode == 0, first.stderr
    head = json.loads(first.stdout)
    assert head["tree_size"] == services.app.position()
    assert head["public_key"] == signer["public"]
    assert ed25519_verify(bytes.fromhex(head["public_key"]), head_message(head),
                          bytes.fromhex(head["signature"]))
    assert f"published to {topic}:0:0" in first.stderr
    records = read_topic(broker, topic, expect=1)
    assert [(r.key.decode(), json.loads(r.value)) for r in records] == [
        (signer["public"], head)]
    # no new events: the same head again, recorded once
    same = run(env, "audit", "digest")
    assert same.returncode == 0 and json.loads(same.stdout) == head
    listed = run(env, "audit", "heads")
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [head]


def test_a_head_that_cannot_be_published_is_still_recorded(signer: dict[str, str]) -> None:
    env = {**signer, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    failed = run(env, "audit", "digest", "--publish")
    assert failed.returncode == 1
    assert "is recorded but was not published: no Kafka broker reachable" in failed.stderr
    assert "Traceback" not in failed.stderr
    listed = run(env, "audit", "heads")
    assert len(listed.stdout.splitlines()) == 1


def test_digest_without_a_key_says_how_to_make_one(signer: dict[str, str]) -> None:
    env = {**signer, "PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE": ""}
    refused = run(env, "audit", "digest")
    assert refused.returncode == 1 and "audit keygen" in refused.stderr
    bad = run({**signer, "PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE": "/nonexistent/key"},
              "audit", "digest")
    assert bad.returncode == 1 and "No such file" in bad.stderr
