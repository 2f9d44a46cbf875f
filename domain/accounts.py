"""A partner's account: commission accruals and reversals, sourced revenue, loyalty points.

Every accrual and reversal is an event that names its partner, currency, amount, source,
plan version and rates, so balances and statements can be built on them alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import CurrencyMismatch, Duplicate, PartnerLedgerError
from domain.money import Money
from domain.plans import BASE_TIER, PlanTerms, Tier

TRAILING = timedelta(days=365)


class InsufficientPoints(PartnerLedgerError):
    """A redemption would take the points balance below zero."""

    problem = "insufficient-points"


def entry_id(kind: str, source_type: str, source_id: str) -> UUID:
    """Stable ids for accruals and reversals, derived from what caused them."""
    return uuid5(NAMESPACE_URL, f"partnerledger:{kind}:{source_type}:{source_id}")


class PartnerAccount(Aggregate):
    """Money and points a partner has earned, all in its plan's currency."""

    @staticmethod
    def id_for(partner_id: UUID) -> UUID:
        """One account per partner, found from the partner id."""
        return uuid5(NAMESPACE_URL, f"partnerledger:account:{partner_id}")

    @event("Opened")
    def __init__(self, id: UUID, partner_id: UUID, currency: str) -> None:  # noqa: A002
        self.partner_id = partner_id
        self.currency = currency
        self.earned = Money.zero(currency)
        self.reversed = Money.zero(currency)
        self.points = 0
        self.redemptions: set[UUID] = set()
        # (occurred_at, signed amount) of every revenue entry, for trailing-365-day sums
        self.revenue: list[tuple[datetime, Decimal]] = []

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
        occurred_at: datetime,
    ) -> UUID:
        """Records a commission; returns the accrual's id."""
        self._same_currency(amount)
        accrual_id = entry_id("accrual", source_type, source_id)
        self._accrued(
            accrual_id, self.partner_id, source_type, source_id, basis, amount, base_rate,
            tier, tier_bonus, base_rate + tier_bonus, plan_id, plan_version, occurred_at,
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
        occurred_at: datetime,
    ) -> None:
        self.earned = self.earned + amount

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
        self.revenue.append((occurred_at, amount.amount))

    def trailing_revenue(self, at: datetime) -> Money:
        """Sourced revenue over the 365 days ending at `at`."""
        start = at - TRAILING
        total = sum((amount for when, amount in self.revenue if start < when <= at), Decimal(0))
        return Money(total, self.currency)

    def award_points(self, referral_id: UUID, points: int, occurred_at: datetime) -> None:
        """Points for a conversion."""
        if points > 0:
            self._points_awarded(referral_id, points, occurred_at)

    @event("PointsAwarded")
    def _points_awarded(self, referral_id: UUID, points: int, occurred_at: datetime) -> None:
        self.points += points

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


def tier_reached(terms: PlanTerms, revenue: Money) -> Tier | None:
    """The highest tier whose threshold the revenue has reached."""
    reached = None
    for tier in terms.tiers:
        if tier.threshold.amount <= revenue.amount:
            reached = tier
    return reached


def tier_rank(terms: PlanTerms, name: str) -> int:
    """Position of a tier in the plan (the base tier, or one the plan lacks, is 0)."""
    if name == BASE_TIER:
        return 0
    for index, tier in enumerate(terms.tiers, start=1):
        if tier.name == name:
            return index
    return 0
