"""Projection runners: catch-up, exactly-once under crashes, failures, concurrent runners."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.settings import Settings
from adapters.sql import BufferedCursor
from api.bootstrap import build_services
from api.services import Services
from domain import commands as c
from domain.money import Money
from projections.partner_directory import PartnerDirectory
from projections.runner import ProjectionFailed
from tests.factories import terms

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def seed(services: Services, partners: int) -> None:
    """Applies `partners` partners, approves half, suspends a quarter, in batches of 500."""
    plan = uuid.uuid4()
    services.app.execute(c.CreatePlan(NOW, plan, terms()))
    commands: list[c.Command] = []
    for n in range(partners):
        pid = uuid.uuid4()
        email = f"p{n}-{pid.hex[:6]}@seed.example"
        commands.append(c.ApplyPartner(NOW, pid, f"P{n}", email, "Co", "agency", "FR"))
        if n % 2 == 0:
            commands.append(c.ApprovePartner(NOW, pid, plan))
        if n % 4 == 0:
            commands.append(c.SuspendPartner(NOW, pid, "review"))
    for start in range(0, len(commands), 500):
        result = services.app.execute_batch(commands[start:start + 500])
        assert all(o.error is None for o in result.outcomes)


def expected_directory(services: Services) -> dict[str, tuple[str, int]]:
    """Each partner's status and event count, read straight from the log."""
    versions: Counter[str] = Counter()
    statuses: dict[str, str] = {}
    status_by_event = {"Applied": "applied", "Approved": "active", "Rejected": "rejected",
                       "Suspended": "suspended", "Reactivated": "active",
                       "Terminated": "terminated"}
    for notification in services.app.recorder.select_notifications(1, 10_000_000):
        if ":Partner." not in notification.topic:
            continue
        key = str(notification.originator_id)
        versions[key] += 1
        statuses[key] = status_by_event[notification.topic.rsplit(".", 1)[1]]
    return {key: (statuses[key], versions[key]) for key in versions}


def actual_directory(services: Services) -> dict[str, tuple[str, int]]:
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT partner_id, status, version FROM partner_directory")
        rows = cursor.fetchall()
    assert len(rows) == len({row["partner_id"] for row in rows})
    return {row["partner_id"]: (row["status"], int(row["version"])) for row in rows}


def test_catch_up_builds_the_directory_and_reports_its_position(services: Services) -> None:
    seed(services, 60)
    runner = services.projections.get("partner_directory")
    assert runner.position() == 0
    assert runner.catch_up() == services.app.position()
    assert actual_directory(services) == expected_directory(services)
    assert runner.catch_up() == services.app.position()  # nothing left: nothing changes


def test_a_failing_handler_stops_the_projection_just_before_its_event_and_names_it(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed(services, 40)
    runner = services.projections.get("partner_directory")
    runner.batch_size = 25
    positions = [n.id for n in services.app.recorder.select_notifications(1, 100)]
    culprit = positions[39]  # the 15th event of the second batch
    original = PartnerDirectory.apply

    def broken_on_one(self: PartnerDirectory, event: Any, position: int, cursor: Any) -> None:
        if position == culprit:
            raise RuntimeError("disk on fire")
        original(self, event, position, cursor)

    monkeypatch.setattr(PartnerDirectory, "apply", broken_on_one)
    with pytest.raises(ProjectionFailed) as raised:
        runner.catch_up()
    assert raised.value.failure is not None
    assert raised.value.failure.position == culprit
    assert f"position {culprit}" in str(raised.value)
    assert runner.position() == positions[38]  # everything before the culprit is kept
    recorded = runner.recorded_failure()
    assert recorded is not None
    assert (recorded.position, recorded.error) == (culprit, "RuntimeError: disk on fire")
    assert f"stopped at position {culprit}" in caplog.text
    with pytest.raises(ProjectionFailed):  # still stopped there, whoever catches up
        runner.catch_up()
    assert runner.position() == positions[38]
    monkeypatch.setattr(PartnerDirectory, "apply", original)
    runner.catch_up()
    assert runner.failure is None
    assert runner.recorded_failure() is None
    assert actual_directory(services) == expected_directory(services)


def test_concurrent_runners_in_separate_connections_apply_each_event_once(
    services: Services, database_url: str
) -> None:
    seed(services, 200)
    others = [build_services(Settings(database_url=database_url, follow_interval=0))
              for _ in range(2)]
    try:
        for svc in (*others, services):
            svc.projections.get("partner_directory").batch_size = 37
        errors: list[BaseException] = []

        def run(svc: Services) -> None:
            try:
                svc.projections.catch_up()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(svc,)) for svc in (*others, services)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert actual_directory(services) == expected_directory(services)
    finally:
        for svc in others:
            svc.close()


@pytest.mark.slow
def test_a_runner_killed_mid_batch_again_and_again_catches_up_exactly_once(
    services: Services, database_url: str
) -> None:
    seed(services, 3000)
    target = services.app.position()
    runner = services.projections.get("partner_directory")
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "api.cli", "--log-level", "WARNING", "projections", "run",
               "--batch-size", "40", "--interval", "0.05"]
    rng = random.Random(7)
    kills_mid_way = 0
    for _ in range(30):
        start = runner.position()
        kill_after = start + rng.randint(1, max(1, (target - start) // 3))
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        # kill as soon as the runner has committed past a random point: it is then mid-way
        # through a later batch (or between two), never idle at the start
        while runner.position() < kill_after and process.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.01))
        process.send_signal(signal.SIGKILL)
        process.wait()
        position = runner.position()
        assert position >= start
        if position < target:
            kills_mid_way += 1
        else:
            break
    assert kills_mid_way >= 3, "the kills did not land while the runner was part way"
    process = subprocess.run([*command, "--once"], env=env, check=True,
                             stdout=subprocess.DEVNULL)
    assert runner.position() == target
    assert actual_directory(services) == expected_directory(services)


