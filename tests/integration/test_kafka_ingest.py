"""Kafka ingestion against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition

from adapters import kafka
from adapters.settings import Settings
from api.bootstrap import build_services
from api.http.app import create_app
from api.kafka.ingest import Ingestor
from api.kafka.messages import decode
from api.kafka.records import Received
from api.services import Services
from domain import commands as c
from domain.billing import Payment
from domain.handlers.registry import HANDLERS, Handling
from domain.money import Money
from tests.conftest import count_events
from tests.kafka_broker import (
    PRODUCED,
    Broker,
    Envelope,
    end_offsets,
    produce,
    read_topic,
    settings_env,
)
from tests.kafka_scenario import Scenario, at, http_request, usd

pytestmark = pytest.mark.kafka


@contextmanager
def worker(svc: Services, settings: Settings | None = None) -> Iterator[Ingestor]:
    """An ingestion worker in a thread, stopped (after its batch) on exit."""
    settings = settings or svc.settings
    consumer = kafka.consumer(settings)
    producer = kafka.producer(settings, "test-dead-letters")
    ingestor = Ingestor(svc, consumer, producer)
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield ingestor
    finally:
        stop.set()
        thread.join(30)
        consumer.close(autocommit=False)
        producer.close()
    assert not thread.is_alive()


def wait_applied(svc: Services, broker: Broker, timeout: float = 60.0) -> None:
    """Until the stored offsets reach the end of every partition of the inbound topic."""
    topic = svc.settings.inbound_topic
    ends = end_offsets(topic)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = svc.inbox.offsets(topic)
        if all(stored.get(p) == o for p, o in ends.items()):
            return
        time.sleep(0.1)
    raise AssertionError(f"not applied in {timeout}s: stored {svc.inbox.offsets(topic)}, "
                         f"end {ends}")


def dead_letters_published(svc: Services, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while svc.inbox.unpublished(svc.settings.inbound_topic, list(range(8))):
        assert time.monotonic() < deadline, "dead letters not published"
        time.sleep(0.1)


def ingest_phases(svc: Services, broker: Broker, phases: list[list[Envelope]],
                  settings: Settings | None = None) -> None:
    with worker(svc, settings):
        for phase in phases:
            produce(broker, svc.settings.inbound_topic, phase)
            wait_applied(svc, broker)
        dead_letters_published(svc)


def figures(svc: Services, partner_ids: list[uuid.UUID], as_of: str) -> dict[str, Any]:
    """Every partner's balances and standing, read over HTTP."""
    svc.projections.catch_up()
    client = create_app({"TESTING": True, "FOLLOW": False}, services=svc).test_client()
    _, token = svc.keys.create("auditor", None, svc.app.clock())
    headers = {"Authorization": f"Bearer {token}"}
    out = {}
    for pid in partner_ids:
        balances = client.get(f"/partners/{pid}/balances?as_of={as_of.replace('+', '%2B')}",
                              headers=headers).get_json()
        standing = client.get(f"/partners/{pid}/standing", headers=headers).get_json()
        for body in (balances, standing):
            body.pop("position", None)
        balances.pop("known_at")  # now, by default
        out[str(pid)] = {"balances": balances, "standing": standing}
    return out


