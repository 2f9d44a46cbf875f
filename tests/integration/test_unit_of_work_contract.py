"""The in-memory fake and the real application agree: same outcome for every command, same state.

The refusal unit tests run on the fake (`tests/unit/memory.py`); these tests run one sequence
of commands, accepted and refused, through the fake and through the application on SQLite and
PostgreSQL side by side, so that what the fake shows holds for the stores too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.application import PartnerProgram
from adapters.settings import store_env
from adapters.sql import setup_lock
from domain import commands as c
from domain.errors import PartnerLedgerError
from domain.money import Money
from domain.payouts import Payout
from tests.factories import terms
from tests.unit.memory import MemoryUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# The recording time of every command, on both sides.
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def money(amount: str, currency: str = "USD") -> Money:
    return Money.parse(amount, currency)


@pytest.fixture
def real(database_url: str) -> Iterator[PartnerProgram]:
    """The application on a fresh store, its clock stopped at NOW."""
    env = store_env(database_url)
    with setup_lock(env):  # creates the PostgreSQL schema
        app = PartnerProgram(env=env, clock=lambda: NOW)
    yield app
    app.close()


def outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """What a client sees of one command: the aggregate it returned, or the refusal's type
    and every member a client may be shown (not the wording of the detail)."""
    try:
        aggregate = run()
    except PartnerLedgerError as error:
        return ("refused", type(error).__name__, error.extra, getattr(error, "errors", None),
                error.public_detail, error.owner_id)
    return ("accepted", type(aggregate).__name__, aggregate.id)


def state(aggregate: Any) -> dict[str, Any]:
    """An aggregate's public attributes, its id and version."""
    public = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    return public | {"id": aggregate.id, "version": aggregate.version}


def streams(events: list[Any]) -> dict[uuid.UUID, list[tuple[str, dict[str, Any]]]]:
    """Each aggregate's events in version order, as (type, data without the recording time)."""
    by_id: dict[uuid.UUID, list[Any]] = {}
    for event in events:
        by_id.setdefault(event.originator_id, []).append(event)
    return {
        aggregate_id: [
            (type(e).__name__, {k: v for k, v in vars(e).items() if k != "timestamp"})
            for e in sorted(found, key=lambda e: e.originator_version)
        ]
        for aggregate_id, found in by_id.items()
    }


@dataclass
class SideBySide:
    """Runs each command on the fake and on the application and compares what they did."""

    real: PartnerProgram
    fake: MemoryUnitOfWork = field(default_factory=MemoryUnitOfWork)
    start: int = 0
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.real.recorder.max_notification_id() or 0

    def run(self, command: c.Command) -> None:
        expected = outcome(lambda: self.fake.run(command, NOW))
        actual = outcome(lambda: self.real.execute(command).aggregate)
        assert actual == expected, command
        self.outcomes.append(expected)

    def check_states(self) -> None:
        """Every aggregate the fake holds is stored alike, and the store holds no other."""
        notifications = self.real.recorder.select_notifications(self.start + 1, 1_000_000)
        stored = [self.real.mapper.to_domain_event(n) for n in notifications]
        assert streams(stored) == streams(self.fake.events)
        for aggregate_id, aggregate in self.fake.aggregates.items():
            assert state(self.real.repository.get(aggregate_id)) == state(aggregate)

    def refused(self) -> set[str]:
        """The types of the refusals seen so far."""
        return {o[1] for o in self.outcomes if o[0] == "refused"}


