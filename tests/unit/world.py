"""A fake ledger with a plan, partners, deals and customers in it, for the refusal tests."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest

from domain import commands as c
from domain.accounts import PartnerAccount
from domain.errors import PartnerLedgerError
from domain.money import Money
from tests.factories import terms
from tests.unit.memory import MemoryUnitOfWork

E = TypeVar("E", bound=PartnerLedgerError)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# When every command is recorded: after all the business times used, so the months and
# quarters of 2026 have begun.
NOW = datetime(2027, 6, 1, tzinfo=UTC)

# How a fresh partner reaches each status.
PARTNER_PATHS: dict[str, tuple[str, ...]] = {
    "applied": (),
    "active": ("approve",),
    "rejected": ("reject",),
    "suspended": ("approve", "suspend"),
    "terminated": ("approve", "terminate"),
}

# How a deal registered on day 1 reaches each status; "lapsed" is open past its window.
DEAL_PATHS: dict[str, tuple[str, ...]] = {
    "registered": (),
    "approved": ("approve",),
    "won": ("approve", "close_won"),
    "lost": ("close_lost",),
    "rejected": ("reject",),
    "expired": ("expire",),
    "lapsed": (),
}


def day(n: float) -> datetime:
    """`n` days after the plan was created."""
    return T0 + timedelta(days=n)


def usd(amount: str) -> Money:
    """Dollars, from a decimal string."""
    return Money.parse(amount, "USD")


def eur(amount: str) -> Money:
    """Euros, from a decimal string."""
    return Money.parse(amount, "EUR")


def partner_command(step: str, partner_id: UUID, plan_id: UUID,
                    when: datetime = T0) -> c.Command:
    """The lifecycle command named `step` for one partner."""
    commands: dict[str, Callable[[], c.Command]] = {
        "approve": lambda: c.ApprovePartner(when, partner_id, plan_id),
        "reject": lambda: c.RejectPartner(when, partner_id, "not a fit"),
        "suspend": lambda: c.SuspendPartner(when, partner_id, "review"),
        "reactivate": lambda: c.ReactivatePartner(when, partner_id),
        "terminate": lambda: c.TerminatePartner(when, partner_id, "ended"),
    }
    return commands[step]()


def deal_command(step: str, deal_id: UUID, when: datetime) -> c.Command:
    """The deal command named `step` for one deal."""
    commands: dict[str, Callable[[], c.Command]] = {
        "approve": lambda: c.ApproveDeal(when, deal_id),
        "reject": lambda: c.RejectDeal(when, deal_id, "no budget"),
        "close_won": lambda: c.CloseDealWon(when, deal_id, usd("1000.00"), True),
        "close_lost": lambda: c.CloseDealLost(when, deal_id, "went elsewhere"),
        "expire": lambda: c.ExpireDeal(when, deal_id),
    }
    return commands[step]()


class World:
    """A fake unit of work holding one USD plan: 90-day protection and attribution windows,
    a 30-day hold, a 50.00 minimum payout, 100 points per conversion, gold at 50,000."""

    def __init__(self) -> None:
        self.fake = MemoryUnitOfWork()
        self.plan_id = uuid.uuid4()
        self.run(c.CreatePlan(T0, self.plan_id, terms()))

    def run(self, command: c.Command, now: datetime = NOW) -> Any:
        """Applies a command that must be accepted."""
        return self.fake.run(command, now)

    def refuse(self, command: c.Command, error_type: type[E], now: datetime = NOW) -> E:
        """Runs a command that must be refused with exactly `error_type` and checks that it
        changed nothing: no aggregate, no event, and nothing left pending by its handler."""
        aggregates = copy.deepcopy(self.fake.aggregates)
        events = list(self.fake.events)
        with pytest.raises(error_type) as refused:
            self.fake.run(command, now)
        assert type(refused.value) is error_type, refused.value
        assert self.fake.left_pending == []
        assert self.fake.aggregates == aggregates
        assert self.fake.events == events
        return refused.value

    def partner(self, status: str = "active", email: str | None = None) -> UUID:
        """A partner brought to `status` on the plan, on day 0."""
        pid = uuid.uuid4()
        self.run(c.ApplyPartner(T0, pid, "Ada", email or f"ops@{pid.hex}.example", "Ada Ltd",
                                "referral", "GB"))
        for step in PARTNER_PATHS[status]:
            self.run(partner_command(step, pid, self.plan_id))
        return pid

    def deal(self, partner_id: UUID, status: str = "registered",
             domain: str | None = None) -> UUID:
        """A deal registered on day 1 and brought to `status` on day 2."""
        deal_id = uuid.uuid4()
        self.run(c.RegisterDeal(day(1), deal_id, partner_id, "Acme",
                                domain or f"{deal_id.hex}.example", usd("5000.00")))
        for step in DEAL_PATHS[status]:
            self.run(deal_command(step, deal_id, day(100) if step == "expire" else day(2)))
        return deal_id

    def referral(self, partner_id: UUID, lead: str | None = None,
                 when: datetime | None = None) -> UUID:
        """A pending referral of `lead`, recorded at `when` (day 1 by default)."""
        referral_id = uuid.uuid4()
        self.run(c.RecordReferral(when or day(1), referral_id, partner_id,
                                  lead or f"cto@{referral_id.hex}.example", "Lead Ltd"))
        return referral_id

    def customer(self, partner_id: UUID, customer_id: str) -> UUID:
        """A referral recorded on day 1 and converted on day 2 into `customer_id`."""
        referral_id = self.referral(partner_id)
        self.run(c.ConvertReferral(day(2), referral_id, customer_id))
        return referral_id

    def account(self, partner_id: UUID) -> PartnerAccount:
        """A partner's stored account."""
        found = self.fake.aggregates[PartnerAccount.id_for(partner_id)]
        assert isinstance(found, PartnerAccount)
        return found

    def of(self, aggregate_id: UUID) -> Any:
        """A stored aggregate, as the last accepted command left it."""
        return self.fake.aggregates[aggregate_id]
