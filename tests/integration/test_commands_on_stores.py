"""Commands against the real stores: transitions, refusals that write nothing, batches."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from api.services import Services
from domain import commands as c
from domain.errors import Duplicate, InvalidTransition, NotFound
from domain.handlers.registry import HANDLERS, Handling
from domain.partners import TRANSITIONS, Partner
from domain.plans import Plan
from tests.conftest import count_events
from tests.factories import terms

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PATHS = {"applied": (), "active": ("approve",), "rejected": ("reject",),
         "suspended": ("approve", "suspend"), "terminated": ("approve", "terminate")}


def make_command(name: str, partner_id: uuid.UUID, plan_id: uuid.UUID) -> c.Command:
    return {
        "approve": lambda: c.ApprovePartner(NOW, partner_id, plan_id),
        "reject": lambda: c.RejectPartner(NOW, partner_id, "no"),
        "suspend": lambda: c.SuspendPartner(NOW, partner_id, "review"),
        "reactivate": lambda: c.ReactivatePartner(NOW, partner_id),
        "terminate": lambda: c.TerminatePartner(NOW, partner_id, "ended"),
    }[name]()


def apply_command(email: str = "") -> c.ApplyPartner:
    return c.ApplyPartner(NOW, uuid.uuid4(), "Ada", email or f"{uuid.uuid4().hex}@p.example",
                          "Ada Ltd", "referral", "GB")


@pytest.fixture
def plan_id(services: Services) -> uuid.UUID:
    plan = uuid.uuid4()
    services.app.execute(c.CreatePlan(NOW, plan, terms()))
    return plan


@pytest.mark.parametrize("state", sorted(PATHS))
@pytest.mark.parametrize("command", sorted(TRANSITIONS))
def test_every_transition_and_refusal_is_stored_or_writes_nothing(
    services: Services, plan_id: uuid.UUID, state: str, command: str
) -> None:
    applied = apply_command()
    services.app.execute(applied)
    for step in PATHS[state]:
        services.app.execute(make_command(step, applied.id, plan_id))
    before = count_events(services)
    sources, target = TRANSITIONS[command]
    if state in sources:
        outcome = services.app.execute(make_command(command, applied.id, plan_id))
        assert outcome.position is not None
        assert count_events(services) >= before + 1
        assert services.app.get_aggregate(Partner, applied.id).status == target
    else:
        with pytest.raises(InvalidTransition):
            services.app.execute(make_command(command, applied.id, plan_id))
        assert count_events(services) == before
        assert services.app.get_aggregate(Partner, applied.id).status == state


def test_approval_on_an_unknown_plan_is_refused_and_writes_nothing(services: Services) -> None:
    applied = apply_command()
    services.app.execute(applied)
    before = count_events(services)
    with pytest.raises(NotFound):
        services.app.execute(c.ApprovePartner(NOW, applied.id, uuid.uuid4()))
    assert count_events(services) == before


def test_an_email_may_apply_again_only_after_rejection_or_termination(
    services: Services, plan_id: uuid.UUID
) -> None:
    first = apply_command("ops@acme.example")
    services.app.execute(first)
    with pytest.raises(Duplicate):
        services.app.execute(apply_command("OPS@acme.example "))
    services.app.execute(c.ApprovePartner(NOW, first.id, plan_id))
    services.app.execute(c.SuspendPartner(NOW, first.id, None))
    with pytest.raises(Duplicate):
        services.app.execute(apply_command("ops@acme.example"))
    services.app.execute(c.TerminatePartner(NOW, first.id, None))
    again = apply_command("ops@acme.example")
    services.app.execute(again)
    assert services.app.get_aggregate(Partner, again.id).status == "applied"


def test_a_client_supplied_id_cannot_be_reused(services: Services, plan_id: uuid.UUID) -> None:
    with pytest.raises(Duplicate):
        services.app.execute(c.CreatePlan(NOW, plan_id, terms()))
    applied = apply_command()
    with pytest.raises(Duplicate):
        services.app.execute(c.ApplyPartner(NOW, plan_id, "X", "x@y.example", "X", "agency",
                                            "DE"))
    services.app.execute(applied)


def test_a_batch_is_one_transaction_where_refusals_leave_the_rest_intact(
    services: Services, plan_id: uuid.UUID
) -> None:
    a, b = apply_command("a@batch.example"), apply_command("b@batch.example")
    batch = [
        a,
        c.ApprovePartner(NOW, a.id, plan_id),
        c.ApprovePartner(NOW, a.id, plan_id),       # refused: already active
        apply_command("a@batch.example"),           # refused: duplicate email within the batch
        b,
        c.RejectPartner(NOW, b.id, "no"),
        apply_command("b@batch.example"),           # accepted: b was rejected earlier in the batch
        c.SuspendPartner(NOW, uuid.uuid4(), None),  # refused: unknown partner
    ]
    before = count_events(services)
    result = services.app.execute_batch(batch)
    errors = [type(o.error).__name__ if o.error else None for o in result.outcomes]
    assert errors == [None, None, "InvalidTransition", "Duplicate", None, None, None, "NotFound"]
    assert services.app.get_aggregate(Partner, a.id).status == "active"
    assert services.app.get_aggregate(Partner, b.id).status == "rejected"
    positions = [o.position for o in result.outcomes if o.error is None]
    assert positions == sorted(positions)
    assert result.position == max(positions)
    # a: applied + claim opened, approved; b: applied + claim opened, rejected + released;
    # b again: applied + claimed. Nothing of the refused commands.
    assert count_events(services) - before == 9


def test_a_refused_command_mid_batch_is_undone_even_after_touching_an_aggregate(
    services: Services, plan_id: uuid.UUID
) -> None:
    a = apply_command()
    services.app.execute(a)
    result = services.app.execute_batch([
        c.ApprovePartner(NOW, a.id, uuid.uuid4()),  # loads the partner, then fails on the plan
        c.ApprovePartner(NOW, a.id, plan_id),
    ])
    assert isinstance(result.outcomes[0].error, NotFound)
    assert result.outcomes[1].error is None
    assert services.app.get_aggregate(Partner, a.id).plan_id == plan_id


def test_concurrent_applications_with_one_email_admit_exactly_one(services: Services) -> None:
    results: list[str] = []
    barrier = threading.Barrier(4)

    def apply_once() -> None:
        barrier.wait()
        try:
            services.app.execute(apply_command("race@p.example"))
            results.append("ok")
        except Duplicate:
            results.append("duplicate")

    threads = [threading.Thread(target=apply_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["duplicate", "duplicate", "duplicate", "ok"]


def test_concurrent_revisions_of_one_plan_all_land_once(
    services: Services, plan_id: uuid.UUID
) -> None:
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def revise(n: int) -> None:
        barrier.wait()
        try:
            services.app.execute(c.RevisePlan(None, plan_id, {"hold_days": n}))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=revise, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    plan = services.app.get_aggregate(Plan, plan_id)
    assert len(plan.versions) == 9
    assert sorted(v.terms.hold_days for v in plan.versions[1:]) == list(range(8))


def test_processes_starting_together_on_an_empty_store_all_come_up(database_url: str) -> None:
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url}
    processes = [
        subprocess.Popen([sys.executable, "-m", "api.cli", "projections", "status"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], results


@dataclass(frozen=True)
class SuspendThenFail(c.Command):
    """A command that changes two aggregates and is then refused."""

    partner_id: uuid.UUID
    plan_id: uuid.UUID


def suspend_then_fail(command: SuspendThenFail, aggregates: Any, occurred_at: datetime) -> Any:
    partner = aggregates.get(Partner, command.partner_id)
    partner.suspend("first", occurred_at)
    plan = aggregates.get(Plan, command.plan_id)
    plan.revise({"hold_days": 1}, occurred_at)
    raise InvalidTransition("refused after changing things")


def test_a_command_refused_after_changing_aggregates_is_undone_within_its_batch(
    services: Services, plan_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(HANDLERS, SuspendThenFail,
                        Handling(suspend_then_fail,
                                 lambda command: [command.partner_id, command.plan_id]))
    applied = apply_command()
    services.app.execute(applied)
    result = services.app.execute_batch([
        c.ApprovePartner(NOW, applied.id, plan_id),       # changes the partner (kept)
        SuspendThenFail(NOW, applied.id, plan_id),        # changes partner and plan, refused
        c.SuspendPartner(NOW, applied.id, "second"),      # sees the approved, unsuspended one
    ])
    assert [type(o.error).__name__ if o.error else None for o in result.outcomes] == \
        [None, "InvalidTransition", None]
    partner = services.app.get_aggregate(Partner, applied.id)
    assert (partner.status, partner.status_reason, partner.version) == ("suspended", "second", 3)
    assert len(services.app.get_aggregate(Plan, plan_id).versions) == 1