def scenario() -> list[c.Command]:
    """A program's first months, with a refusal of every kind along the way."""
    plan, a, b, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    won, conflicting, unapproved = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    lead, own, stale = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    mug, first_run, agreement = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    schedule = ((Decimal("100000"), Decimal("0.05")), (None, Decimal("0.08")))
    return [
        c.CreatePlan(T0, plan, terms()),
        c.CreatePlan(T0, plan, terms()),  # duplicate id
        c.ApplyPartner(T0, a, "A", "ops@a.example", "A Ltd", "referral", "GB"),
        c.ApplyPartner(T0, uuid.uuid4(), "X", " OPS@a.example", "X", "agency", "DE"),  # email
        c.ApprovePartner(T0, a, uuid.uuid4()),  # unknown plan
        c.ApprovePartner(T0, a, plan),
        c.ApprovePartner(T0, a, plan),  # already active
        c.ApplyPartner(T0, b, "B", "ops@b.example", "B Ltd", "reseller", "US"),
        c.ApprovePartner(T0, b, plan),
        c.RegisterDeal(day(1), won, a, "Acme", "acme.example", money("5000.00")),
        c.RegisterDeal(day(2), conflicting, b, "Acme", "www.acme.example", money("100.00")),
        c.RegisterDeal(day(2), uuid.uuid4(), a, "Beta", "beta.example", money("1", "EUR")),
        c.RegisterDeal(day(2), b, a, "Beta", "beta.example", money("1.00")),  # id taken
        c.ApproveDeal(day(2), won),
        c.ApproveDeal(day(3), won),  # already approved
        c.CloseDealWon(day(4), won, money("60000.00"), True),  # promotes to gold
        c.RegisterDeal(day(5), unapproved, b, "Gamma", "gamma.example", money("10.00")),
        c.CloseDealWon(day(6), unapproved, money("10.00"), True),  # not approved
        c.ExpireDeal(day(50), unapproved),  # still protected
        c.ExpireDeal(day(100), unapproved),
        c.RecordReferral(day(1), lead, a, "cto@lead.example", "Lead"),
        c.RecordReferral(day(2), uuid.uuid4(), b, "CTO@lead.example", "Lead"),  # first touch
        c.RecordReferral(day(1), own, a, "boss@a.example", "A"),  # self-referral
        c.ConvertReferral(day(2), own, "cust-own"),
        c.ConvertReferral(day(3), lead, "cust-1"),
        c.ConvertReferral(day(3), lead, "cust-2"),  # converted already
        c.RecordReferral(day(1), stale, b, "cfo@other.example", "Other"),
        c.ConvertReferral(day(200), stale, "cust-3"),  # window closed
        c.ConvertReferral(day(3), uuid.uuid4(), "cust-4"),  # unknown
        c.RecordPayment(day(5), "in_1", "cust-1", money("500.00")),
        c.RecordPayment(None, "in_1", "cust-1", money("500.00")),  # a repeat
        c.RecordPayment(day(5), "in_1", "cust-1", money("501.00")),  # other details
        c.RecordPayment(day(5), "in_2", "cust-1", money("5.00", "EUR")),
        c.RecordPayment(day(5), "in_3", "walk-in", money("40.00")),  # nobody's customer
        c.IssueRefund(day(6), "re_1", "in_1", money("100.00")),
        c.IssueRefund(day(6), "re_2", "in_1", money("400.01")),  # more than is left
        c.IssueRefund(day(6), "re_3", "in_404", money("1.00")),
        c.IssueRefund(day(4), "re_4", "in_1", money("1.00")),  # before the payment
        c.RedeemPoints(day(7), mug, a, 60, "mug"),
        c.RedeemPoints(day(7), uuid.uuid4(), a, 41, "mug"),  # 40 left
        c.RedeemPoints(day(7), mug, a, 1, "mug"),  # spent already
        c.RedeemPoints(day(7), uuid.uuid4(), b, 1, "mug"),  # no account: none is opened
        c.RunPayouts(day(40), first_run, None, (a, b, uuid.uuid4())),
        c.RunPayouts(day(40), first_run, None, (a, b)),  # id taken
        c.RunPayouts(day(40), uuid.uuid4(), day(41), (a,)),  # as of a later time
        c.ConfirmPayout(day(41), Payout.id_for(first_run, a), "wire-1"),
        c.FailPayout(day(42), Payout.id_for(first_run, a), "late"),  # paid already
        c.ConfirmPayout(day(41), Payout.id_for(first_run, b), "wire-2"),  # none was made
        c.SignRoyaltyAgreement(day(1), agreement, a, "USD", schedule, money("3000.00"),
                               date(2026, 1, 1)),
        c.SignRoyaltyAgreement(day(1), uuid.uuid4(), a, "EUR", schedule, None,
                               date(2026, 1, 1)),
        c.SignRoyaltyAgreement(day(1), uuid.uuid4(), a, "USD", (), None, date(2026, 1, 1)),
        c.ReportRoyalty(day(60), agreement, "2026-01", money("60000.00"), money("0.00")),
        c.ReportRoyalty(day(60), agreement, "2026-02", money("10.00"), money("20.00")),
        c.ReportRoyalty(day(61), agreement, "2026-01", money("40000.00"), money("0.00")),
        c.CloseRoyaltyQuarter(day(100), agreement, "2026-Q1"),  # tops up 1,000.00
        c.CloseRoyaltyQuarter(day(100), agreement, "2026-Q1"),  # closed: nothing changes
        c.CloseRoyaltyQuarter(day(100), agreement, "2025-Q4"),  # before the start
        c.ReportRoyalty(day(101), agreement, "2026-03", money("30000.00"), money("0.00")),
        c.SuspendPartner(day(110), b, "review"),
        c.RegisterDeal(day(111), uuid.uuid4(), b, "Delta", "delta.example", money("1.00")),
        c.ReactivatePartner(day(112), b),
        c.TerminatePartner(day(113), b, "ended"),
        c.ApplyPartner(day(114), later, "B2", "ops@b.example", "B Ltd", "reseller", "US"),
        c.RevisePlan(day(120), plan, {"deal_rate": Decimal("0.20")}),
        c.RevisePlan(day(119), plan, {"deal_rate": Decimal("0.25")}),  # before the newest
        c.RevisePlan(day(121), plan, {"currency": "EUR"}),
        c.RunPayouts(day(200), uuid.uuid4(), None, (a, b, later)),
        c.RegisterDeal(datetime(9999, 1, 1, tzinfo=UTC), uuid.uuid4(), a, "Far",
                       "far.example", money("1.00")),  # business time out of bounds
    ]


