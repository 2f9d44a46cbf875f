"""`partnerledger publish` against the real broker: every stored event once, in order."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters import kafka
from adapters.settings import Settings
from api.event_documents import event_id
from api.kafka.messages import decode
from api.kafka.relay import Relay, relayed_position
from api.services import Services
from tests.kafka_broker import Broker, read_topic, settings_env
from tests.kafka_scenario import Scenario

pytestmark = pytest.mark.kafka


def record_history(svc: Services, payments: int, seed: int = 1) -> Scenario:
    """A program's history written straight through the application, phase by phase."""
    scenario = Scenario(partners=6, payments=payments, seed=seed)
    for phase in scenario.phases:
        commands = [decode(m.encode()).command for m in phase]
        svc.app.execute_batch(commands)
    return scenario


def relayed(svc: Services, broker: Broker) -> list[Any]:
    """What the events topic holds, once every stored event should be on it."""
    return read_topic(broker, svc.settings.events_topic, expect=svc.app.position())


def check_every_event_once_in_order(svc: Services, records: list[Any]) -> None:
    stored = svc.app.recorder.select_notifications(1, 10**7)
    documents = [json.loads(r.value) for r in records]
    assert sorted(d["position"] for d in documents) == [n.id for n in stored]
    assert len({d["event_id"] for d in documents}) == len(stored)
    by_partition: dict[int, list[int]] = {}
    for record, document in zip(records, documents, strict=True):
        by_partition.setdefault(record.partition, []).append(document["position"])
        assert record.key.decode() != ""
    for positions in by_partition.values():
        assert positions == sorted(positions)
    assert len(by_partition) > 1


def test_every_event_is_relayed_once_in_order_keyed_by_partner(
    svc: Services, broker: Broker
) -> None:
    scenario = record_history(svc, payments=300)
    relay = Relay(svc, kafka.producer(svc.settings, "test-relay"), kafka.tail_reader(svc.settings),
                  batch_size=200)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while relay.position() < svc.app.position():
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(30)
    records = relayed(svc, broker)
    check_every_event_once_in_order(svc, records)

    documents = [json.loads(r.value) for r in records]
    partner = str(scenario.partner_ids[1])
    mine = [(r, d) for r, d in zip(records, documents, strict=True) if r.key.decode() == partner]
    types = {d["type"] for _, d in mine}
    assert {"Partner.Applied", "PartnerAccount.Accrued", "Payment.Received"} <= types, types
    assert len({r.partition for r, _ in mine}) == 1
    payment = next(d for _, d in mine if d["type"] == "Payment.Received")
    assert set(payment) == {"event_id", "type", "stream_id", "version", "position",
                            "occurred_at", "recorded_at", "data"}
    assert payment["event_id"] == event_id(uuid.UUID(payment["stream_id"]), payment["version"])
    assert payment["occurred_at"].startswith("2026-01-0")
    amounts = [v for v in payment["data"].values() if isinstance(v, dict) and "currency" in v]
    assert amounts and all(isinstance(a["amount"], str) for a in amounts)


def test_a_relay_killed_at_random_points_sends_every_event_exactly_once(
    svc: Services, settings: Settings, broker: Broker, tmp_path: Path
) -> None:
    record_history(svc, payments=1500, seed=2)
    env = {**os.environ, **settings_env(settings)}
    command = [sys.executable, "-m", "api.cli", "--log-level", "INFO", "publish",
               "--batch-size", "50"]
    log = tmp_path / "publish.log"
    rng = random.Random(9)
    started: list[subprocess.Popen[bytes]] = []
    try:
        relay_until_killed(svc, command, env, log, rng, started)
        runs = log.read_text().count("relaying to")
        with log.open("ab") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        deadline = time.monotonic() + 90
        while (relayed_position(svc, settings.events_topic) < svc.app.position()
               or log.read_text().count("relaying to") == runs):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        for leftover in started:
            if leftover.poll() is None:
                leftover.kill()
                leftover.wait(10)
    check_every_event_once_in_order(svc, relayed(svc, broker))


def relay_until_killed(svc: Services, command: list[str], env: dict[str, str],
                       log: Path, rng: random.Random,
                       started: list[subprocess.Popen[bytes]]) -> None:
    """Starts the relay and SIGKILLs it soon after it makes progress, several times."""
    kills = 0
    topic = svc.settings.events_topic
    while kills < 6 and relayed_position(svc, topic) < svc.app.position():
        with log.open("ab") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        before = relayed_position(svc, topic)
        deadline = time.monotonic() + 60
        while relayed_position(svc, topic) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.15))
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kills += 1
    assert kills >= 3, "the relay finished before it was killed often enough"
