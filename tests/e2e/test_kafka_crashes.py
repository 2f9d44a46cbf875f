"""`partnerledger ingest` processes killed with SIGKILL at random points, and two workers in
one group: every message applied exactly once, checked against hand-computed balances."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from adapters.audit_chain import AuditChain
from adapters.settings import Settings
from api.bootstrap import build_services
from api.services import Services
from projections.ledger import balances
from tests.conftest import count_events
from tests.e2e.helpers import wait_until
from tests.factories import plan_body
from tests.kafka_broker import (
    Broker,
    Envelope,
    end_offsets,
    kafka_settings,
    produce,
    settings_env,
)
from tests.kafka_scenario import START, at, usd

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
CLI = [sys.executable, "-m", "api.cli", "--log-level", "INFO", "ingest"]
RATE = Decimal("0.20")


class Program:
    """A plan, partners with referred customers, and payments with their expected commission."""

    def __init__(self, partners: int, payments: int, seed: int) -> None:
        rng = random.Random(seed)
        self.plan = uuid.uuid4()
        self.setup: list[Envelope] = [Envelope(
            "plan.created", {**plan_body(tiers=[], hold_days=0, referral_rate=str(RATE)),
                             "id": str(self.plan)}, at(0), str(self.plan))]
        self.partners = [uuid.uuid4() for _ in range(partners)]
        self.expected = {p: Decimal("0.00") for p in self.partners}
        for n, pid in enumerate(self.partners):
            key, referral = str(pid), str(uuid.uuid4())
            self.setup += [
                Envelope("partner.applied", {"id": key, "name": "P", "email": f"{key}@p.example",
                                             "company": "C", "type": "referral",
                                             "country": "US"}, at(1), key),
                Envelope("partner.approved", {"partner_id": key, "plan_id": str(self.plan)},
                         at(2), key),
                Envelope("referral.recorded", {"id": referral, "partner_id": key,
                                               "lead": {"email": f"l{n}@lead.example",
                                                        "company": "L"}}, at(3), key),
                Envelope("referral.converted", {"referral_id": referral,
                                                "customer_id": f"c-{key}"}, at(4), key),
            ]
        self.payments: list[Envelope] = []
        for n in range(payments):
            pid = rng.choice(self.partners)
            amount = Decimal(rng.randrange(100, 100_000)) / 100
            self.payments.append(Envelope("payment.received", {
                "id": f"in_{n}", "customer_id": f"c-{pid}", "amount": usd(amount)},
                at(10 + n), str(pid)))
            self.expected[pid] += (amount * RATE).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        # a producer retrying: some messages arrive twice
        self.payments += rng.sample(self.payments, payments // 20)


@pytest.fixture
def settings(database_url: str, broker: Broker) -> Settings:
    return kafka_settings(Settings(database_url=database_url, ingest_batch_size=25), broker)


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    services = build_services(settings)
    yield services
    services.close()


STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    with log.open("ab") as out:
        process = subprocess.Popen(CLI, env=env, stdout=out, stderr=subprocess.STDOUT)
    STARTED.append(process)
    return process


def applied(svc: Services) -> int:
    """How many records the store has applied, over all partitions."""
    return sum(svc.inbox.offsets(svc.settings.inbound_topic).values())


def produce_setup(svc: Services, broker: Broker, program: Program) -> None:
    """The plan first: partners on other partitions are approved onto it."""
    produce(broker, svc.settings.inbound_topic, program.setup[:1])
    wait_until(lambda: applied(svc) == 1, 60, "the plan to be applied")
    produce(broker, svc.settings.inbound_topic, program.setup[1:])
    wait_until(lambda: applied(svc) == len(program.setup), 60, "the setup to be applied")
    assert svc.inbox.dead_letters() == []  # nothing refused


def check_exactly_once(svc: Services, program: Program, setup_events: int) -> None:
    svc.projections.catch_up()
    distinct = len({m.message_id for m in program.payments})
    later = svc.app.recorder.select_notifications(setup_events + 1, 10**7)
    topics = Counter(n.topic.rsplit(".", 1)[-1] for n in later)
    assert topics["Received"] == topics["Accrued"] == distinct, topics
    assert sum(1 for n in later if n.topic.endswith("Payment.Received")) == distinct
    assert svc.inbox.offsets(svc.settings.inbound_topic) == end_offsets(
        svc.settings.inbound_topic)
    with svc.db.transaction(commit=False) as cursor:
        for pid, expected in program.expected.items():
            rows = balances(cursor, str(pid), START.replace(year=2027), svc.app.clock())
            assert [(row.currency, row.earned) for row in rows] == [
                ("USD", int(expected * 100))], pid


def test_a_worker_killed_at_random_points_applies_everything_exactly_once(
    svc: Services, settings: Settings, broker: Broker, tmp_path: Path
) -> None:
    program = Program(partners=8, payments=3000, seed=len(settings.database_url))
    log = tmp_path / "ingest.log"
    worker = start_worker(settings, log)
    produce_setup(svc, broker, program)
    setup_events = count_events(svc)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0

    # the payments go out a chunk at a time, so a fast worker always has work left to be
    # killed in: a chunk more whenever it has caught up
    chunks = [program.payments[i:i + 500] for i in range(0, len(program.payments), 500)]
    for chunk in chunks[:2]:
        produce(broker, settings.inbound_topic, chunk)
    chunks = chunks[2:]
    rng = random.Random(42)
    kills = 0
    while kills < 8:
        if applied(svc) >= sum(end_offsets(settings.inbound_topic).values()):
            if not chunks:
                break
            produce(broker, settings.inbound_topic, chunks.pop(0))
        worker = start_worker(settings, log)
        before = applied(svc)
        wait_until(lambda b=before: applied(svc) > b, 60, "the worker to make progress")
        time.sleep(rng.uniform(0, 0.15))  # mid-batch, between batches, during a commit
        if kills % 3 == 2:  # now and then a polite stop: the batch in hand finishes first
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
        else:
            worker.kill()
            worker.wait(10)
        kills += 1
    for chunk in chunks:
        produce(broker, settings.inbound_topic, chunk)
    total = sum(end_offsets(settings.inbound_topic).values())
    assert kills >= 6
    assignments = log.read_text().count("assigned [")
    worker = start_worker(settings, log)
    wait_until(lambda: applied(svc) == total, 120, "every message to be applied")
    wait_until(lambda: log.read_text().count("assigned [") > assignments, 60,
               "the last worker to join")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0, log.read_text()[-3000:]
    check_exactly_once(svc, program, setup_events)
    verified = AuditChain(svc.db).verify()
    assert verified.ok and verified.checked == count_events(svc), verified.finding


def test_two_workers_in_one_group_share_partitions_and_apply_everything_once(
    svc: Services, settings: Settings, broker: Broker, tmp_path: Path
) -> None:
    program = Program(partners=12, payments=3000, seed=5)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(settings, log) for log in logs]
    try:
        produce_setup(svc, broker, program)
        setup_events = count_events(svc)
        # both members are in the group before the payments arrive
        wait_until(lambda: all("assigned [" in log.read_text() for log in logs), 60,
                   "both workers to be assigned partitions")
        produce(broker, settings.inbound_topic, program.payments)
        total = sum(end_offsets(settings.inbound_topic).values())
        wait_until(lambda: applied(svc) == total, 120, "every message to be applied")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(30) for worker in workers]
    assert codes == [0, 0]
    final = [log.read_text().rsplit("assigned [", 1)[-1].split("]")[0] for log in logs]
    shares = [{int(p) for p in share.split(",") if p.strip()} for share in final]
    assert shares[0] and shares[1] and not shares[0] & shares[1], final
    check_exactly_once(svc, program, setup_events)
    assert AuditChain(svc.db).verify().ok