def test_a_scripted_history_runs_alike_on_the_fake_and_the_store(real: PartnerProgram) -> None:
    both = SideBySide(real)
    for command in scenario():
        both.run(command)
    both.check_states()
    assert both.refused() == {
        "Duplicate", "NotFound", "InvalidTransition", "InvalidInput", "CurrencyMismatch",
        "DealConflict", "AttributionExpired", "RefundExceedsPayment", "InsufficientPoints"}
    assert sum(1 for o in both.outcomes if o[0] == "accepted") > 30


# Generated histories: a few partners, deals, referrals, customers and runs, so that the
# commands collide on the same aggregates and natural keys.
SLOT = st.integers(min_value=0, max_value=2)
DAY = st.sampled_from([1, 3, 40, 100, 200])
AMOUNT = st.sampled_from(["0.00", "10.00", "500.00", "60000.00"])
CURRENCY = st.sampled_from(["USD", "USD", "EUR"])
STEPS = st.one_of(
    st.tuples(st.just("apply"), SLOT, SLOT),
    st.tuples(st.sampled_from(["approve", "reject", "suspend", "reactivate", "terminate"]),
              SLOT, DAY),
    st.tuples(st.just("register"), SLOT, SLOT, st.integers(min_value=0, max_value=1), DAY),
    st.tuples(st.sampled_from(["approve_deal", "reject_deal", "lose", "expire"]), SLOT, DAY),
    st.tuples(st.just("win"), SLOT, AMOUNT, CURRENCY, DAY),
    st.tuples(st.just("refer"), SLOT, SLOT, SLOT, DAY),
    st.tuples(st.just("convert"), SLOT, SLOT, DAY),
    st.tuples(st.just("pay"), SLOT, SLOT, AMOUNT, CURRENCY, DAY),
    st.tuples(st.just("refund"), SLOT, SLOT, AMOUNT, DAY),
    st.tuples(st.just("redeem"), SLOT, SLOT, st.integers(min_value=1, max_value=150)),
    st.tuples(st.just("run"), SLOT, DAY),
    st.tuples(st.sampled_from(["confirm", "fail"]), SLOT, SLOT, DAY),
)


