"""First come, first protected, across processes: two servers, simultaneous registrations."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.clock import utc_now
from adapters.settings import Settings
from api.bootstrap import build_services
from domain import commands as c
from domain.money import Money
from tests.e2e.helpers import CLI, call, free_port
from tests.factories import terms


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str, list[str]]]:
    """Two `serve` processes on one store; yields (base urls, internal token, partner ids)."""
    svc = build_services(Settings(database_url=database_url, follow_interval=0))
    plan, partners = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    svc.app.execute_batch([
        c.CreatePlan(None, plan, terms()),
        *[c.ApplyPartner(None, p, "P", f"{p.hex}@race.example", "P", "agency", "DE")
          for p in partners],
        *[c.ApprovePartner(None, p, plan) for p in partners],
    ])
    _, token = svc.keys.create("internal", None, utc_now())
    svc.close()
    processes, bases = [], []
    for n in range(2):
        port = free_port()
        env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url, "PORT": str(port)}
        with (tmp_path / f"server-{n}.log").open("w") as log:  # a 500's traceback lands here
            processes.append(subprocess.Popen([*CLI, "serve", "--threads", "4"], env=env,
                                              cwd=tmp_path, stdout=log,
                                              stderr=subprocess.STDOUT))
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        for _ in range(300):
            try:
                if call(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                threading.Event().wait(0.1)
    yield bases, token, [str(p) for p in partners]
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_simultaneous_registrations_in_two_processes_exactly_one_wins(
    two_servers: tuple[list[str], str, list[str]],
) -> None:
    bases, token, partners = two_servers
    for round_ in range(15):
        domain = f"race-{round_}-{uuid.uuid4().hex[:6]}.example"
        barrier = threading.Barrier(2)
        results: list[tuple[int, dict[str, object]]] = []

        def register(base: str, partner: str, domain: str = domain,
                     barrier: threading.Barrier = barrier,
                     results: list[tuple[int, dict[str, object]]] = results) -> None:
            barrier.wait()
            results.append(call(f"{base}/deals", token, {
                "partner_id": partner, "customer": {"name": "Race", "domain": domain},
                "estimated_value": {"amount": "10.00", "currency": "USD"}}))

        threads = [threading.Thread(target=register, args=(bases[n], partners[n]))
                   for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409], results
        winner = next(body for status, body in results if status == 201)
        loser = next(body for status, body in results if status == 409)
        assert str(loser["type"]).endswith("deal-conflict")
        assert loser["conflicting_deal_id"] == winner["id"]


@pytest.mark.slow
def test_payout_runs_racing_in_two_processes_never_pay_twice(
    two_servers: tuple[list[str], str, list[str]], database_url: str
) -> None:
    bases, token, partners = two_servers
    svc = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        long_ago = utc_now() - timedelta(days=60)
        for n, partner in enumerate(partners):
            referral = uuid.uuid4()
            svc.app.execute_batch([
                c.RecordReferral(long_ago, referral, uuid.UUID(partner),
                                 f"lead{n}@race{n}.example", "L"),
                c.ConvertReferral(long_ago, referral, f"race-cust-{n}"),
            ])
        paid: list[dict[str, object]] = []
        for round_ in range(5):
            svc.app.execute_batch([
                c.RecordPayment(long_ago, f"in_race_{round_}_{n}", f"race-cust-{n}",
                                Money.parse("1000.00", "USD"))
                for n in range(len(partners))
            ])
            barrier = threading.Barrier(2)
            results: list[tuple[int, dict[str, object]]] = []

            def run(base: str, barrier: threading.Barrier = barrier,
                    results: list[tuple[int, dict[str, object]]] = results) -> None:
                barrier.wait()
                results.append(call(f"{base}/payout-runs", token, {}))

            threads = [threading.Thread(target=run, args=(base,)) for base in bases]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(status for status, _ in results) == [201, 201], results
            round_payouts = [p for _, body in results for p in body["payouts"]]  # type: ignore[attr-defined]
            assert sorted(p["partner_id"] for p in round_payouts) == sorted(partners)
            paid += round_payouts
        total = sum(Decimal(p["amount"]["amount"]) for p in paid)  # type: ignore[index]
        assert total == 5 * len(partners) * Decimal("200.00")  # 20% of every payment, once
    finally:
        svc.close()
