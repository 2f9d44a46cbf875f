"""Every kind of event, stored at the extremes of every bounded field, projects, rebuilds and
exports; so do events stored before the bounds existed, at the very ends of the calendar."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from api.kafka.relay import Relay
from api.services import Services
from domain import commands as c
from domain.business_time import CLOCK_SKEW, EARLIEST, PLAN_LEAD
from domain.deals import DealConflict
from domain.handlers import dispatch
from domain.money import Money
from domain.payouts import Payout
from domain.tiers import Tier
from tests.factories import terms

BIGGEST = "999999999999999.99"  # 15 digits before the point, the currency's 2 after
LONG = "x" * 200


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


def every_kind_of_command(low: bool, at: Callable[[], datetime]) -> list[c.Command]:
    """Commands that between them record every kind of event, all dated `at()`."""
    plan, plan2, run, run2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    partners = [uuid.uuid4() for _ in range(4)]
    holder, rival, quitter, rejected = partners
    deals = [uuid.uuid4() for _ in range(5)]
    referral, self_referral, redemption = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    early_referral = uuid.uuid4()
    agreement = uuid.uuid4()
    t = at()
    month = date(1970, 1, 1) if low else t.date().replace(day=1)
    quarter = f"{month.year}-Q{(month.month - 1) // 3 + 1}"
    revised_at = t if low else at() + PLAN_LEAD - CLOCK_SKEW
    # a payout run never pays money dated after its recording: what the high runs pay was
    # earned a day earlier
    payable_at = t if low else t - timedelta(days=1)
    commands: list[c.Command] = [
        c.CreatePlan(t, plan, terms(
            name=LONG, hold_days=0, deal_rate=Decimal("0.5"), referral_rate=Decimal("0.5"),
            min_payout=usd("0.01"), points_per_conversion=1_000_000,
            tiers=(Tier(LONG, usd("1.00"), Decimal("0.5")),))),
        c.RevisePlan(revised_at, plan, {"referral_rate": Decimal("1")}),
        *[c.ApplyPartner(t, pid, LONG, f"{pid.hex}@{pid.hex[:8]}.example", LONG, "agency", "NZ")
          for pid in partners],
        *[c.ApprovePartner(t, pid, plan) for pid in (holder, rival, quitter)],
        c.RejectPartner(t, rejected, LONG),
        c.RegisterDeal(t, deals[0], holder, LONG, "customer.example", usd(BIGGEST)),
        c.RegisterDeal(t, deals[1], rival, LONG, "www.Customer.example", usd(BIGGEST)),
        c.ApproveDeal(t, deals[0]),
        c.CloseDealWon(t, deals[0], usd(BIGGEST), True),
        c.RegisterDeal(t, deals[2], holder, LONG, "two.example", usd("0.00")),
        c.RejectDeal(t, deals[2], LONG),
        c.RegisterDeal(t, deals[3], holder, LONG, "three.example", usd("0.01")),
        c.CloseDealLost(t, deals[3], LONG),
        c.RegisterDeal(t, deals[4], holder, LONG, "four.example", usd("0.01")),
        c.RecordReferral(t, referral, holder, "cfo@lead.example", LONG),
        c.RecordReferral(t, self_referral, holder, f"me@{holder.hex[:8]}.example", LONG),
        c.ConvertReferral(t, referral, LONG),
        c.RecordPayment(t, LONG, LONG, usd(BIGGEST)),
        c.IssueRefund(t, "re_part", LONG, usd("0.01")),
        c.IssueRefund(t, "re_rest", LONG, usd("999999999999999.98")),
        c.RecordReferral(payable_at, early_referral, holder, "early@lead.example", LONG),
        c.ConvertReferral(payable_at, early_referral, "cust-early"),
        c.RecordPayment(payable_at, "in_2", "cust-early", usd("100.00")),
        c.RedeemPoints(t, redemption, holder, 1_000_000, LONG),
        c.RunPayouts(t, run, None, (holder, rival, quitter)),
        c.ConfirmPayout(t, Payout.id_for(run, holder), LONG),
        c.RecordPayment(payable_at, "in_3", "cust-early", usd("100.00")),
        c.RunPayouts(t, run2, None, (holder,)),
        c.FailPayout(t, Payout.id_for(run2, holder), LONG),
        c.SignRoyaltyAgreement(t, agreement, holder, "USD",
                               ((Decimal("999999999999999"), Decimal("0.5")),
                                (None, Decimal("1"))),
                               usd(BIGGEST), month),
        c.ReportRoyalty(t, agreement, f"{month:%Y-%m}", usd(BIGGEST), usd("0.00")),
        c.ReportRoyalty(t, agreement, f"{month:%Y-%m}", usd("0.01"), usd("0.01")),
        c.CloseRoyaltyQuarter(t, agreement, quarter),
        c.ChangePartnerDetails(t, rival, "y" * 200, "z" * 200, "FJ"),
        c.CreatePlan(t, plan2, terms(name=LONG, hold_days=0, min_payout=usd("0.01"))),
        c.MovePartnerToPlan(t, rival, plan2),
        c.AdjustBalance(t, uuid.uuid4(), rival, usd(BIGGEST), LONG),
        c.AdjustBalance(t, uuid.uuid4(), rival, -usd(BIGGEST), LONG),
        c.AdjustBalance(t, uuid.uuid4(), rival, -usd("0.01"), LONG),
        c.SuspendPartner(t, quitter, LONG),
        c.ReactivatePartner(t, quitter),
        c.TerminatePartner(t, quitter, LONG),
    ]
    if low:  # an open deal's window can have ended only for the earliest dates
        commands.append(c.ExpireDeal(t + timedelta(days=91), deals[4]))
    return commands


def tables(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every read model's rows, in a stable order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with services.db.transaction(commit=False) as cursor:
        for runner in services.projections.runners:
            for table in runner.projection.table_names:
                cursor.execute(f"SELECT * FROM {table}")
                out[table] = sorted(tuple(str(v) for v in dict(row).values())
                                    for row in cursor.fetchall())
    return out


def assert_projects_rebuilds_and_exports(services: Services) -> None:
    store = services.app.position()
    assert services.projections.catch_up() == store
    for runner in services.projections.runners:
        assert runner.recorded_failure() is None
    live = tables(services)
    for runner in services.projections.runners:
        assert runner.rebuild() == store
    assert tables(services) == live
    relay = cast(Relay, object.__new__(Relay))
    for notification in services.app.recorder.select_notifications(1, store):
        event = services.app.mapper.to_domain_event(notification)
        document = json.loads(json.dumps(Relay.document(relay, notification, event)))
        assert document["position"] == notification.id


@pytest.mark.parametrize("low", [True, False], ids=["1970-01-01", "now+5min"])
def test_every_kind_of_event_at_the_bounds_projects_rebuilds_and_exports(
    services: Services, low: bool
) -> None:
    def at() -> datetime:
        return EARLIEST if low else services.app.clock() + CLOCK_SKEW

    kinds: Counter[str] = Counter()
    for command in every_kind_of_command(low, at):
        try:
            outcome = services.app.execute(command)
        except DealConflict:
            kinds["DealConflict"] += 1
            continue
        assert outcome.events, command
    for notification in services.app.recorder.select_notifications(1, 10_000):
        kinds[notification.topic.rsplit(".", 1)[-1]] += 1
    expected = {"Registered", "Approved", "Rejected", "Won", "Lost", "Applied", "Suspended",
                "Reactivated", "Terminated", "Accrued", "Reversed", "TierPromoted",
                "PointsAwarded", "PointsRedeemed", "Started", "Confirmed", "Failed",
                "Converted", "Recorded", "Signed", "Reported", "QuarterClosed",
                "ConflictRecorded", "Revised", "Completed", "DetailsChanged",
                "Adjusted", "PlanChanged"}
    if low:
        expected.add("Expired")
    assert expected <= set(kinds), expected - set(kinds)
    assert_projects_rebuilds_and_exports(services)


def test_events_stored_before_the_bounds_existed_still_project_rebuild_and_export(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Times the bounds now refuse, as an earlier version could have stored them."""
    monkeypatch.setattr(dispatch, "check_command", lambda *_: None)
    year_one_east = datetime.fromisoformat("0001-01-01T00:00:00+14:00")
    year_9999_west = datetime.fromisoformat("9999-12-31T23:59:59-12:00")
    plan, partner, deal, referral = (uuid.uuid4() for _ in range(4))
    for command in [
        c.CreatePlan(year_one_east, plan, terms()),
        c.ApplyPartner(year_one_east, partner, "P", "p@p.example", "P", "agency", "NZ"),
        c.ApprovePartner(year_one_east, partner, plan),
        c.RegisterDeal(year_one_east, deal, partner, "C", "c.example", usd("1.00")),
        c.RecordReferral(year_one_east, referral, partner, "l@lead.example", "L"),
        c.RecordPayment(year_9999_west, "in_far", "cust-unknown", usd("1.00")),
        c.SuspendPartner(year_9999_west, partner, "far"),
    ]:
        services.app.execute(command)
    monkeypatch.undo()
    assert_projects_rebuilds_and_exports(services)
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT registered_at FROM deals WHERE deal_id = ?", (str(deal),))
        row = cursor.fetchone()
    assert row is not None
    assert str(row["registered_at"]) == "0001-01-01T00:00:00.000000+00:00"  # clamped
