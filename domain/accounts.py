"""A partner's account: commission accruals and reversals, sourced revenue, loyalty points.

Every accrual and reversal is an event that names its partner, currency, amount, source,
plan version and rates, so balances and statements can be built on them alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import CurrencyMismatch, Duplicate, InvalidInput, PartnerLedgerError
from domain.ids import derived_id
from domain.ledger import Entry, OpenEntries
from domain.money import Money, minor_units
from domain.recording import RecordsDirectly

DAY_MICROS = 86_400_000_000
TRAILING_MICROS = 365 * DAY_MICROS
# Revenue days more than two years before the newest one can no longer move a tier: they
# leave the live state, so a long-lived account stays small.
REVENUE_DAYS_KEPT = 731
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class InsufficientPoints(PartnerLedgerError):
    """A redemption would take the points balance below zero."""

    problem = "insufficient-points"


def entry_id(kind: str, source_type: str, source_id: str) -> UUID:
    """Stable ids for accruals and reversals, derived from what caused them."""
    return derived_id(f"partnerledger:{kind}:{source_type}:{source_id}")


class PartnerAccount(Aggregate, metaclass=RecordsDirectly):
    """Money and points a partner has earned, all in its plan's currency."""

    # a confirmed payout drops its entries from the live state: a good moment to snapshot
    snapshot_after = ("PayoutConfirmed",)

    @staticmethod
    def id_for(partner_id: UUID) -> UUID:
        """One account per partner, found from the partner id."""
        return derived_id(f"partnerledger:account:{partner_id}")

    @event("Opened")
    def __init__(self, id: UUID, partner_id: UUID, currency: str) -> None:  # noqa: A002
        self.partner_id = partner_id
        self.currency = currency
        self.earned = Money.zero(currency)
        self.reversed = Money.zero(currency)
        self.points = 0
        self.redemptions: set[UUID] = set()
        self.adjustments: set[UUID] = set()
        self.ledger = OpenEntries()  # the attribute keeps its name: snapshots hold it
        # revenue by UTC day: {day: [day total, micros, minor, micros, minor, ...]} in minor
        # units and epoch microseconds, so a trailing-365-day sum reads 366 day totals and
        # scans only the two boundary days, and snapshots hold plain integers
        self.revenue_days: dict[str, list[int]] = {}

    def _same_currency(self, money: Money) -> None:
        if money.currency != self.currency:
            raise CurrencyMismatch(
                f"This partner is paid in {self.currency}; got {money.currency}.",
                expected_currency=self.currency,
            )

    def accrue(
        self,
        *,
        source_type: str,
        source_id: str,
        basis: Money,
        amount: Money,
        base_rate: Decimal,
        tier: str,
        tier_bonus: Decimal,
        plan_id: UUID,
        plan_version: int,
        available_at: datetime,
        occurred_at: datetime,
    ) -> UUID:
        """Records a commission, pending until `available_at`; returns the accrual's id."""
        self._same_currency(amount)
        accrual_id = entry_id("accrual", source_type, source_id)
        self._accrued(
            accrual_id, self.partner_id, source_type, source_id, basis, amount, base_rate,
            tier, tier_bonus, base_rate + tier_bonus, plan_id, plan_version, available_at,
            occurred_at,
        )
        return accrual_id

    @event("Accrued")
    def _accrued(
        self,
        accrual_id: UUID,
        partner_id: UUID,
        source_type: str,
        source_id: str,
        basis: Money,
        amount: Money,
        base_rate: Decimal,
        tier: str,
        tier_bonus: Decimal,
        rate: Decimal,
        plan_id: UUID,
        plan_version: int,
        available_at: datetime,
        occurred_at: datetime,
    ) -> None:
        self.earned = self.earned + amount
        self.ledger.accrue(accrual_id, amount.amount, epoch_micros(available_at),
                           epoch_micros(occurred_at))

    def reverse(
        self,
        *,
        accrual_id: UUID,
        source_type: str,
        source_id: str,
        amount: Money,
        rate: Decimal,
        plan_id: UUID,
        plan_version: int,
        occurred_at: datetime,
    ) -> UUID:
        """Claws back (part of) an accrual; returns the reversal's id."""
        self._same_currency(amount)
        reversal_id = entry_id("reversal", source_type, source_id)
        self._reversed(
            reversal_id, accrual_id, self.partner_id, source_type, source_id, amount, rate,
            plan_id, plan_version, occurred_at,
        )
        return reversal_id

    @event("Reversed")
    def _reversed(
        self,
        reversal_id: UUID,
        accrual_id: UUID,
        partner_id: UUID,
        source_type: str,
        source_id: str,
        amount: Money,
        rate: Decimal,
        plan_id: UUID,
        plan_version: int,
        occurred_at: datetime,
    ) -> None:
        self.reversed = self.reversed + amount
        self.ledger.reverse(reversal_id, accrual_id, amount.amount, epoch_micros(occurred_at))

    def record_revenue(
        self, source_type: str, source_id: str, amount: Money, new_business: bool,
        occurred_at: datetime,
    ) -> None:
        """Sourced revenue (negative for refunds), whether or not it earned commission."""
        self._same_currency(amount)
        self._revenue_recorded(source_type, source_id, amount, new_business, occurred_at)

    @event("RevenueRecorded")
    def _revenue_recorded(
        self, source_type: str, source_id: str, amount: Money, new_business: bool,
        occurred_at: datetime,
    ) -> None:
        micros = epoch_micros(occurred_at)
        day = str(micros // DAY_MICROS)
        minor = int(amount.amount.scaleb(minor_units(self.currency)))
        bucket = self.revenue_days.setdefault(day, [0])
        bucket[0] += minor
        bucket += [micros, minor]
        if len(self.revenue_days) > REVENUE_DAYS_KEPT:
            newest = max(int(d) for d in self.revenue_days)
            self.revenue_days = {d: b for d, b in self.revenue_days.items()
                                 if int(d) > newest - REVENUE_DAYS_KEPT}
            self.__dict__.pop("_gross_kept", None)
        elif "_gross_kept" in self.__dict__ and minor > 0:
            self.__dict__["_gross_kept"] += minor

    def revenue_ceiling(self) -> Money:
        """No trailing window can hold more revenue than all positive revenue kept: a cheap
        bound that spares the window's sum for partners far from their next tier."""
        if "_gross_kept" not in self.__dict__:  # derived, so rebuilt after loading
            self.__dict__["_gross_kept"] = sum(
                bucket[i] for bucket in self.revenue_days.values()
                for i in range(2, len(bucket), 2) if bucket[i] > 0)
        gross: int = self.__dict__["_gross_kept"]
        return Money(Decimal(gross).scaleb(-minor_units(self.currency)), self.currency)

    def trailing_revenue(self, at: datetime) -> Money:
        """Sourced revenue over the 365 days ending at `at`: (at - 365 days, at]."""
        end = epoch_micros(at)
        start = end - TRAILING_MICROS
        first, last = start // DAY_MICROS, end // DAY_MICROS
        total = 0
        for day in range(first, last + 1):
            bucket = self.revenue_days.get(str(day))
            if bucket is None:
                continue
            if first < day < last:
                total += bucket[0]
            else:  # a boundary day: only the entries inside the window
                total += sum(bucket[i + 1] for i in range(1, len(bucket), 2)
                             if start < bucket[i] <= end)
        return Money(Decimal(total).scaleb(-minor_units(self.currency)), self.currency)

    def payable(self, as_of: datetime) -> tuple[Money, list[UUID], list[UUID]]:
        """What a payout at `as_of` would pay, and the accruals and reversals it settles."""
        amount, accruals, reversals = self.ledger.payable(epoch_micros(as_of))
        return Money(amount, self.currency), accruals, reversals

    def start_payout(
        self, payout_id: UUID, run_id: UUID, as_of: datetime, occurred_at: datetime
    ) -> Money:
        """Moves everything payable at `as_of` into a payout; returns its amount."""
        amount, accruals, reversals = self.payable(as_of)
        self._payout_started(payout_id, run_id, amount, accruals, reversals, occurred_at)
        return amount

    @event("PayoutStarted")
    def _payout_started(
        self, payout_id: UUID, run_id: UUID, amount: Money, accrual_ids: list[UUID],
        reversal_ids: list[UUID], occurred_at: datetime,
    ) -> None:
        self.ledger.start(payout_id, amount.amount, accrual_ids, reversal_ids,
                          epoch_micros(occurred_at))

    def confirm_payout(self, payout_id: UUID, reference: str, occurred_at: datetime) -> None:
        """The money reached the partner."""
        self.ledger.check_open(payout_id)
        self._payout_confirmed(payout_id, reference, occurred_at)

    @event("PayoutConfirmed")
    def _payout_confirmed(self, payout_id: UUID, reference: str, occurred_at: datetime) -> None:
        self.ledger.settle(payout_id)

    def fail_payout(self, payout_id: UUID, reason: str, occurred_at: datetime) -> None:
        """The transfer failed: the money is available again."""
        self.ledger.check_open(payout_id)
        self._payout_failed(payout_id, reason, occurred_at)

    @event("PayoutFailed")
    def _payout_failed(self, payout_id: UUID, reason: str, occurred_at: datetime) -> None:
        self.ledger.fail(payout_id)

    def award_points(self, referral_id: UUID, points: int, occurred_at: datetime) -> None:
        """Points for a conversion."""
        if points > 0:
            self._points_awarded(referral_id, points, occurred_at)

    @event("PointsAwarded")
    def _points_awarded(self, referral_id: UUID, points: int, occurred_at: datetime) -> None:
        self.points += points

    def adjust(self, adjustment_id: UUID, amount: Money, reason: str,
               occurred_at: datetime) -> UUID:
        """A manual credit (positive) or debit (negative); returns its entry's id. A credit is
        an accrual with no hold, available at once; a debit is a reversal of no accrual, so it
        comes off what is available (which may go negative and is netted by the next payout)."""
        self._same_currency(amount)
        if amount.amount == 0:
            raise InvalidInput.field("amount", "An adjustment moves money: it may not be zero.")
        if adjustment_id in self.__dict__.get("adjustments", ()):
            raise Duplicate(f"Adjustment {adjustment_id} was already recorded.",
                            existing_id=str(adjustment_id))
        entry = entry_id("adjustment", "adjustment", str(adjustment_id))
        self._adjusted(adjustment_id, entry, self.partner_id, amount, reason, occurred_at)
        return entry

    @event("Adjusted")
    def _adjusted(self, adjustment_id: UUID, entry_id: UUID, partner_id: UUID, amount: Money,
                  reason: str, occurred_at: datetime) -> None:
        micros = epoch_micros(occurred_at)
        if amount.amount > 0:
            self.earned = self.earned + amount
            self.ledger.accrue(entry_id, amount.amount, micros, micros)
        else:
            self.reversed = self.reversed + -amount
            self.ledger.reverse(entry_id, entry_id, -amount.amount, micros)
        # accounts snapshotted before adjustments existed have no set yet
        self.__dict__.setdefault("adjustments", set()).add(adjustment_id)

    def redeem_points(
        self, redemption_id: UUID, points: int, reward: str, occurred_at: datetime
    ) -> None:
        """Spends points; the balance never goes below zero."""
        if redemption_id in self.redemptions:
            raise Duplicate(f"Redemption {redemption_id} was already recorded.",
                            existing_id=str(redemption_id))
        if points > self.points:
            raise InsufficientPoints(
                f"Redeeming {points} points needs {points - self.points} more than the "
                f"balance of {self.points}.",
                points_balance=self.points,
            )
        self._points_redeemed(redemption_id, points, reward, occurred_at)

    @event("PointsRedeemed")
    def _points_redeemed(
        self, redemption_id: UUID, points: int, reward: str, occurred_at: datetime
    ) -> None:
        self.points -= points
        self.redemptions.add(redemption_id)


def ledger_entries(events: Iterable[Any]) -> list[Entry]:
    """The ledger entries among a partner account's events, for `balances_at`."""
    entries: list[Entry] = []
    for e in events:
        kind = type(e).__name__
        if kind == "Accrued":
            entries.append(Entry("accrued", e.accrual_id, e.occurred_at, e.amount.amount,
                                 available_at=e.available_at))
        elif kind == "Reversed":
            entries.append(Entry("reversed", e.reversal_id, e.occurred_at, e.amount.amount,
                                 accrual_id=e.accrual_id))
        elif kind == "PayoutStarted":
            entries.append(Entry("payout_started", e.payout_id, e.occurred_at, e.amount.amount,
                                 accrual_ids=tuple(e.accrual_ids),
                                 reversal_ids=tuple(e.reversal_ids)))
        elif kind == "PayoutConfirmed":
            entries.append(Entry("payout_confirmed", e.payout_id, e.occurred_at))
        elif kind == "PayoutFailed":
            entries.append(Entry("payout_failed", e.payout_id, e.occurred_at))
    return entries
