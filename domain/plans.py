"""Commission plans and their revisions, each version effective from its `occurred_at`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.dates import add_days
from domain.errors import CurrencyMismatch, InvalidInput
from domain.money import Money
from domain.recording import RecordsDirectly
from domain.tiers import Tier, ladder_errors, tier_named

# Upper bounds of a plan's whole-number terms: every date derived from them stays in the
# calendar, and every count fits the read models' 64-bit columns.
TERM_BOUNDS = {
    "referral_months": 600,
    "attribution_days": 3650,
    "deal_protection_days": 3650,
    "hold_days": 3650,
    "points_per_conversion": 1_000_000,
}
MAX_TIERS = 20


@dataclass(frozen=True)
class PlanTerms:
    """Everything one version of a plan says about how partners earn."""

    name: str
    currency: str
    deal_rate: Decimal
    referral_rate: Decimal
    referral_months: int
    attribution_days: int
    deal_protection_days: int
    hold_days: int
    min_payout: Money
    points_per_conversion: int
    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.min_payout.currency != self.currency:
            errors["min_payout"] = [f"Must be in the plan currency {self.currency}."]
        for field, most in TERM_BOUNDS.items():
            if not 0 <= getattr(self, field) <= most:
                errors[field] = [f"Must lie between 0 and {most}."]
        if len(self.tiers) > MAX_TIERS:
            errors["tiers"] = [f"At most {MAX_TIERS} tiers."]
        tier_errors = ladder_errors(self.tiers, self.currency)
        if tier_errors:
            errors["tiers"] = tier_errors
        if errors:
            raise InvalidInput(errors)

    def tier(self, name: str) -> Tier:
        """The named tier; the base tier earns no bonus."""
        return tier_named(self.tiers, name, self.currency)

    def hold_ends(self, earned_at: datetime) -> datetime:
        """When money earned at `earned_at` leaves its hold and becomes available."""
        return add_days(earned_at, self.hold_days)

    def revised(self, changes: dict[str, Any]) -> PlanTerms:
        """These terms with some fields changed; the currency never changes."""
        if "currency" in changes and changes["currency"] != self.currency:
            raise InvalidInput.field("currency", "A plan's currency cannot be revised.")
        return replace(self, **changes)


@dataclass(frozen=True)
class PlanVersion:
    """One version of a plan: its number, when it takes effect, and its terms."""

    number: int
    effective_from: datetime
    terms: PlanTerms


class Plan(Aggregate, metaclass=RecordsDirectly):
    """A commission plan; revisions add versions that apply from their `occurred_at` on."""

    @event("Created")
    def __init__(self, id: UUID, terms: PlanTerms, occurred_at: datetime) -> None:  # noqa: A002
        self.versions = [PlanVersion(1, occurred_at, terms)]

    @property
    def current(self) -> PlanVersion:
        """The newest version."""
        return self.versions[-1]

    @property
    def currency(self) -> str:
        """A plan keeps one currency for life."""
        return self.versions[0].terms.currency

    def revise(self, changes: dict[str, Any], occurred_at: datetime) -> None:
        """Adds a version effective from `occurred_at`; versions never go back in time."""
        if occurred_at < self.current.effective_from:
            raise InvalidInput.field(
                "occurred_at",
                "A revision cannot take effect before the plan's newest version "
                f"({self.current.effective_from.isoformat()}).",
            )
        self._revised(self.current.terms.revised(changes), occurred_at)

    @event("Revised")
    def _revised(self, terms: PlanTerms, occurred_at: datetime) -> None:
        self.versions.append(PlanVersion(len(self.versions) + 1, occurred_at, terms))

    def version_at(self, when: datetime) -> PlanVersion:
        """The version in effect at business time `when` (the first one before the plan began)."""
        in_effect = self.versions[0]
        for version in self.versions:
            if version.effective_from <= when:
                in_effect = version
        return in_effect


def check_plan_currency(money: Money, plan: Plan, field: str) -> None:
    """A partner's money is all in its plan's currency."""
    if money.currency != plan.currency:
        raise CurrencyMismatch(
            f"{field} is in {money.currency}; this partner's plan pays in {plan.currency}.",
            expected_currency=plan.currency,
        )
