"""`make bench`: throughput figures beside baselines measured in the same run.

Prints a table and writes var/bench.json. Sizes can be lowered for a quick look:
BENCH_COMMANDS (default 20,000), BENCH_PROJECTION_EVENTS (default 1,000,000),
BENCH_KAFKA_MESSAGES (default 30,000), BENCH_MEMORY_EVENTS (default 15,000: the smaller
store of the memory rows).
PostgreSQL figures need PARTNERLEDGER_TEST_POSTGRES_URL (a throwaway schema is used).
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, event

from adapters import audit_chain
from adapters.audit_chain import AuditChain
from adapters.audit_tree import MerkleTree
from adapters.settings import Settings
from api.bootstrap import build_services
from api.services import Services
from domain import commands as c
from domain.money import Money
from domain.partners import EmailClaim, Partner
from tests import bench_api, bench_kafka, bench_memory
from tests.conftest import drop_schema
from tests.factories import referring_partner, terms
from tests.kafka_broker import start_broker

# Histories end before today: business time may not lie ahead of the recording time.
NOW = (datetime.now(UTC) - timedelta(days=400)).replace(hour=0, minute=0, second=0,
                                                        microsecond=0)
COMMANDS = int(os.environ.get("BENCH_COMMANDS", "20000"))
PROJECTION_EVENTS = int(os.environ.get("BENCH_PROJECTION_EVENTS", "1000000"))
LEDGER_ENTRIES = int(os.environ.get("BENCH_LEDGER_ENTRIES", "100000"))


class Counter(Aggregate):
    """A trivial aggregate for the library's own baseline."""

    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


@contextmanager
def store(kind: str) -> Iterator[Services]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            svc = build_services(Settings(database_url=f"sqlite:///{folder}/bench.db",
                                          follow_interval=0))
            try:
                yield svc
            finally:
                svc.close()
        return
    base = os.environ["PARTNERLEDGER_TEST_POSTGRES_URL"]
    schema = f"pl_bench_{uuid.uuid4().hex[:8]}"
    svc = build_services(Settings(database_url=f"{base}?schema={schema}", follow_interval=0))
    try:
        yield svc
    finally:
        svc.close()
        drop_schema(base, schema)


