"""`make bench`: throughput figures beside baselines measured in the same run.

Prints a table and writes var/bench.json. Sizes can be lowered for a quick look:
BENCH_COMMANDS (default 20,000), BENCH_PROJECTION_EVENTS (default 1,000,000).
PostgreSQL figures need PARTNERLEDGER_TEST_POSTGRES_URL (a throwaway schema is used).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, event

from adapters.settings import Settings
from api.services import Services, build_services
from domain import commands as c
from tests import bench_api
from tests.conftest import drop_schema
from tests.factories import terms

NOW = datetime(2026, 1, 1, tzinfo=UTC)
COMMANDS = int(os.environ.get("BENCH_COMMANDS", "20000"))
PROJECTION_EVENTS = int(os.environ.get("BENCH_PROJECTION_EVENTS", "1000000"))


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


def applications(n: int) -> list[c.Command]:
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


def measure(kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with store(kind) as svc:
        baseline = library_baseline(svc, COMMANDS * 2)
        rows.append({"store": kind, "figure": "eventsourcing save, 1,000-event batches",
                     "value": baseline, "unit": "events/s", "baseline": None, "target": None})
        batched = batched_commands(svc, COMMANDS, 1000)
        rows.append({"store": kind, "figure": "commands, 1,000 per transaction",
                     "value": batched, "unit": "events/s", "baseline": baseline,
                     "target": "> 20,000 events/s"})
        single = batched_commands(svc, max(200, COMMANDS // 20), 1)
        rows.append({"store": kind, "figure": "commands, 1 per transaction",
                     "value": single, "unit": "events/s", "baseline": baseline, "target": None})
    with store(kind) as svc:
        rows += bench_api.measure(kind, svc.settings.database_url)
    with store(kind) as svc:
        rebuild, stored = projection_rebuild(svc, PROJECTION_EVENTS)
        rows.append({"store": kind, "figure": f"projection rebuild from {stored:,} events",
                     "value": rebuild, "unit": "events/s", "baseline": None,
                     "target": "≥ 30,000/s"})
    return rows


def show(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if unit.startswith("ms") else f"{value:,.0f} {unit}"


def baseline_text(row: dict[str, Any]) -> str:
    if not row["baseline"]:
        return "-"
    if row["unit"].startswith("ms"):
        return f"{show(row['baseline'], row['unit'])} (/healthz)"
    return f"{show(row['baseline'], 'events/s')} ({row['value'] / row['baseline']:.0%})"


def main() -> None:
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("PARTNERLEDGER_TEST_POSTGRES_URL")
                          else [])
    rows = [row for kind in kinds for row in measure(kind)]
    print("| store | figure | measured | baseline (same run) | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['store']} | {row['figure']} | {show(row['value'], row['unit'])} | "
              f"{baseline_text(row)} | {row['target'] or ''} |")
    Path("var").mkdir(exist_ok=True)
    Path("var/bench.json").write_text(json.dumps(rows, indent=2))
    print("written to var/bench.json")


if __name__ == "__main__":
    main()
