"""The ledger of one partner account: which bucket every accrual and reversal sits in.

Buckets, per partner and currency: an accrual is `pending` until `available_at` (its
`occurred_at` plus the plan's hold days), then `available`; a payout moves what is available
into `in_payout`, and its confirmation into `paid`; a failed payout puts it back. A reversal
reduces its accrual while the accrual is open; once the accrual is in a payout (or paid) the
reversal reduces `available` instead, which may go negative and is netted by the next payout.

`balances_at` states the rule once, for any business time and any set of known entries, and
everything else (the live state used by payout runs, the SQL read model) must agree with it:
earned - reversed = pending + available + in_payout + paid, always.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.errors import InvalidTransition


@dataclass
class LedgerAccrual:
    amount: Decimal
    available_at: datetime
    occurred_at: datetime
    payout_id: UUID | None = None


@dataclass
class LedgerReversal:
    accrual_id: UUID
    amount: Decimal
    occurred_at: datetime
    netted_in: UUID | None = None


@dataclass
class LedgerPayout:
    amount: Decimal
    status: str  # in_payout | paid | failed
    accrual_ids: list[UUID]
    reversal_ids: list[UUID]
    occurred_at: datetime


@dataclass
class Ledger:
    """The live state of one account's ledger."""

    accruals: dict[UUID, LedgerAccrual] = field(default_factory=dict)
    reversals: dict[UUID, LedgerReversal] = field(default_factory=dict)
    payouts: dict[UUID, LedgerPayout] = field(default_factory=dict)

    def _in_active_payout(self, accrual_id: UUID) -> bool:
        accrual = self.accruals.get(accrual_id)
        return accrual is not None and accrual.payout_id is not None

    def payable(self, as_of: datetime) -> tuple[Decimal, list[UUID], list[UUID]]:
        """Available at `as_of`: open accruals past their hold, net of every open reversal
        that belongs to them or to money already paid out."""
        accruals = [
            accrual_id for accrual_id, a in self.accruals.items()
            if a.payout_id is None and a.occurred_at <= as_of and a.available_at <= as_of
        ]
        chosen = set(accruals)
        reversals = [
            reversal_id for reversal_id, r in self.reversals.items()
            if r.netted_in is None and r.occurred_at <= as_of
            and (r.accrual_id in chosen or self._in_active_payout(r.accrual_id)
                 or r.accrual_id not in self.accruals)
        ]
        amount = sum((self.accruals[i].amount for i in accruals), Decimal(0)) - sum(
            (self.reversals[i].amount for i in reversals), Decimal(0)
        )
        return amount, accruals, reversals

    def start(self, payout_id: UUID, amount: Decimal, accrual_ids: list[UUID],
              reversal_ids: list[UUID], occurred_at: datetime) -> None:
        for accrual_id in accrual_ids:
            self.accruals[accrual_id].payout_id = payout_id
        for reversal_id in reversal_ids:
            self.reversals[reversal_id].netted_in = payout_id
        self.payouts[payout_id] = LedgerPayout(amount, "in_payout", list(accrual_ids),
                                               list(reversal_ids), occurred_at)

    def check_open(self, payout_id: UUID) -> None:
        if payout_id not in self.payouts:
            raise InvalidTransition("The payout is no longer in payout.",
                                    current_status="closed")

    def settle(self, payout_id: UUID) -> None:
        """A confirmed payout is final: its accruals and netted reversals leave the live state
        (a later reversal of such an accrual finds it gone and comes off `available`)."""
        payout = self.payouts.pop(payout_id)
        for accrual_id in payout.accrual_ids:
            self.accruals.pop(accrual_id, None)
        for reversal_id in payout.reversal_ids:
            self.reversals.pop(reversal_id, None)
        # reversals of settled accruals that no payout has netted yet stay, as adjustments

    def fail(self, payout_id: UUID) -> None:
        payout = self.payouts[payout_id]
        payout.status = "failed"
        for accrual_id in payout.accrual_ids:
            if self.accruals[accrual_id].payout_id == payout_id:
                self.accruals[accrual_id].payout_id = None
        for reversal_id in payout.reversal_ids:
            if self.reversals[reversal_id].netted_in == payout_id:
                self.reversals[reversal_id].netted_in = None
        del self.payouts[payout_id]


@dataclass(frozen=True)
class Balances:
    """One partner's money in one currency, by bucket."""

    earned: Decimal
    reversed: Decimal
    pending: Decimal
    available: Decimal
    in_payout: Decimal
    paid: Decimal


@dataclass(frozen=True)
class Entry:
    """One ledger event as the balance rule needs it."""

    kind: str  # accrued | reversed | payout_started | payout_confirmed | payout_failed
    entry_id: UUID  # accrual, reversal or payout id
    occurred_at: datetime
    amount: Decimal = Decimal(0)
    available_at: datetime | None = None
    accrual_id: UUID | None = None
    accrual_ids: tuple[UUID, ...] = ()
    reversal_ids: tuple[UUID, ...] = ()


def balances_at(entries: Iterable[Entry], as_of: datetime) -> Balances:
    """The buckets at business time `as_of`, from the entries known (the caller filters
    them by recorded time for `known_at`)."""
    visible = [e for e in entries if e.occurred_at <= as_of]
    accruals = {e.entry_id: e for e in visible if e.kind == "accrued"}
    reversals = {e.entry_id: e for e in visible if e.kind == "reversed"}
    started = {e.entry_id: e for e in visible if e.kind == "payout_started"}
    failed = {e.entry_id for e in visible if e.kind == "payout_failed"}
    confirmed = {e.entry_id for e in visible if e.kind == "payout_confirmed"}
    active = {pid: e for pid, e in started.items() if pid not in failed}
    in_payout_accruals = {a for e in active.values() for a in e.accrual_ids}
    netted = {r for e in active.values() for r in e.reversal_ids}
    pending = available = Decimal(0)
    open_net = {accrual_id: a.amount for accrual_id, a in accruals.items()
                if accrual_id not in in_payout_accruals}
    for reversal_id, r in reversals.items():
        if reversal_id in netted:
            continue
        if r.accrual_id in open_net:
            open_net[r.accrual_id] -= r.amount
        else:  # its accrual is in a payout, paid, or not visible: it comes off available
            available -= r.amount
    for accrual_id, net in open_net.items():
        available_at = accruals[accrual_id].available_at
        assert available_at is not None
        if available_at > as_of:
            pending += net
        else:
            available += net
    in_payout = sum((e.amount for p, e in active.items() if p not in confirmed), Decimal(0))
    paid = sum((e.amount for p, e in active.items() if p in confirmed), Decimal(0))
    return Balances(
        earned=sum((a.amount for a in accruals.values()), Decimal(0)),
        reversed=sum((r.amount for r in reversals.values()), Decimal(0)),
        pending=pending, available=available, in_payout=in_payout, paid=paid,
    )
