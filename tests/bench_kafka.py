"""Kafka ingest throughput for `make bench`: the bundled broker, the real worker, one store.

The stream is what most of the production traffic is: `payment.received` for customers that
partners referred (each one a payment, a commission accrual and the partner's revenue: three
events). Timed from the first send to the commit of the last batch; the worker has joined its
group before that, on the program's set-up messages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from adapters import kafka
from adapters.inbox import Inbox
from api.kafka.ingest import Ingestor
from api.kafka.messages import decode
from api.services import Services
from domain import commands as c
from domain.accounts import PartnerAccount
from domain.billing import Payment
from domain.partners import Partner
from domain.tiers import BASE_TIER
from tests.factories import plan_body
from tests.kafka_broker import Envelope, kafka_settings, produce, settings_env, start_broker
from tests.kafka_scenario import at, usd

MESSAGES = int(os.environ.get("BENCH_KAFKA_MESSAGES", "30000"))


def program(partners: int, payments: int) -> tuple[list[Envelope], list[Envelope], list[Envelope]]:
    plan = str(uuid.uuid4())
    setup = [Envelope("plan.created", {**plan_body(tiers=[], hold_days=0), "id": plan},
                      at(0), plan)]
    people: list[Envelope] = []
    customers = []
    for n in range(partners):
        key, referral = str(uuid.uuid4()), str(uuid.uuid4())
        people += [
            Envelope("partner.applied", {"id": key, "name": "P", "email": f"{key}@b.example",
                                         "company": "C", "type": "referral", "country": "US"},
                     at(1), key),
            Envelope("partner.approved", {"partner_id": key, "plan_id": plan}, at(2), key),
            Envelope("referral.recorded", {"id": referral, "partner_id": key,
                                           "lead": {"email": f"l{n}-{key}@lead.example",
                                                    "company": "L"}}, at(3), key),
            Envelope("referral.converted", {"referral_id": referral, "customer_id": f"c-{key}"},
                     at(4), key),
        ]
        customers.append(key)
    stream = [Envelope("payment.received", {
        "id": f"in_{n}", "customer_id": f"c-{customers[n % partners]}",
        "amount": usd(Decimal(1000 + n % 9000) / 100)}, at(10 + n // 100),
        customers[n % partners]) for n in range(payments)]
    return setup, people, stream


def wait_for(svc: Services, topic: str, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while sum(svc.inbox.offsets(topic).values()) < total:
        if time.monotonic() > deadline:
            raise TimeoutError("ingest did not finish")
        time.sleep(0.01)


class TimedIngestor(Ingestor):
    """Notes when it was given its partitions: the clock starts there, after the join."""

    started: float | None = None

    def assigned(self, partitions: Any) -> None:
        super().assigned(partitions)
        if self.started is None:
            self.started = time.perf_counter()


def run_worker(svc: Services, worker: Ingestor, until: int) -> float:
    """Runs a worker until `until` records are applied; returns when it finished."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(svc, svc.settings.inbound_topic, until)
        return time.perf_counter()
    finally:
        stop.set()
        thread.join(30)
        worker.consumer.close(autocommit=False)
        worker.producer.close()


def measure(kind: str, svc: Services, baseline: float) -> list[dict[str, Any]]:
    """Messages per second through `partnerledger ingest`'s worker into this store."""
    broker = start_broker()
    try:
        settings = kafka_settings(svc.settings, broker)
        svc.settings, svc.inbox = settings, Inbox(svc.db, settings.consumer_group)
        setup, people, stream = program(200, MESSAGES)
        produce(broker, settings.inbound_topic, setup)
        warm_up = Ingestor(svc, kafka.consumer(settings), kafka.producer(settings, "bench"))
        stop = threading.Event()
        thread = threading.Thread(target=warm_up.run, args=(stop,), daemon=True)
        thread.start()
        wait_for(svc, settings.inbound_topic, len(setup))
        produce(broker, settings.inbound_topic, people)
        wait_for(svc, settings.inbound_topic, len(setup) + len(people))
        stop.set()
        thread.join(30)
        warm_up.consumer.close(autocommit=False)
        # the stream waits on the topic; a new worker joins and applies all of it
        produce(broker, settings.inbound_topic, stream)
        events = svc.app.position()
        worker = TimedIngestor(svc, kafka.consumer(settings), kafka.producer(settings, "bench"))
        finished = run_worker(svc, worker, len(setup) + len(people) + len(stream))
        assert worker.started is not None
        elapsed = finished - worker.started
        written = svc.app.position() - events
        assert worker.counts.dead_lettered == 0, svc.inbox.dead_letters(3)
        assert written == 3 * len(stream) + 200, written  # and each partner's account
    finally:
        broker.stop()
    rate = len(stream) / elapsed
    return [{"store": kind, "figure": f"Kafka ingest, {len(stream):,} payment.received "
             f"(3 events each), exactly once", "value": rate, "unit": "messages/s",
             "baseline": baseline, "target": "≥ 10,000/s and ≥ 50% of baseline",
             "events_per_second": written / elapsed}]


def same_commands(kind: str, svc: Services, baseline: float) -> dict[str, Any]:
    """The Kafka stream's payments run straight through the batched command path, 1,000
    per transaction, on the same program: the work ingestion does without the envelope,
    validation, broker client and bookkeeping; ingestion's like-for-like baseline."""
    setup, people, stream = program(200, MESSAGES)
    svc.app.execute_batch([decode(m.encode()).command for m in setup + people])
    commands = [decode(m.encode()).command for m in stream]
    svc.app.keep_aggregates(svc.settings.ingest_cache_size)  # as the worker does
    events = svc.app.position()
    started = time.perf_counter()
    for start in range(0, len(commands), 1000):
        svc.app.execute_batch(commands[start:start + 1000])
    elapsed = time.perf_counter() - started
    written = svc.app.position() - events
    assert written == 3 * len(stream) + 200, written
    return {"store": kind, "figure": f"commands, the Kafka stream's {len(stream):,} payments, "
            "1,000 per transaction", "value": written / elapsed, "unit": "events/s",
            "baseline": baseline, "target": None}


