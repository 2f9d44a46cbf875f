"""Tiers: a plan's ladder, the tier a revenue reaches, and when a partner is promoted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from domain.money import Money

BASE_TIER = "registered"


@dataclass(frozen=True)
class Tier:
    """A tier reached at `threshold` of trailing-365-day sourced revenue."""

    name: str
    threshold: Money
    bonus_rate: Decimal


class RevenueHistory(Protocol):
    """The sourced revenue a promotion is judged on (a partner's account)."""

    def revenue_ceiling(self) -> Money:
        """A cheap upper bound of any trailing window's revenue."""

    def trailing_revenue(self, at: datetime) -> Money:
        """Sourced revenue over the 365 days ending at `at`."""


def ladder_errors(tiers: Sequence[Tier], currency: str) -> list[str]:
    """What is wrong with a plan's tiers: names unique and not the base tier's, thresholds
    in the plan currency and strictly ascending."""
    errors: list[str] = []
    names = [tier.name for tier in tiers]
    if BASE_TIER in names:
        errors.append(f"'{BASE_TIER}' is the base tier and cannot be redefined.")
    if len(set(names)) != len(names):
        errors.append("Tier names must be unique.")
    previous: Money | None = None
    for tier in tiers:
        if tier.threshold.currency != currency:
            errors.append(f"Tier {tier.name!r} threshold must be in {currency}.")
            continue
        if previous is not None and tier.threshold <= previous:
            errors.append("Tier thresholds must be strictly ascending.")
        previous = tier.threshold
    return errors


def tier_named(tiers: Sequence[Tier], name: str, currency: str) -> Tier:
    """The named tier; the base tier (or one the plan lacks) earns no bonus."""
    for tier in tiers:
        if tier.name == name:
            return tier
    return Tier(BASE_TIER, Money.zero(currency), Decimal(0))


def tier_rank(tiers: Sequence[Tier], name: str) -> int:
    """Position of a tier in the ladder (the base tier, or one the plan lacks, is 0)."""
    if name == BASE_TIER:
        return 0
    for index, tier in enumerate(tiers, start=1):
        if tier.name == name:
            return index
    return 0


def tier_reached(tiers: Sequence[Tier], revenue: Money) -> Tier | None:
    """The highest tier whose threshold the revenue has reached."""
    reached = None
    for tier in tiers:
        if tier.threshold.amount <= revenue.amount:
            reached = tier
    return reached


def promotion_due(
    tiers: Sequence[Tier], current: str, revenue: RevenueHistory, at: datetime
) -> tuple[Tier, Money] | None:
    """The tier to move up to at `at`, with the trailing revenue that reached it: the highest
    tier the trailing-365-day revenue reaches, when it ranks above `current`. Tiers never go
    down on their own, so a fall in revenue promotes nobody and demotes nobody."""
    rank = tier_rank(tiers, current)
    higher = [t.threshold.amount for t in tiers if tier_rank(tiers, t.name) > rank]
    if not higher or revenue.revenue_ceiling().amount < min(higher):
        return None  # nothing left to reach, or out of reach even counting all revenue kept
    trailing = revenue.trailing_revenue(at)
    reached = tier_reached(tiers, trailing)
    if reached is None or tier_rank(tiers, reached.name) <= rank:
        return None
    return reached, trailing


def next_tier(tiers: Sequence[Tier], current: str) -> Tier | None:
    """The tier above `current` in the ladder, None at the top."""
    rank = tier_rank(tiers, current)
    higher = [tier for tier in tiers if tier_rank(tiers, tier.name) > rank]
    return higher[0] if higher else None
