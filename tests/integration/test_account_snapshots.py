"""Partner accounts load through snapshots and come back exactly as a full replay builds them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from eventsourcing.application import project_aggregate

from api.services import Services
from domain import commands as c
from domain.accounts import PartnerAccount
from domain.money import Money
from tests.factories import terms

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_a_long_account_snapshots_and_reloads_to_the_same_state(services: Services) -> None:
    app = services.app
    plan, pid = uuid.uuid4(), uuid.uuid4()
    app.execute_batch([
        c.CreatePlan(T0, plan, terms(hold_days=5, tiers=())),
        c.ApplyPartner(T0, pid, "P", "p@snap.example", "P", "referral", "GB"),
        c.ApprovePartner(T0, pid, plan),
        c.RecordReferral(T0, uuid.uuid4(), pid, "lead@snap-lead.example", "L"),
    ])
    [ref_event] = [n for n in app.recorder.select_notifications(1, 100)
                   if n.topic.endswith("Referral.Recorded")]
    app.execute(c.ConvertReferral(T0, ref_event.originator_id, "cust-snap"))
    for batch in range(4):
        when = T0 + timedelta(days=10 * batch + 1)
        app.execute_batch([
            c.RecordPayment(when, f"in_{batch}_{n}", "cust-snap", Money.parse("10.00", "USD"))
            for n in range(150)
        ])
        run = app.execute(c.RunPayouts(when + timedelta(days=6), uuid.uuid4(),
                                       when + timedelta(days=6), (pid,))).aggregate
        for payout_id in run.payout_ids:  # type: ignore[union-attr]
            if batch % 2:
                app.execute(c.FailPayout(when + timedelta(days=7), payout_id, "bounced"))
            else:
                app.execute(c.ConfirmPayout(when + timedelta(days=7), payout_id, "wire"))
        app.execute(c.IssueRefund(when + timedelta(days=8), f"re_{batch}", f"in_{batch}_0",
                                  Money.parse("5.00", "USD")))
    account_id = PartnerAccount.id_for(pid)
    assert app.snapshots is not None
    assert list(app.snapshots.get(account_id, desc=True, limit=1)), "no snapshot was taken"
    via_snapshot = app.repository.get(account_id)
    replayed = project_aggregate(None, list(app.events.get(account_id)))
    assert isinstance(via_snapshot, PartnerAccount) and isinstance(replayed, PartnerAccount)
    for name in ("earned", "reversed", "points", "ledger", "currency", "version"):
        assert getattr(via_snapshot, name) == getattr(replayed, name), name
    assert via_snapshot.revenue_days == replayed.revenue_days
    when = T0 + timedelta(days=60)
    assert via_snapshot.payable(when) == replayed.payable(when)