def rate(count: int, work: Callable[[], Any]) -> float:
    """`count` over the seconds `work` takes, started from a collected heap: a full
    collection that the previous run's garbage would set off lands in no timed run
    (without it, paired runs measured in turn took turns paying for it)."""
    gc.collect()
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def library_baseline(svc: Services, events: int) -> float:
    """eventsourcing saving 1,000-event batches: 1 created + 999 increments per aggregate."""

    def save() -> None:
        for _ in range(events // 1000):
            counter = Counter()
            for _ in range(999):
                counter.increment()
            svc.app.save(counter)

    return rate(events, save)


def library_new_aggregates(svc: Services, n: int) -> float:
    """What `n` applications record (a partner and its email claim each: two new streams),
    built straight from the domain's constructors and put in the event store 1,000
    applications at a time, the way the batched command path puts them: the library's
    own cost for these events, without commands, lookups or dispatch. (Not `save()`: it
    checks every aggregate against two runtime protocols, ~10 us each on Python 3.11,
    which the command path does not pay.)"""
    batches = [applications(min(1000, n - start)) for start in range(0, n, 1000)]

    def put() -> None:
        for batch in batches:
            events: list[Any] = []
            for command in batch:
                claim = EmailClaim(id=EmailClaim.id_for(command.email), partner_id=command.id)
                partner = Partner(id=command.id, name=command.name, email=command.email,
                                  company=command.company, type=command.type,
                                  country=command.country, occurred_at=NOW)
                events += [*claim.collect_events(), *partner.collect_events()]
            svc.app.events.put(events)

    return rate(2 * n, put)


def applications(n: int) -> list[c.ApplyPartner]:
    return [c.ApplyPartner(NOW, uuid.uuid4(), "P", f"{uuid.uuid4().hex}@bench.example", "Co",
                           "agency", "US") for _ in range(n)]


def batched_commands(svc: Services, n: int, batch: int) -> float:
    """ApplyPartner commands (2 events each) through execute_batch; returns events/s."""
    commands = applications(n)

    def run() -> None:
        for start in range(0, n, batch):
            svc.app.execute_batch(commands[start:start + batch])

    return rate(2 * n, run)


def projection_rebuild(svc: Services, events: int) -> tuple[float, int]:
    """Seeds `events` events, then rebuilds the partner directory from zero."""
    plan = uuid.uuid4()
    svc.app.execute(c.CreatePlan(NOW, plan, terms()))
    for _ in range(0, events // 2, 2000):
        svc.app.execute_batch(applications(2000))
    runner = svc.projections.get("partner_directory")
    stored = svc.app.position()
    return rate(stored, runner.rebuild), stored


def without_audit_upkeep(svc: Services, n: int) -> float:
    """The batched command path with the chain and tree upkeep switched off (bench only).
    Afterwards, untimed, the chain catches up what it stored, so the next timed run with the
    upkeep chains only its own events."""
    real = audit_chain.extend
    audit_chain.extend = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        return batched_commands(svc, n, 1000)
    finally:
        audit_chain.extend = real
        AuditChain(svc.db).setup()


def checkpoint(svc: Services) -> None:
    """On SQLite, copies the write-ahead log into the database and empties it, so that a run
    starts with an empty log: SQLite copies it over when it passes 1,000 pages, at the
    commit of whichever run that is, and runs measured in turn took turns paying for it."""
    if svc.db.dialect != "sqlite":
        return
    with svc.db.datastore.get_connection(commit=True) as conn:
        conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")


def with_and_without_audit_upkeep(svc: Services, n: int) -> tuple[float, float, float]:
    """The batched command path with and without the chain and tree upkeep, in pairs of one
    1,000-command transaction each, the order alternating from pair to pair: the two halves
    of a pair see the same machine, so a shared machine's drift cancels out; each starts
    from a collected heap and an empty write-ahead log. Returns the median events/s with and
    without, and the median of the pairs' cost."""
    with_upkeep, without, costs = [], [], []

    def with_it() -> float:
        checkpoint(svc)
        return batched_commands(svc, 1000, 1000)

    def without_it() -> float:
        checkpoint(svc)
        return without_audit_upkeep(svc, 1000)

    for pair in range(max(3, n // 1000)):
        if pair % 2 == 0:
            paired, bare = with_it(), without_it()
        else:
            bare, paired = without_it(), with_it()
        with_upkeep.append(paired)
        without.append(bare)
        costs.append(100 * (1 - paired / bare))
    return statistics.median(with_upkeep), statistics.median(without), statistics.median(costs)


def audit_at_scale(kind: str, svc: Services) -> list[dict[str, Any]]:
    """`audit verify` over the whole store, and proof generation at its size."""
    chain, tree = AuditChain(svc.db), MerkleTree(svc.db)
    size = tree.size()
    verify_rate = rate(size, chain.verify)
    rng = random.Random(1)
    inclusion = timed_ms(lambda: tree.inclusion(rng.randrange(size), size), 200)
    consistency = timed_ms(lambda: tree.consistency(rng.randrange(1, size), size), 200)
    return [
        {"store": kind, "figure": f"audit verify over {size:,} events", "value": verify_rate,
         "unit": "events/s", "baseline": None, "target": "≥ 100,000/s"},
        {"store": kind, "figure": f"inclusion proof at {size:,} events (median/max)",
         "value": inclusion[0], "max": inclusion[1], "unit": "ms", "baseline": None,
         "target": "< 5 ms"},
        {"store": kind, "figure": f"consistency proof at {size:,} events (median/max)",
         "value": consistency[0], "max": consistency[1], "unit": "ms", "baseline": None,
         "target": "< 5 ms"},
    ]


def earning_partner(svc: Services, name: str) -> tuple[uuid.UUID, str]:
    """An active partner with one referred customer; returns (partner id, customer id)."""
    return referring_partner(svc.app, NOW, name)


def timed_ms(work: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and worst of `repeat` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[-1]


def ledger_at_scale(svc: Services, entries: int) -> list[dict[str, Any]]:
    """A partner with `entries` accruals (paid out monthly) beside one with a single accrual."""
    from projections.ledger import balances  # noqa: PLC0415 - bench-only import

    big, big_customer = earning_partner(svc, "big")
    small, small_customer = earning_partner(svc, "small")
    svc.app.execute(c.RecordPayment(NOW, "in_small_0", small_customer, Money.parse("10", "USD")))
    per_day = max(1, entries // 365)
    for start in range(0, entries, 2000):
        when = NOW + timedelta(days=start // per_day)
        svc.app.execute_batch([
            c.RecordPayment(when, f"in_big_{n}", big_customer, Money.parse("10.00", "USD"))
            for n in range(start, min(entries, start + 2000))
        ])
        if (start // 2000) % 10 == 9:  # a payout every 20,000 entries, confirmed
            run = svc.app.execute(c.RunPayouts(when, uuid.uuid4(), when, (big,))).aggregate
            for payout_id in run.payout_ids:  # type: ignore[union-attr]
                svc.app.execute(c.ConfirmPayout(when, payout_id, "wire"))
    svc.projections.catch_up()
    end = NOW + timedelta(days=entries // per_day)
    counter = iter(range(10**9))

    def accrue(customer: str) -> Callable[[], Any]:
        return lambda: svc.app.execute(c.RecordPayment(
            end, f"in_{customer}_extra_{next(counter)}", customer, Money.parse("10", "USD")))

    def as_of(pid: uuid.UUID) -> Callable[[], Any]:
        def read() -> Any:
            with svc.db.transaction(commit=False) as cursor:
                return balances(cursor, str(pid), NOW + timedelta(days=200), end)
        return read

    accrue_big, accrue_small = timed_ms(accrue(big_customer), 20), timed_ms(
        accrue(small_customer), 20)
    read_big, read_small = timed_ms(as_of(big), 30), timed_ms(as_of(small), 30)
    return [
        {"figure": f"accrue for a partner with {entries:,} entries (median/max)",
         "value": accrue_big[0], "max": accrue_big[1], "unit": "ms",
         "baseline": accrue_small[0], "target": None},
        {"figure": f"balance as_of, partner with {entries:,} entries (median/max)",
         "value": read_big[0], "max": read_big[1], "unit": "ms", "baseline": read_small[0],
         "target": "< 100 ms"},
    ]


def measure(kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with store(kind) as svc:
        baseline = library_baseline(svc, COMMANDS * 2)
        rows.append({"store": kind, "figure": "eventsourcing save, 1,000-event batches",
                     "value": baseline, "unit": "events/s", "baseline": None, "target": None})
        batched, bare, upkeep = with_and_without_audit_upkeep(svc, COMMANDS)
        rows.append({"store": kind, "figure": "commands, 1,000 per transaction",
                     "value": batched, "unit": "events/s", "baseline": baseline,
                     "target": "> 20,000 events/s"})
        created = library_new_aggregates(svc, COMMANDS)
        rows.append({"store": kind, "figure": "eventsourcing put, the same applications' "
                     "aggregates built directly, 1,000 per batch", "value": created,
                     "unit": "events/s", "baseline": baseline, "target": None})
        rows.append({"store": kind, "figure": "commands, 1,000 per transaction, against the "
                     "library putting the same aggregates", "value": batched, "unit": "events/s",
                     "baseline": created, "target": None})
        rows.append({"store": kind, "figure": "commands, 1,000 per transaction, no audit chain",
                     "value": bare, "unit": "events/s", "baseline": baseline, "target": None})
        rows.append({"store": kind, "figure": "audit chain and tree upkeep, batched path",
                     "value": upkeep, "unit": "% of events/s",
                     "baseline": None, "target": "< 10 %"})
        single = batched_commands(svc, max(200, COMMANDS // 20), 1)
        rows.append({"store": kind, "figure": "commands, 1 per transaction",
                     "value": single, "unit": "events/s", "baseline": baseline, "target": None})
    with store(kind) as svc:
        rows.append(bench_kafka.same_commands(kind, svc, baseline))
    with store(kind) as svc:
        rows += bench_kafka.library_same_events(kind, svc, baseline)
    with store(kind) as svc:
        rows += bench_kafka.measure(kind, svc, baseline)
    for workers in (1, 2):  # the same method for both: what a second process adds
        with store(kind) as svc:
            rows.append(bench_kafka.measure_group(kind, svc, baseline, workers))
    broker = start_broker()
    try:
        with store(kind) as svc:
            small = bench_memory.measure(kind, svc, broker, bench_memory.HISTORY)
        with store(kind) as svc:
            large = bench_memory.measure(kind, svc, broker, bench_memory.HISTORY * 10)
        rows += bench_memory.rows(kind, small, large)
    finally:
        broker.stop()
    with store(kind) as svc:
        rows += [{"store": kind, **row} for row in ledger_at_scale(svc, LEDGER_ENTRIES)]
    with store(kind) as svc:
        rows += bench_api.measure(kind, svc.settings.database_url)
    with store(kind) as svc:
        rebuild, stored = projection_rebuild(svc, PROJECTION_EVENTS)
        rows.append({"store": kind, "figure": f"projection rebuild from {stored:,} events",
                     "value": rebuild, "unit": "events/s", "baseline": None,
                     "target": "≥ 30,000/s"})
        rows += audit_at_scale(kind, svc)
    return rows


def show(value: float, unit: str) -> str:
    precise = unit.startswith(("ms", "%"))
    return f"{value:,.1f} {unit}" if precise else f"{value:,.0f} {unit}"


def measured_text(row: dict[str, Any]) -> str:
    text = show(row["value"], row["unit"])
    if "events_per_second" in row:
        text += f" ({row['events_per_second']:,.0f} events/s)"
    return f"{text} / {row['max']:,.1f} max" if "max" in row else text


def baseline_text(row: dict[str, Any]) -> str:
    if not row["baseline"]:
        return "-"
    if row["unit"] == "ms":
        return f"{show(row['baseline'], 'ms')} (partner with 1 entry)"
    if row["unit"] == "MB":
        return f"{row['baseline']:,.0f} MB ({row['value'] / row['baseline']:.0%})"
    if row["unit"].startswith("ms"):
        return f"{show(row['baseline'], row['unit'])} (/healthz)"
    # a rate in messages/s is set beside the baseline by the events it stored
    value = row.get("events_per_second", row["value"])
    return f"{show(row['baseline'], 'events/s')} ({value / row['baseline']:.0%})"


def main() -> None:
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("PARTNERLEDGER_TEST_POSTGRES_URL")
                          else [])
    rows = [row for kind in kinds for row in measure(kind)]
    print("| store | figure | measured | baseline (same run) | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['store']} | {row['figure']} | {measured_text(row)} | "
              f"{baseline_text(row)} | {row['target'] or ''} |")
    Path("var").mkdir(exist_ok=True)
    Path("var/bench.json").write_text(json.dumps(rows, indent=2))
    print("written to var/bench.json")


if __name__ == "__main__":
    main()
