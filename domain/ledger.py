"""The ledger of one partner account: which bucket every accrual and reversal sits in.

Buckets, per partner and currency: an accrual is `pending` until `available_at` (its
`occurred_at` plus the plan's hold days), then `available`; a payout moves what is available
into `in_payout`, and its confirmation into `paid`; a failed payout puts it back. A reversal
reduces its accrual while the accrual is open; once the accrual is in a payout (or paid) the
reversal reduces `available` instead, which may go negative and is netted by the next payout.

`net` states how open money nets, once; `balances_at` applies it to any business time and any
set of known entries, the live state used by payout runs applies it to what is open now, and
the SQL read model mirrors it (a property test keeps the two equal):
earned - reversed = pending + available + in_payout + paid, always.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.errors import InvalidTransition

# The live ledger keeps plain strings and integers (ids as hex, amounts as decimal strings,
# times as epoch microseconds): a partner with tens of thousands of open entries loads from a
# snapshot at JSON speed, and only a payout run turns rows back into values.
AccrualRow = list[Any]  # [amount, available_micros, occurred_micros, payout hex or None]
ReversalRow = list[Any]  # [accrual hex, amount, occurred_micros, netted-in payout hex or None]
PayoutRow = list[Any]  # [amount, [accrual hex], [reversal hex], occurred_micros]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Netted(Generic[K]):
    """Open money after netting: what is pending, what is available, and what makes up
    `available` (the accruals and reversals a payout would take)."""

    pending: Decimal
    available: Decimal
    accruals: list[K]
    reversals: list[K]


def net(accruals: Mapping[K, tuple[Decimal, bool]],
        reversals: Mapping[K, tuple[K, Decimal]]) -> Netted[K]:
    """Nets the open entries: `accruals` are those in no live payout (amount, hold over?),
    `reversals` those no live payout has netted (accrual id, amount).

    A reversal of an open accrual reduces that accrual where it sits, pending or available;
    any other reversal (its accrual in a payout, paid, or not yet visible) comes off
    `available`, which may go negative and is netted by the next payout.
    """
    pending = available = Decimal(0)
    taken: list[K] = []
    for accrual_id, (amount, held_out) in accruals.items():
        if held_out:
            available += amount
            taken.append(accrual_id)
        else:
            pending += amount
    netted: list[K] = []
    for reversal_id, (accrual_id, amount) in reversals.items():
        accrual = accruals.get(accrual_id)
        if accrual is not None and not accrual[1]:
            pending -= amount
        else:
            available -= amount
            netted.append(reversal_id)
    return Netted(pending, available, taken, netted)


@dataclass
class OpenEntries:
    """The live state of one account's ledger: open and in-payout entries only."""

    accruals: dict[str, AccrualRow] = field(default_factory=dict)
    reversals: dict[str, ReversalRow] = field(default_factory=dict)
    payouts: dict[str, PayoutRow] = field(default_factory=dict)

    def accrue(self, accrual_id: UUID, amount: Decimal, available_micros: int,
               occurred_micros: int) -> None:
        self.accruals[accrual_id.hex] = [str(amount), available_micros, occurred_micros, None]

    def reverse(self, reversal_id: UUID, accrual_id: UUID, amount: Decimal,
                occurred_micros: int) -> None:
        self.reversals[reversal_id.hex] = [accrual_id.hex, str(amount), occurred_micros, None]

    def payable(self, as_of_micros: int) -> tuple[Decimal, list[UUID], list[UUID]]:
        """Available at `as_of`, and the accruals and reversals that make it up (see `net`)."""
        netted = net(
            {accrual_id: (Decimal(amount), available <= as_of_micros)
             for accrual_id, (amount, available, occurred, payout) in self.accruals.items()
             if payout is None and occurred <= as_of_micros},
            {reversal_id: (accrual_id, Decimal(amount))
             for reversal_id, (accrual_id, amount, occurred, payout) in self.reversals.items()
             if payout is None and occurred <= as_of_micros},
        )
        return (netted.available, [UUID(i) for i in sorted(netted.accruals)],
                [UUID(i) for i in sorted(netted.reversals)])

    def start(self, payout_id: UUID, amount: Decimal, accrual_ids: list[UUID],
              reversal_ids: list[UUID], occurred_micros: int) -> None:
        payout = payout_id.hex
        for accrual_id in accrual_ids:
            self.accruals[accrual_id.hex][3] = payout
        for reversal_id in reversal_ids:
            self.reversals[reversal_id.hex][3] = payout
        self.payouts[payout] = [str(amount), [a.hex for a in accrual_ids],
                                [r.hex for r in reversal_ids], occurred_micros]

    def check_open(self, payout_id: UUID) -> None:
        if payout_id.hex not in self.payouts:
            raise InvalidTransition("The payout is no longer in payout.",
                                    current_status="closed")

    def settle(self, payout_id: UUID) -> None:
        """A confirmed payout is final: its accruals and netted reversals leave the live state
        (a later reversal of such an accrual finds it gone and comes off `available`)."""
        _, accruals, reversals, _ = self.payouts.pop(payout_id.hex)
        for accrual_id in accruals:
            self.accruals.pop(accrual_id, None)
        for reversal_id in reversals:
            self.reversals.pop(reversal_id, None)

    def fail(self, payout_id: UUID) -> None:
        """A failed payout puts its accruals and netted reversals back."""
        payout = payout_id.hex
        _, accruals, reversals, _ = self.payouts.pop(payout)
        for accrual_id in accruals:
            if self.accruals[accrual_id][3] == payout:
                self.accruals[accrual_id][3] = None
        for reversal_id in reversals:
            if self.reversals[reversal_id][3] == payout:
                self.reversals[reversal_id][3] = None


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
    netted_reversals = {r for e in active.values() for r in e.reversal_ids}
    open_accruals: dict[UUID, tuple[Decimal, bool]] = {}
    for accrual_id, a in accruals.items():
        if accrual_id not in in_payout_accruals:
            assert a.available_at is not None
            open_accruals[accrual_id] = (a.amount, a.available_at <= as_of)
    open_reversals: dict[UUID, tuple[UUID, Decimal]] = {}
    for reversal_id, r in reversals.items():
        if reversal_id not in netted_reversals:
            assert r.accrual_id is not None
            open_reversals[reversal_id] = (r.accrual_id, r.amount)
    netted = net(open_accruals, open_reversals)
    in_payout = sum((e.amount for p, e in active.items() if p not in confirmed), Decimal(0))
    paid = sum((e.amount for p, e in active.items() if p in confirmed), Decimal(0))
    return Balances(
        earned=sum((a.amount for a in accruals.values()), Decimal(0)),
        reversed=sum((r.amount for r in reversals.values()), Decimal(0)),
        pending=netted.pending, available=netted.available, in_payout=in_payout, paid=paid,
    )