def library_same_events(kind: str, svc: Services, baseline: float) -> list[dict[str, Any]]:
    """The events the Kafka stream's payments record (the payment, its accrual and the
    partner's revenue; each account opened on its first payment), built straight from the
    domain's aggregates, then put in the store 1,000 payments at a time, as ingestion's
    batches put them: the library's own cost for exactly these events, without messages,
    commands, lookups, rules or bookkeeping; the ceiling of what ingestion can reach on this
    library. Two rows: building and putting them, and putting them alone."""
    setup, people, stream = program(200, MESSAGES)
    svc.app.execute_batch([decode(m.encode()).command for m in setup + people])
    commands = [cast(c.RecordPayment, decode(m.encode()).command) for m in stream]
    partners: dict[str, Partner] = {}
    for message in people:
        if message.type == "partner.approved":
            partners[f"c-{message.data['partner_id']}"] = svc.app.repository.get(
                uuid.UUID(message.data["partner_id"]))
    plan = svc.app.repository.get(next(iter(partners.values())).plan_id)
    terms, version = plan.current.terms, plan.current.number
    accounts: dict[uuid.UUID, PartnerAccount] = {}

    def built(batch: list[c.RecordPayment]) -> list[Any]:
        new: list[Any] = []
        for command in batch:
            partner = partners[command.customer_id]
            account = accounts.get(partner.id)
            if account is None:
                account = accounts[partner.id] = PartnerAccount(
                    id=PartnerAccount.id_for(partner.id), partner_id=partner.id,
                    currency=command.amount.currency)
            occurred_at = command.occurred_at
            assert occurred_at is not None  # the envelope's
            commission = command.amount.times(terms.referral_rate)
            accrual_id = account.accrue(
                source_type="payment", source_id=command.payment_id, basis=command.amount,
                amount=commission, base_rate=terms.referral_rate, tier=BASE_TIER,
                tier_bonus=Decimal(0), plan_id=plan.id, plan_version=version,
                available_at=terms.hold_ends(occurred_at), occurred_at=occurred_at)
            payment = Payment(
                id=Payment.id_for(command.payment_id), payment_id=command.payment_id,
                customer_id=command.customer_id, amount=command.amount, partner_id=partner.id,
                commission=commission, accrual_id=accrual_id, rate=terms.referral_rate,
                plan_id=plan.id, plan_version=version, no_commission_reason=None,
                occurred_at=occurred_at)
            account.record_revenue("payment", command.payment_id, command.amount, True,
                                   occurred_at)
            new += payment.collect_events()
        for account in accounts.values():
            new += account.collect_events()
        return new

    events = svc.app.position()
    started = time.perf_counter()
    batches = [built(commands[start:start + 1000]) for start in range(0, len(commands), 1000)]
    building = time.perf_counter() - started
    started = time.perf_counter()
    for batch in batches:
        svc.app.events.put(batch)
    putting = time.perf_counter() - started
    written = svc.app.position() - events
    assert written == 3 * len(stream) + 200, written
    figure = f"eventsourcing put, the Kafka stream's {len(stream):,} payments' events"
    return [{"store": kind, "figure": f"{figure} built directly, 1,000 payments per batch",
             "value": written / (building + putting), "unit": "events/s",
             "baseline": baseline, "target": None},
            {"store": kind, "figure": f"{figure}, already built: the put alone",
             "value": written / putting, "unit": "events/s", "baseline": baseline,
             "target": None}]


def measure_group(kind: str, svc: Services, baseline: float, workers: int = 2) -> dict[str, Any]:
    """`workers` `partnerledger ingest` processes in one group, joined before the stream is
    sent; timed from the first send to the commit of the last batch."""
    broker = start_broker()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        settings = kafka_settings(svc.settings, broker)
        svc.settings, svc.inbox = settings, Inbox(svc.db, settings.consumer_group)
        setup, people, stream = program(200, MESSAGES)
        svc.app.execute_batch([decode(m.encode()).command for m in setup + people])
        env = {**os.environ, **settings_env(settings)}
        logs = [Path(tempfile.mkstemp(suffix=".log")[1]) for _ in range(workers)]
        for log in logs:
            with log.open("wb") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "api.cli", "--log-level", "INFO", "ingest"],
                    env=env, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while not all(_assigned(log) for log in logs):  # one stable group, every member in
            if time.monotonic() > deadline:
                raise TimeoutError("the workers did not all join")
            time.sleep(0.05)
        events = svc.app.position()
        started = time.perf_counter()
        produce(broker, settings.inbound_topic, stream)
        wait_for(svc, settings.inbound_topic, len(stream))
        elapsed = time.perf_counter() - started
        written = svc.app.position() - events
        assert written == 3 * len(stream) + 200, written
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        broker.stop()
    processes_text = "1 worker process" if workers == 1 else f"{workers} worker processes"
    return {"store": kind, "figure": f"Kafka ingest, {processes_text} in one group, "
            "timed from the first send", "value": len(stream) / elapsed, "unit": "messages/s",
            "baseline": baseline, "target": "≥ 10,000/s and ≥ 50% of baseline",
            "events_per_second": written / elapsed}


def _assigned(log: Path) -> bool:
    """Whether a worker's last assignment gave it partitions."""
    text = log.read_text()
    return "assigned [" in text and not text.rsplit("assigned [", 1)[1].startswith("]")
