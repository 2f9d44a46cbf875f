"""Rebuilding read models beside the live ones: swapped in whole, compared row by row, and
the store answering and taking writes meanwhile."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from api.cli.projections import projections as projections_group
from api.demo import DEMO_PARTNER_ID, load_demo
from api.services import Services
from domain import commands as c
from domain.money import Money
from projections.rebuild import Rebuild
from projections.runner import ProjectionFailed
from projections.table_diff import order_by, sort_key


def history(svc: Services, seed: int = 5) -> None:
    """The demo, a year of payments with refunds, and payout runs, some failed."""
    assert load_demo(svc.app)
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=90)
    commands: list[c.Command] = []
    for n in range(150):
        when = start + timedelta(hours=12 * n)
        amount = Money.parse(f"{rng.randint(1, 900)}.{rng.randint(0, 99):02d}", "USD")
        commands.append(c.RecordPayment(when, f"in_r{n}", "cust-globex", amount))
        if rng.random() < 0.2:
            commands.append(c.IssueRefund(when, f"re_r{n}", f"in_r{n}",
                                           Money.parse("1.00", "USD")))
    svc.app.execute_batch(commands)
    for _ in range(2):
        run = svc.app.execute(c.RunPayouts(None, uuid.uuid4(), None, (DEMO_PARTNER_ID,)))
        assert run.aggregate is not None
        paid = [p["id"] for p in vars(run.aggregate)["payouts"]]
        if paid:
            svc.app.execute(c.FailPayout(None, paid[0], "bounced"))
    svc.projections.catch_up()


def rebuild(svc: Services, name: str, verify: bool) -> tuple[int, list[str]]:
    runner = svc.projections.get(name)
    position, found = Rebuild(svc.app, svc.db, runner, batch_size=50).run(verify)
    return position, [d.describe() for d in found]


@pytest.mark.parametrize("name", ["partner_directory", "commissions", "ledger", "program"])
def test_a_verify_after_a_long_history_finds_no_difference(services: Services,
                                                           name: str) -> None:
    history(services)
    position, differences = rebuild(services, name, verify=True)
    assert position == services.app.position() and differences == []


def test_a_row_altered_by_hand_is_named_by_table_key_and_column(services: Services) -> None:
    history(services)
    with services.db.transaction() as cursor:
        cursor.execute("UPDATE statement SET amount = amount + 1 WHERE seq = "
                       "(SELECT MIN(seq) FROM statement)")
        cursor.execute("DELETE FROM ledger_payouts WHERE payout_id = "
                       "(SELECT MIN(payout_id) FROM ledger_payouts)")
    _, differences = rebuild(services, "ledger", verify=True)
    assert any(d.startswith("statement key (") and "column amount" in d for d in differences)
    assert any(d.startswith("ledger_payouts key (") and "row rebuilt only" in d
               for d in differences)
    # a rebuild swaps in the right rows; a verify then finds nothing
    rebuild(services, "ledger", verify=False)
    assert rebuild(services, "ledger", verify=True)[1] == []


HAND_KEYS = ["a-hand", "B-hand", "\u00e9-hand", "Z-hand"]


def test_rows_added_and_removed_by_hand_are_named_whatever_their_keys_case(
        services: Services) -> None:
    history(services)
    with services.db.transaction() as cursor:
        for key in HAND_KEYS:  # copies of one partner under keys a locale would sort apart
            cursor.execute(
                "INSERT INTO partner_directory SELECT ?, seq, name, email, company, type, "
                "country, status, status_reason, tier, plan_id, applied_at, updated_at, "
                "version FROM partner_directory WHERE partner_id = ?",
                (key, str(DEMO_PARTNER_ID)))
        cursor.execute("DELETE FROM partner_directory WHERE partner_id = ?",
                       (str(DEMO_PARTNER_ID),))
    _, differences = rebuild(services, "partner_directory", verify=True)
    assert sorted(differences) == sorted(
        [f"partner_directory key ({key!r},): row live only" for key in HAND_KEYS]
        + [f"partner_directory key ({str(DEMO_PARTNER_ID)!r},): row rebuilt only"])


def test_the_order_asked_of_the_database_is_the_walks(services: Services) -> None:
    keys = ["", "B", "a", "\u00e9", "e", "Z", "10", "9", "\U0001f600", "a b", "ab"]
    with services.db.transaction() as cursor:
        # declared with a collation that sorts text as people read it, where there is one
        collation = "NOCASE"
        if services.db.dialect == "postgres":
            cursor.execute("SELECT collname FROM pg_collation WHERE collname = 'und-x-icu'")
            collation = '"und-x-icu"' if cursor.fetchone() is not None else '"C"'
        cursor.execute(f"CREATE TABLE diff_probe (id TEXT COLLATE {collation} PRIMARY KEY, "
                       "n BIGINT NOT NULL)")
        cursor.executemany("INSERT INTO diff_probe VALUES (?, ?)",
                           [(key, n) for n, key in enumerate(keys)])
        order = order_by(cursor, "diff_probe", ["id", "n"])
        cursor.execute(f"SELECT id, n FROM diff_probe ORDER BY {order}")
        got = [(row["id"], row["n"]) for row in cursor.fetchall()]
    assert got == sorted(got, key=sort_key) and len(got) == len(keys)


def test_a_verify_wrong_everywhere_keeps_the_first_differences_and_says_so(
        services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    history(services)
    with services.db.transaction() as cursor:
        cursor.execute("UPDATE statement SET amount = amount + 1")
        cursor.execute("SELECT COUNT(*) AS n FROM statement")
        row = cursor.fetchone()
    assert row is not None and int(row["n"]) > 3
    monkeypatch.setattr("projections.table_diff.MOST_DIFFERENCES", 3)
    monkeypatch.setattr("api.cli.projections.MOST_DIFFERENCES", 3)
    monkeypatch.setenv("PARTNERLEDGER_DATABASE_URL", database_url)
    result = CliRunner().invoke(projections_group, ["rebuild", "ledger", "--verify"])
    assert result.exit_code == 1, result.output
    assert result.output.count("DIFFERENT statement key") == 3
    assert "3 differences (counting stopped at 3 in statement: there are more)" in result.output
    # exactly as many as are kept: no more to tell of
    with services.db.transaction() as cursor:
        cursor.execute("UPDATE statement SET amount = amount - 1 WHERE seq NOT IN "
                       "(SELECT seq FROM statement ORDER BY seq LIMIT 3)")
    result = CliRunner().invoke(projections_group, ["rebuild", "ledger", "--verify"])
    assert result.exit_code == 1 and "3 differences" in result.output
    assert "there are more" not in result.output


def test_reads_and_writes_go_on_while_a_rebuild_runs(services: Services) -> None:
    history(services)
    before = services.projections.get("ledger").position()
    errors: list[BaseException] = []
    written = []

    def writer() -> None:
        try:
            for n in range(20):
                services.app.execute(c.RecordPayment(None, f"in_during_{n}", "cust-globex",
                                                     Money.parse("10.00", "USD")))
                services.projections.catch_up()
                with services.db.transaction(commit=False) as cursor:
                    cursor.execute("SELECT COUNT(*) AS n FROM statement")
                    assert cursor.fetchone() is not None
                written.append(n)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    position, _ = rebuild(services, "ledger", verify=False)
    thread.join(60)
    assert not errors and len(written) == 20
    services.projections.catch_up()
    assert position >= before
    assert services.projections.get("ledger").position() == services.app.position()
    assert rebuild(services, "ledger", verify=True)[1] == []


def test_a_stopped_read_model_is_replaced_by_a_rebuild_once_its_bug_is_fixed(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    history(services)
    runner = services.projections.get("ledger")
    original = type(runner.projection).apply

    def broken(self: object, event: object, position: int, cursor: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(type(runner.projection), "apply", broken)
    services.app.execute(c.RecordPayment(None, "in_stop", "cust-globex",
                                         Money.parse("5.00", "USD")))
    with pytest.raises(ProjectionFailed):
        runner.catch_up()
    with pytest.raises(ProjectionFailed, match="failed at position 1 "):
        rebuild(services, "ledger", verify=True)  # the same bug stops the rebuild, loudly
    assert runner.recorded_failure() is not None
    monkeypatch.setattr(type(runner.projection), "apply", original)  # the bug is fixed
    position, _ = rebuild(services, "ledger", verify=False)
    assert position == services.app.position() == runner.position()
    assert runner.recorded_failure() is None
