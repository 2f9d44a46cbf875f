"""What a batch prefetches: every command type's `loads` names what its handler will load."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.billing import Payment, Refund
from domain.deals import DomainRegistration
from domain.errors import PartnerLedgerError
from domain.handlers.dispatch import loads
from domain.handlers.registry import HANDLERS
from domain.money import Money
from domain.partners import EmailClaim
from domain.payouts import Payout
from domain.referrals import CustomerAttribution, LeadClaim
from tests.factories import terms
from tests.unit.memory import MemoryUnitOfWork

A = TypeVar("A", bound=Aggregate)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# recorded late enough for royalty periods of 2026 to have begun
NOW = datetime(2028, 1, 1, tzinfo=UTC)
PLAN, P1, P2, P3, P4 = (uuid.UUID(int=n) for n in range(1, 6))
D1, D2, D3, D4, D5 = (uuid.UUID(int=n) for n in range(11, 16))
R1, R2, RUN1, RUN2, AGREEMENT = (uuid.UUID(int=n) for n in range(21, 26))
PLAN2, D6 = uuid.UUID(int=41), uuid.UUID(int=42)


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def scenario() -> list[c.Command]:
    """Every command type at least once, accepted and refused, in an order that makes sense."""
    return [
        c.CreatePlan(T0, PLAN, terms(hold_days=0)),
        c.RevisePlan(day(1), PLAN, {"deal_rate": Decimal("0.10")}),
        c.ApplyPartner(day(1), P1, "P1", "one@partner.example", "P1", "referral", "GB"),
        c.ApprovePartner(day(1), P1, PLAN),
        c.ApplyPartner(day(1), P2, "P2", "two@partner.example", "P2", "referral", "GB"),
        c.RejectPartner(day(1), P2, "no"),
        c.ApplyPartner(day(1), P3, "P3", "three@partner.example", "P3", "referral", "GB"),
        c.ApprovePartner(day(1), P3, PLAN),
        c.ApplyPartner(day(1), P4, "P4", "four@partner.example", "P4", "referral", "GB"),
        c.ApprovePartner(day(1), P4, PLAN),
        c.RegisterDeal(day(2), D1, P1, "Acme", "acme.example", usd("1000")),
        c.RegisterDeal(day(2), D5, P4, "Acme", "www.acme.example", usd("1000")),  # conflict
        c.ApproveDeal(day(2), D1),
        c.CloseDealWon(day(3), D1, usd("1000.00"), True),
        c.RegisterDeal(day(2), D2, P1, "Beta", "beta.example", usd("1000")),
        c.RejectDeal(day(3), D2, "no"),
        c.RegisterDeal(day(2), D3, P1, "Gamma", "gamma.example", usd("1000")),
        c.CloseDealLost(day(3), D3, "lost"),
        c.RegisterDeal(day(2), D4, P3, "Delta", "delta.example", usd("1000")),
        c.ExpireDeal(day(200), D4),
        c.RecordReferral(day(4), R1, P1, "lead@customer.example", "Customer"),
        c.RecordReferral(day(4), R2, P4, "lead@customer.example", "Customer"),  # held
        c.ConvertReferral(day(5), R1, "cust-1"),
        c.RecordPayment(day(6), "in_1", "cust-1", usd("500.00")),
        c.RecordPayment(day(6), "in_1", "cust-1", usd("500.00")),  # a repeat
        c.RecordPayment(day(6), "in_2", "cust-unknown", usd("500.00")),
        c.IssueRefund(day(7), "re_1", "in_1", usd("100.00")),
        c.RedeemPoints(day(8), uuid.uuid4(), P1, 10, "mug"),
        c.AdjustBalance(day(8), uuid.UUID(int=31), P1, usd("25.00"), "bonus"),
        c.AdjustBalance(day(8), uuid.UUID(int=32), P1, -usd("5.00"), "fee"),
        c.RunPayouts(day(9), RUN1, day(9), (P1, P2, P3)),
        c.ConfirmPayout(day(10), Payout.id_for(RUN1, P1), "ref"),
        c.ConfirmPayout(day(10), uuid.uuid5(RUN1, "unknown"), "ref"),  # no such payout
        c.CreatePlan(day(11), PLAN2, terms(hold_days=0, deal_rate=Decimal("0.30"))),
        c.MovePartnerToPlan(day(11), P1, PLAN2),
        c.RegisterDeal(day(11), D6, P1, "Zeta", "zeta.example", usd("1000")),
        c.ApproveDeal(day(11), D6),
        c.CloseDealWon(day(12), D6, usd("100.00"), True),
        c.ChangePartnerDetails(day(11), P3, "P3 Ltd", None, "DE"),
        c.ChangePartnerDetails(day(11), P3, "P3 Ltd"),  # nothing differs: no event
        c.ChangePartnerDetails(day(11), P2, "P2 again"),  # rejected: refused
        c.SuspendPartner(day(11), P3, "pause"),
        c.ReactivatePartner(day(12), P3),
        c.TerminatePartner(day(13), P3, "end"),
        c.SignRoyaltyAgreement(day(14), AGREEMENT, P1, "USD",
                               ((None, Decimal("0.05")),), usd("2000.00"), date(2026, 1, 1)),
        c.ReportRoyalty(day(15), AGREEMENT, "2026-01", usd("60000.00"), usd("0")),
        c.CloseRoyaltyQuarter(day(100), AGREEMENT, "2026-Q1"),
        c.RunPayouts(day(101), RUN2, day(101), (P1,)),
        c.FailPayout(day(102), Payout.id_for(RUN2, P1), "bounced"),
    ]


def found_through(aggregate: Aggregate) -> set[uuid.UUID]:
    """Ids a handler can learn from an aggregate it holds: those it names, and the ids
    derived from them (a partner's account, an email's or a domain's index)."""
    values = list(vars(aggregate).values())
    nested = [x for v in values if isinstance(v, list) for row in v
              if isinstance(row, list) for x in row]  # a partner's plan history
    ids = {aggregate.id} | {v for v in [*values, *nested] if isinstance(v, uuid.UUID)}
    derived = {PartnerAccount.id_for(i) for i in ids}
    for name, index in (("email", EmailClaim), ("lead_email", LeadClaim),
                        ("customer_domain", DomainRegistration)):
        value = getattr(aggregate, name, None)
        if isinstance(value, str):
            derived.add(index.id_for(value))
    return ids | derived


class RecordingUnitOfWork(MemoryUnitOfWork):
    """The in-memory fake, noting each id a handler loads that it could not know yet."""

    def __init__(self) -> None:
        super().__init__()
        self.known: set[uuid.UUID] = set()
        self.unexplained: list[uuid.UUID] = []
        self._adding = False

    def start(self, command: c.Command) -> None:
        self.known = set(loads(command))
        self.unexplained = []

    def _loading(self, aggregate_id: uuid.UUID) -> None:
        if not self._adding and aggregate_id not in self.known:
            self.unexplained.append(aggregate_id)

    def find(self, cls: type[A], aggregate_id: uuid.UUID) -> A | None:
        self._loading(aggregate_id)
        found = super().find(cls, aggregate_id)
        if found is not None:
            self.known |= found_through(found)
        return found

    def exists(self, aggregate_id: uuid.UUID) -> bool:
        self._loading(aggregate_id)
        return super().exists(aggregate_id)

    def add(self, aggregate: Aggregate) -> None:
        self._adding = True  # the fake's own check that the id is free is no handler's load
        try:
            super().add(aggregate)
        finally:
            self._adding = False
        self.known |= found_through(aggregate)


def test_the_scenario_runs_every_registered_command_type() -> None:
    assert {type(command) for command in scenario()} == set(HANDLERS)


def test_every_id_a_handler_loads_is_in_its_loads_or_found_through_what_it_loaded() -> None:
    ledger = RecordingUnitOfWork()
    unexplained: dict[str, list[uuid.UUID]] = {}
    outcomes: list[str] = []
    for command in scenario():
        ledger.start(command)
        try:
            ledger.run(command, NOW)
            outcomes.append("ok")
        except PartnerLedgerError as error:
            outcomes.append(type(error).__name__)
        if ledger.unexplained:
            unexplained[type(command).__name__] = ledger.unexplained
    assert unexplained == {}
    # the refusals above are the ones meant: a conflict, a held lead, an unknown payout, a
    # rejected partner's record edited
    assert [o for o in outcomes if o != "ok"] == ["DealConflict", "Duplicate", "NotFound",
                                                  "InvalidTransition"]


def touches_before_the_registry(command: c.Command) -> list[UUID]:
    """What the batch prefetched before each handler declared its loads."""
    ids: list[UUID] = []
    for name in ("id", "plan_id", "partner_id", "deal_id", "referral_id", "payout_id",
                 "agreement_id"):
        value = getattr(command, name, None)
        if isinstance(value, UUID):
            ids.append(value)
    if isinstance(command, c.ApplyPartner):
        ids.append(EmailClaim.id_for(command.email))
    elif isinstance(command, c.RecordPayment):
        ids += [Payment.id_for(command.payment_id),
                CustomerAttribution.id_for(command.customer_id)]
    elif isinstance(command, c.IssueRefund):
        ids += [Refund.id_for(command.refund_id), Payment.id_for(command.payment_id)]
    elif isinstance(command, c.RecordReferral):
        ids.append(LeadClaim.id_for(command.lead_email))
    elif isinstance(command, c.RunPayouts):
        for partner_id in command.partner_ids:
            ids += [partner_id, PartnerAccount.id_for(partner_id)]
    elif isinstance(command, c.ConvertReferral):
        ids.append(CustomerAttribution.id_for(command.customer_id))
    partner_id: Any = getattr(command, "partner_id", None)
    if isinstance(partner_id, UUID):
        ids.append(PartnerAccount.id_for(partner_id))
    return ids


def test_loads_prefetches_at_least_what_was_prefetched_before() -> None:
    missing = {
        type(command).__name__: sorted(set(touches_before_the_registry(command))
                                       - set(loads(command)), key=str)
        for command in scenario()
    }
    assert {name: ids for name, ids in missing.items() if ids} == {}