def second_store(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/http.db"
    return database_url.replace("schema=", "schema=h")


def test_a_mixed_stream_gives_the_same_figures_as_the_same_commands_over_http(
    svc: Services, broker: Broker, database_url: str, tmp_path: Path
) -> None:
    scenario = Scenario(partners=12, payments=700)
    messages = [m for phase in scenario.phases for m in phase]
    batch = 120  # small batches, so the stream spans many of them
    assert len(messages) > 6 * batch
    ingest_phases(svc, broker, scenario.phases, replace(svc.settings, ingest_batch_size=batch))
    over_kafka = figures(svc, scenario.partner_ids, scenario.as_of)

    http_url = second_store(database_url, tmp_path)
    http_svc = build_services(Settings(database_url=http_url, follow_interval=0))
    try:
        client = create_app({"TESTING": True, "FOLLOW": False}, services=http_svc).test_client()
        _, token = http_svc.keys.create("internal", None, http_svc.app.clock())
        statuses: dict[int, int] = {}
        for message in messages:
            path, body = http_request(message)
            status = client.post(path, json=body,
                                 headers={"Authorization": f"Bearer {token}"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
        over_http = figures(http_svc, scenario.partner_ids, scenario.as_of)
        http_events = count_events(http_svc)
    finally:
        if not database_url.startswith("sqlite"):
            from tests.conftest import POSTGRES_URL, drop_schema  # noqa: PLC0415
            assert POSTGRES_URL
            drop_schema(POSTGRES_URL, http_url.split("schema=")[1])
        http_svc.close()

    for pid, expected in over_http.items():
        assert over_kafka[pid] == expected, pid
    # the same commands were refused on both sides, and the same events written
    assert count_events(svc) == http_events
    refused = sum(n for status, n in statuses.items() if status >= 400)
    dead = read_topic(broker, svc.settings.dlq_topic, expect=refused)
    assert len(dead) == refused > 0  # insufficient points, the suspended partner's payout
    paid = [f for f in over_kafka.values() if f["balances"]["balances"]]
    assert paid, "the scenario earns money"


def test_duplicates_and_replays_change_nothing(svc: Services, broker: Broker) -> None:
    scenario = Scenario(partners=3, payments=200, seed=11)
    ingest_phases(svc, broker, scenario.phases[:2])
    events = count_events(svc)
    before = figures(svc, scenario.partner_ids, at(10_000))
    dead_before = read_topic(broker, svc.settings.dlq_topic)

    # the same messages again, some re-serialised with another key order and spacing
    again: list[Envelope | tuple[str, bytes]] = []
    for n, message in enumerate(scenario.phases[1]):
        if n % 2:
            document = json.loads(message.encode())
            again.append((message.key, json.dumps(document, sort_keys=True, indent=1).encode()))
        else:
            again.append(message)
    with worker(svc) as ingestor:
        produce(broker, svc.settings.inbound_topic, again)
        wait_applied(svc, broker)
    assert ingestor.counts.duplicates == len(again)
    assert ingestor.counts.applied == 0
    # a replay: another group reads the whole topic from the beginning into the same store
    replay = replace(svc.settings, consumer_group=f"{svc.settings.consumer_group}-replay")
    replay_svc = build_services(replay)
    try:
        with worker(replay_svc) as replayer:
            wait_applied(replay_svc, broker)
        assert replayer.counts.applied == 0
        assert replayer.counts.duplicates == 2 * len(scenario.phases[1]) + 1
    finally:
        replay_svc.close()
    assert count_events(svc) == events
    assert figures(svc, scenario.partner_ids, at(10_000)) == before
    # refusals are dead-lettered once, not once per delivery
    assert read_topic(broker, svc.settings.dlq_topic) == dead_before
    # every event the worker wrote names the message that asked for it
    with svc.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT p.source AS source, m.message_id AS message_id, "
                       "m.partition_no AS partition_no, m.message_offset AS message_offset "
                       "FROM provenance p JOIN inbound_messages m ON m.message_id = "
                       "json_extract(p.source, '$.message_id')" if svc.db.dialect == "sqlite"
                       else "SELECT p.source AS source, m.message_id AS message_id, "
                       "m.partition_no AS partition_no, m.message_offset AS message_offset "
                       "FROM provenance p JOIN inbound_messages m ON m.message_id = "
                       "(p.source::json ->> 'message_id')")
        rows = cursor.fetchall()
    assert len(rows) == events
    for row in rows:
        source = json.loads(row["source"])
        assert source["via"] == "kafka" and source["topic"] == svc.settings.inbound_topic
        assert (source["partition"], source["offset"]) == (row["partition_no"],
                                                          row["message_offset"])


def test_bad_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    svc: Services, broker: Broker
) -> None:
    scenario = Scenario(partners=1, payments=5, seed=3)
    ingest_phases(svc, broker, scenario.phases[:2])
    partner = str(scenario.partner_ids[0])
    customer = scenario.customers[scenario.partner_ids[0]][0]
    reused = Envelope("payment.received", {"id": "in_0", "customer_id": customer,
                                           "amount": usd("1.00")}, at(5000), partner,
                      message_id=scenario.phases[1][-8].message_id)
    bad: list[Envelope | tuple[str, bytes]] = [
        (partner, b"\x00\x01 not json"),
        (partner, b'{"message_id": "x"}'),
        Envelope("partner.exploded", {}, at(5001), partner),
        Envelope("payment.received", {"id": "in_bad", "customer_id": customer,
                                      "amount": {"amount": 1.5, "currency": "USD"}},
                 at(5002), partner),
        Envelope("refund.issued", {"id": "re_big", "payment_id": "in_0",
                                   "amount": usd("1000000.00")}, at(5003), partner),
        Envelope("partner.approved", {"partner_id": str(uuid.uuid4()),
                                      "plan_id": str(scenario.plan_id)}, at(5004), partner),
        reused,
        Envelope("payment.received", {"id": "in_after", "customer_id": customer,
                                      "amount": usd("10.00")}, at(5005), partner),
    ]
    events = count_events(svc)
    with worker(svc) as ingestor:
        produce(broker, svc.settings.inbound_topic, bad)
        wait_applied(svc, broker)
        dead_letters_published(svc)
    assert ingestor.counts.applied == 1  # the good payment after the bad ones
    assert count_events(svc) == events + 2  # its payment and its accrual
    dead = read_topic(broker, svc.settings.dlq_topic, expect=7)
    reasons = [dict(r.headers)["reason"].decode() for r in dead]
    assert reasons == ["undecodable", "invalid", "unknown-type", "invalid", "refused", "refused",
                       "conflicting-duplicate"]
    assert [r.value for r in dead] == [m[1] if isinstance(m, tuple) else m.encode()
                                       for m in bad[:7]]
    headers = dict(dead[4].headers)
    assert headers["detail"].decode().startswith("refund-exceeds-payment: Payment in_0 has")
    assert headers["source-topic"].decode() == svc.settings.inbound_topic
    assert int(headers["source-offset"]) >= 0
    assert dead[5].key == partner.encode()
    assert dict(dead[5].headers)["detail"].decode().startswith("not-found")


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_env(settings)}
    return subprocess.run([sys.executable, "-m", "api.cli", "--log-level", "WARNING", *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_send_checks_and_publishes_and_dead_letters_lists_refusals(
    svc: Services, broker: Broker
) -> None:
    scenario = Scenario(partners=1, payments=1, seed=4)
    ingest_phases(svc, broker, scenario.phases[:2])
    partner = str(scenario.partner_ids[0])
    customer = scenario.customers[scenario.partner_ids[0]][0]
    settings = svc.settings
    refused = cli(settings, "send", "payment.received", json.dumps(
        {"id": "in_x", "customer_id": customer, "amount": {"amount": 1.5, "currency": "USD"}}))
    assert refused.returncode == 1
    assert "invalid" in refused.stderr and "Not a valid string" in refused.stderr
    sent = [cli(settings, "send", "payment.received", json.dumps(
                {"id": "in_x", "customer_id": customer, "amount": usd("40.00")}),
                "--key", partner, "--occurred-at", at(900)),
            cli(settings, "send", "refund.issued", json.dumps(
                {"id": "re_x", "payment_id": "in_x", "amount": usd("41.00")}),
                "--key", partner)]
    assert [r.returncode for r in sent] == [0, 0], [r.stderr for r in sent]
    assert all(r.stdout.startswith("sent ") for r in sent)
    # what `send` put on the topic is counted like everything else the tests produce
    for line in (r.stdout for r in sent):
        _, partition, offset = line.split()[-1].rsplit(":", 2)
        ends = PRODUCED.setdefault(settings.inbound_topic, {})
        ends[int(partition)] = max(ends.get(int(partition), 0), int(offset) + 1)
    with worker(svc):
        wait_applied(svc, broker)
        dead_letters_published(svc)
    listed = cli(settings, "dead-letters").stdout
    assert "refused" in listed and "refund-exceeds-payment" in listed and "published" in listed
    assert svc.app.get_aggregate(Payment, Payment.id_for("in_x")).amount == Money.parse(
        "40.00", "USD")


def test_a_worker_that_lost_its_partition_applies_nothing_the_new_owner_applied(
    svc: Services, broker: Broker
) -> None:
    settings = svc.settings
    tp = TopicPartition(settings.inbound_topic, 0)
    applications = [Envelope("partner.applied", {
        "id": str(uuid.uuid4()), "name": "P", "email": f"p{n}-{uuid.uuid4().hex[:6]}@p.example",
        "company": "C", "type": "referral", "country": "US"}, at(n), "k") for n in range(10)]
    records = [Received(tp, n, b"k", m.encode(), message=decode(m.encode()))
               for n, m in enumerate(applications)]
    other = build_services(settings)  # the new owner, in another process
    owners = []
    try:
        for services in (svc, other):
            ingestor = Ingestor(services, kafka.consumer(settings, group_id=None),
                                kafka.producer(settings, "test"))
            ingestor.consumer.assign([tp])
            ingestor.next_offsets[tp] = None  # both believe they start the partition
            owners.append(ingestor)
        stale, new_owner = owners
        new_owner.apply_chunk(records[:5])
        assert svc.inbox.offsets(settings.inbound_topic) == {0: 5}
        events = count_events(svc)

        stale.apply_chunk(records[:5])  # the same records: refused by the offsets it expected
        assert count_events(svc) == events
        assert stale.counts.applied == 0 and stale.next_offsets[tp] == 5
        stale.apply_chunk(records)  # what is left after the new owner's offsets is applied
        assert stale.counts.applied == 5
        assert svc.inbox.offsets(settings.inbound_topic) == {0: 10}
        assert count_events(svc) == events + 2 * 5  # a partner and an email claim each
    finally:
        for ingestor in owners:
            ingestor.consumer.close(autocommit=False)
            ingestor.producer.close()
        other.close()


def test_a_message_that_trips_a_bug_is_set_aside_and_the_rest_of_its_batch_applies(
    svc: Services, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = Scenario(partners=2, payments=1, seed=8)
    ingest_phases(svc, broker, scenario.phases[:2])
    partner = str(scenario.partner_ids[1])  # the first one is suspended by the scenario
    customer = scenario.customers[scenario.partner_ids[1]][0]

    def broken(command: c.RedeemPoints, *_: Any) -> None:
        raise KeyError("a bug in a handler")  # what no rule refuses: a defect

    monkeypatch.setitem(HANDLERS, c.RedeemPoints,
                        Handling(broken, HANDLERS[c.RedeemPoints].loads))
    stream = [
        Envelope("payment.received", {"id": "in_b1", "customer_id": customer,
                                      "amount": usd("10.00")}, at(7000), partner),
        Envelope("points.redeemed", {"id": str(uuid.uuid4()), "partner_id": partner,
                                     "points": 1, "reward": "mug"}, at(7001), partner),
        Envelope("payment.received", {"id": "in_b2", "customer_id": customer,
                                      "amount": usd("20.00")}, at(7002), partner),
    ]
    with worker(svc) as ingestor:
        produce(broker, svc.settings.inbound_topic, stream)
        wait_applied(svc, broker)
        dead_letters_published(svc)
    assert ingestor.counts.applied == 2
    for payment in ("in_b1", "in_b2"):
        assert svc.app.get_aggregate(Payment, Payment.id_for(payment)).commission is not None
    dead = read_topic(broker, svc.settings.dlq_topic, expect=1)
    assert [dict(r.headers)["reason"] for r in dead] == [b"error"]
    assert dead[0].value == stream[1].encode()