# Every generated history starts with two active partners, a deal won, a paying customer.
PRELUDE: list[tuple[Any, ...]] = [
    ("apply", 0, 0), ("apply", 1, 1), ("apply", 2, 2), ("approve", 0, 1), ("approve", 1, 1),
    ("register", 0, 0, 0, 1), ("approve_deal", 0, 1), ("win", 0, "500.00", "USD", 3),
    ("refer", 1, 0, 0, 1), ("convert", 0, 0, 3), ("pay", 0, 0, "500.00", "USD", 3),
]


def slots() -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(3)]


class Names:
    """Ids and natural keys of one generated history, apart from every other history's."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.plan = uuid.uuid4()
        self.partners, self.deals, self.referrals = slots(), slots(), slots()
        self.redemptions, self.runs = slots(), slots()

    def command(self, step: tuple[Any, ...]) -> c.Command:
        """The command a generated step stands for."""
        kind, *args = step
        partner_steps: dict[str, Callable[[uuid.UUID, datetime], c.Command]] = {
            "approve": lambda p, t: c.ApprovePartner(t, p, self.plan),
            "reject": lambda p, t: c.RejectPartner(t, p, None),
            "suspend": lambda p, t: c.SuspendPartner(t, p, None),
            "reactivate": lambda p, t: c.ReactivatePartner(t, p),
            "terminate": lambda p, t: c.TerminatePartner(t, p, None),
        }
        deal_steps: dict[str, Callable[[uuid.UUID, datetime], c.Command]] = {
            "approve_deal": lambda d, t: c.ApproveDeal(t, d),
            "reject_deal": lambda d, t: c.RejectDeal(t, d, None),
            "lose": lambda d, t: c.CloseDealLost(t, d, None),
            "expire": lambda d, t: c.ExpireDeal(t, d),
        }
        if kind == "apply":
            partner, email = args
            return c.ApplyPartner(T0, self.partners[partner], "P", f"ops@p{email}-{self.tag}.ex",
                                  "P Ltd", "referral", "GB")
        if kind in partner_steps:
            return partner_steps[kind](self.partners[args[0]], day(args[1]))
        if kind == "register":
            partner, deal, domain, when = args
            return c.RegisterDeal(day(when), self.deals[deal], self.partners[partner], "C",
                                  f"d{domain}-{self.tag}.example", money("100.00"))
        if kind in deal_steps:
            return deal_steps[kind](self.deals[args[0]], day(args[1]))
        if kind == "win":
            deal, amount, currency, when = args
            return c.CloseDealWon(day(when), self.deals[deal], money(amount, currency), True)
        if kind == "refer":
            partner, referral, lead, when = args
            return c.RecordReferral(day(when), self.referrals[referral], self.partners[partner],
                                    f"lead@l{lead}-{self.tag}.example", "L")
        if kind == "convert":
            referral, customer, when = args
            return c.ConvertReferral(day(when), self.referrals[referral],
                                     f"{self.tag}-c{customer}")
        if kind == "pay":
            payment, customer, amount, currency, when = args
            return c.RecordPayment(day(when), f"{self.tag}-in{payment}",
                                   f"{self.tag}-c{customer}", money(amount, currency))
        if kind == "refund":
            refund, payment, amount, when = args
            return c.IssueRefund(day(when), f"{self.tag}-re{refund}", f"{self.tag}-in{payment}",
                                 money(amount))
        if kind == "redeem":
            partner, redemption, points = args
            return c.RedeemPoints(day(200), self.redemptions[redemption],
                                  self.partners[partner], points, "gift")
        if kind == "run":
            run, when = args
            return c.RunPayouts(day(when), self.runs[run], None, tuple(self.partners))
        run, partner, when = args
        payout = Payout.id_for(self.runs[run], self.partners[partner])
        if kind == "confirm":
            return c.ConfirmPayout(day(when), payout, "wire")
        return c.FailPayout(day(when), payout, "bounced")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEPS, min_size=3, max_size=25))
def test_generated_histories_run_alike_on_the_fake_and_the_store(
    real: PartnerProgram, steps: list[tuple[Any, ...]]
) -> None:
    names = Names()
    both = SideBySide(real)
    both.run(c.CreatePlan(T0, names.plan, terms()))
    for step in PRELUDE + steps:
        both.run(names.command(step))
    both.check_states()