def test_a_stopped_runner_resumes_from_its_position(services: Services) -> None:
    seed(services, 30)
    runner = services.projections.get("partner_directory")
    runner.batch_size = 10
    runner.catch_up(max_batches=2)
    stopped_at = runner.position()
    assert 0 < stopped_at < services.app.position()
    seed(services, 10)
    runner.catch_up()
    assert actual_directory(services) == expected_directory(services)


def test_rebuild_from_zero_gives_the_same_directory(services: Services) -> None:
    seed(services, 50)
    runner = services.projections.get("partner_directory")
    runner.catch_up()
    live = actual_directory(services)
    assert runner.rebuild() == services.app.position()
    assert actual_directory(services) == live == expected_directory(services)


def test_buffered_writes_keep_their_order_and_are_seen_by_later_reads(
    services: Services,
) -> None:
    with services.db.transaction() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS scratch (k TEXT PRIMARY KEY, v INTEGER)")
    with services.db.transaction() as cursor:
        buffered = BufferedCursor(cursor.raw, cursor.dialect)
        for n in range(5):
            buffered.execute("INSERT INTO scratch (k, v) VALUES (?, ?)", (f"k{n}", n))
        buffered.execute("UPDATE scratch SET v = v * 10 WHERE k = ?", ("k3",))
        buffered.execute("INSERT INTO scratch (k, v) VALUES (?, ?)", ("k9", 9))
        buffered.execute("SELECT SUM(v) AS total FROM scratch")
        row = buffered.fetchone()
        assert row is not None
        assert int(row["total"]) == 0 + 1 + 2 + 30 + 4 + 9
        buffered.execute("DELETE FROM scratch WHERE k = ?", ("k0",))
        buffered.flush()
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM scratch")
        row = cursor.fetchone()
        assert row is not None
        assert int(row["n"]) == 5


def test_a_batch_read_before_the_position_went_back_is_discarded(services: Services) -> None:
    seed(services, 20)
    runner = services.projections.get("partner_directory")
    runner.catch_up()
    seed(services, 5)
    start = runner.position() + 1
    stale = [(n.id, services.app.mapper.to_domain_event(n))
             for n in services.app.recorder.select_notifications(start, 1000)]
    with services.db.transaction() as cursor:  # an operator resets the projection meanwhile
        cursor.execute("DELETE FROM partner_directory")
        cursor.execute("UPDATE projection_positions SET position = 0 WHERE name = ?",
                       ("partner_directory",))
    runner._apply(start, stale)
    assert runner.position() == 0
    runner.catch_up()
    assert actual_directory(services) == expected_directory(services)


def test_a_rebuild_racing_live_runners_in_other_processes_stays_exact(
    services: Services, database_url: str
) -> None:
    seed(services, 300)
    services.projections.catch_up()
    other = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        other.projections.get("partner_directory").batch_size = 20
        errors: list[BaseException] = []

        def keep_writing_and_following() -> None:
            try:
                for _ in range(5):
                    seed(other, 20)
                    other.projections.catch_up()
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=keep_writing_and_following)
        thread.start()
        services.projections.get("partner_directory").rebuild()
        thread.join()
        assert errors == []
        services.projections.catch_up()
        assert actual_directory(services) == expected_directory(services)
    finally:
        other.close()


def table_rows(services: Services, table: str, key: str) -> list[dict[str, Any]]:
    with services.db.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY {key}")
        return [dict(row) for row in cursor.fetchall()]


def test_the_commission_read_models_rebuild_to_exactly_the_live_tables(
    services: Services,
) -> None:
    plan, pid = uuid.uuid4(), uuid.uuid4()
    usd = Money.parse
    services.app.execute_batch([
        c.CreatePlan(NOW, plan, terms()),
        c.ApplyPartner(NOW, pid, "P", "p@rebuild.example", "P", "agency", "FR"),
        c.ApprovePartner(NOW, pid, plan),
    ])
    commands: list[c.Command] = []
    for n in range(30):
        deal, referral = uuid.uuid4(), uuid.uuid4()
        when = NOW + timedelta(days=n)
        commands += [
            c.RegisterDeal(when, deal, pid, "C", f"d{n}.example", usd("100", "USD")),
            c.ApproveDeal(when, deal),
            c.CloseDealWon(when, deal, usd(f"{1000 + n}.25", "USD"), n % 2 == 0)
            if n % 3 else c.CloseDealLost(when, deal, "no"),
            c.RecordReferral(when, referral, pid, f"l{n}@lead.example", "L"),
            c.ConvertReferral(when, referral, f"cust-{n}"),
            c.RecordPayment(when, f"in_{n}", f"cust-{n}", usd("99.99", "USD")),
            c.IssueRefund(when, f"re_{n}", f"in_{n}", usd("33.33", "USD")),
        ]
    result = services.app.execute_batch(commands)
    assert [o.error for o in result.outcomes if o.error] == []
    runner = services.projections.get("commissions")
    runner.batch_size = 17
    runner.catch_up()
    tables = {"deals": "deal_id", "referrals": "referral_id",
              "referred_customers": "customer_id", "standings": "partner_id"}
    live = {table: table_rows(services, table, key) for table, key in tables.items()}
    assert len(live["deals"]) == 30
    assert live["standings"][0]["points"] == 30 * 100
    runner.rebuild()
    assert {table: table_rows(services, table, key) for table, key in tables.items()} == live
