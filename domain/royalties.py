"""Royalty agreements: marginal brackets on each agreement year's net sales, monthly reports
with restatements, and quarterly minimum guarantees.

The year's royalty is always the schedule applied to the year's net sales, rounded once:
each report accrues only the difference between that and what the year has accrued so far,
so any order of reports and restatements ends at the same total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.money import Money
from domain.recording import RecordsDirectly

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Bracket:
    """Net sales up to `up_to` (cumulative within the agreement year; None: no limit)."""

    up_to: Decimal | None
    rate: Decimal


def check_schedule(schedule: list[Bracket]) -> None:
    """Brackets ascend strictly, rates lie in 0..1, and only the last is open-ended."""
    if not schedule:
        raise InvalidInput.field("schedule", "At least one bracket is needed.")
    previous = Decimal(0)
    for index, bracket in enumerate(schedule):
        last = index == len(schedule) - 1
        if bracket.rate < 0 or bracket.rate > 1:
            raise InvalidInput.field(f"schedule.{index}.rate", "Must be between 0 and 1.")
        if bracket.up_to is None and not last:
            raise InvalidInput.field(f"schedule.{index}.up_to",
                                     "Only the last bracket may be open-ended.")
        if bracket.up_to is not None and bracket.up_to <= previous:
            raise InvalidInput.field(f"schedule.{index}.up_to",
                                     "Brackets must ascend strictly.")
        if last and bracket.up_to is not None:
            raise InvalidInput.field(f"schedule.{index}.up_to",
                                     "The last bracket must be open-ended (null).")
        previous = bracket.up_to if bracket.up_to is not None else previous


def royalty_on(schedule: list[Bracket], net: Decimal) -> Decimal:
    """The schedule applied marginally to a year's cumulative net sales (exact, unrounded)."""
    total, floor = Decimal(0), Decimal(0)
    for bracket in schedule:
        ceiling = bracket.up_to
        if net <= floor:
            break
        portion = (min(net, ceiling) if ceiling is not None else net) - floor
        total += portion * bracket.rate
        if ceiling is None:
            break
        floor = ceiling
    return total


def month_index(period: str) -> int:
    """"2026-03" -> months since year 0; a malformed period is a 422."""
    match = _PERIOD.match(period)
    if match is None:
        raise InvalidInput.field("period", f"Not a month like 2026-03: {period!r}.")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def quarter_months(quarter: str) -> list[int]:
    """"2026-Q2" -> the month indexes of April, May and June."""
    match = _QUARTER.match(quarter)
    if match is None:
        raise InvalidInput.field("quarter", f"Not a quarter like 2026-Q2: {quarter!r}.")
    first = int(match.group(1)) * 12 + (int(match.group(2)) - 1) * 3
    return [first, first + 1, first + 2]


class RoyaltyAgreement(Aggregate, metaclass=RecordsDirectly):
    """A licence paying a partner royalties on the licensee's net sales."""

    @event("Signed")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        partner_id: UUID,
        currency: str,
        schedule: list[list[str | None]],
        minimum_per_quarter: Money | None,
        starts_on: date,
        occurred_at: datetime,
    ) -> None:
        self.partner_id = partner_id
        self.currency = currency
        self.schedule_rows = schedule  # [[up_to or None, rate], ...] as decimal strings
        self.minimum_per_quarter = minimum_per_quarter
        self.starts_on = starts_on
        self.signed_at = occurred_at
        self.reports: dict[str, list[str]] = {}  # period -> [gross, returns] (latest)
        # period or quarter -> [[accrual hex, amount not yet reversed], ...] in order
        self.open_accruals: dict[str, list[list[str]]] = {}
        self.accrued: dict[str, str] = {}  # period -> royalty accrued for it so far
        self.top_ups: dict[str, str] = {}  # closed quarter -> top-up accrued so far
        self.report_count = 0

    @property
    def schedule(self) -> list[Bracket]:
        """The brackets as values."""
        return [Bracket(Decimal(u) if u is not None else None, Decimal(str(r)))
                for u, r in self.schedule_rows]

    @property
    def start_month(self) -> int:
        return self.starts_on.year * 12 + self.starts_on.month - 1

    def year_of(self, period: str) -> int:
        """The agreement year a month falls in; months before the start are a 422."""
        offset = month_index(period) - self.start_month
        if offset < 0:
            raise InvalidInput.field("period", f"{period} is before the agreement starts.")
        return offset // 12

    def year_net(self, year: int, replacing: tuple[str, Decimal] | None = None) -> Decimal:
        """Net sales reported for an agreement year (with one period's figure replaced)."""
        total = Decimal(0)
        for period, (gross, returns) in self.reports.items():
            if self.year_of(period) == year and (replacing is None or period != replacing[0]):
                total += Decimal(gross) - Decimal(returns)
        if replacing is not None:
            total += replacing[1]
        return total

    def year_accrued(self, year: int) -> Decimal:
        return sum((Decimal(a) for p, a in self.accrued.items() if self.year_of(p) == year),
                   Decimal(0))

    def royalty_difference(self, period: str, net: Decimal) -> Money:
        """What a report (or restatement) of `period` adds to the year's accrued royalty."""
        year = self.year_of(period)
        total = Money.rounded(royalty_on(self.schedule, self.year_net(year, (period, net))),
                              self.currency)
        return Money(total.amount - self.year_accrued(year), self.currency)

    def quarter_of(self, period: str) -> str:
        index = month_index(period)
        return f"{index // 12}-Q{(index % 12) // 3 + 1}"

    def quarter_royalty(self, quarter: str) -> Decimal:
        months = set(quarter_months(quarter))
        return sum((Decimal(a) for p, a in self.accrued.items() if month_index(p) in months),
                   Decimal(0))

    def top_up_difference(self, quarter: str) -> Money:
        """How the quarter's top-up must change so royalties plus top-up reach the minimum."""
        if self.minimum_per_quarter is None:
            return Money.zero(self.currency)
        needed = max(Decimal(0), self.minimum_per_quarter.amount - self.quarter_royalty(quarter))
        return Money(needed - Decimal(self.top_ups.get(quarter, "0")), self.currency)

    def check_report(self, period: str, gross: Money, returns: Money) -> Money:
        """Checks a report; returns the royalty difference it would accrue."""
        for field, money in (("gross_sales", gross), ("returns", returns)):
            if money.currency != self.currency:
                raise InvalidInput.field(field, f"Must be in the agreement currency "
                                                f"{self.currency}.")
        if returns.amount > gross.amount:
            raise InvalidInput.field("returns", "Returns cannot exceed gross sales.")
        return self.royalty_difference(period, gross.amount - returns.amount)

    def report(self, period: str, gross: Money, returns: Money, accrual_id: UUID | None,
               reductions: list[tuple[UUID, Decimal]], occurred_at: datetime) -> Money:
        """Records a report with the accrual or the reversals its difference became."""
        difference = self.check_report(period, gross, returns)
        self._reported(period, gross, returns, difference, accrual_id,
                       [[i.hex, str(a)] for i, a in reductions], occurred_at)
        return difference

    def reduction_plan(self, key: str, amount: Decimal) -> list[tuple[UUID, Decimal]]:
        """Which accruals a reduction of `amount` reverses, and by how much: the key's own
        newest first, then (for a month) the other months of its agreement year, newest
        first, never more than an accrual has left."""
        keys = [key]
        if _PERIOD.match(key):
            year = self.year_of(key)
            keys += sorted((p for p in self.open_accruals
                            if p != key and _PERIOD.match(p) and self.year_of(p) == year),
                           reverse=True)
        plan: list[tuple[UUID, Decimal]] = []
        left = amount
        for candidate in keys:
            for accrual_hex, remaining in reversed(self.open_accruals.get(candidate, [])):
                piece = min(left, Decimal(remaining))
                if piece > 0:
                    plan.append((UUID(accrual_hex), piece))
                    left -= piece
                if left == 0:
                    return plan
        if left > 0:
            raise AssertionError("a reduction can never exceed what the year accrued")
        return plan

    def _book(self, key: str, accrual_id: UUID | None, amount: Decimal,
              reductions: list[list[str]]) -> None:
        if accrual_id is not None:
            self.open_accruals.setdefault(key, []).append([accrual_id.hex, str(amount)])
        for accrual_hex, piece in reductions:
            for rows in self.open_accruals.values():
                for row in rows:
                    if row[0] == accrual_hex:
                        row[1] = str(Decimal(row[1]) - Decimal(piece))

    @event("Reported")
    def _reported(self, period: str, gross: Money, returns: Money, royalty: Money,
                  accrual_id: UUID | None, reductions: list[list[str]],
                  occurred_at: datetime) -> None:
        self._book(period, accrual_id, royalty.amount, reductions)
        self.reports[period] = [str(gross.amount), str(returns.amount)]
        self.accrued[period] = str(Decimal(self.accrued.get(period, "0")) + royalty.amount)
        self.report_count += 1

    def is_closed(self, quarter: str) -> bool:
        return quarter in self.top_ups

    def check_close(self, quarter: str) -> Money | None:
        """The top-up closing `quarter` would accrue; None when it is closed already."""
        months = quarter_months(quarter)
        if months[2] < self.start_month:
            raise InvalidInput.field("quarter", f"{quarter} is before the agreement starts.")
        if self.is_closed(quarter):
            return None
        return self.top_up_difference(quarter)

    def close_quarter(self, quarter: str, accrual_id: UUID | None,
                      occurred_at: datetime) -> Money | None:  # a top-up is never negative
        """Tops the quarter up to the minimum; closing again changes nothing (None)."""
        top_up = self.check_close(quarter)
        if top_up is not None:
            self._quarter_closed(quarter, top_up, accrual_id, occurred_at)
        return top_up

    def adjust_top_up(self, quarter: str, accrual_id: UUID | None,
                      reductions: list[tuple[UUID, Decimal]], occurred_at: datetime) -> None:
        """After a restatement in a closed quarter, keeps royalties plus top-up at the minimum."""
        self._top_up_adjusted(quarter, self.top_up_difference(quarter), accrual_id,
                              [[i.hex, str(a)] for i, a in reductions], occurred_at)

    @event("QuarterClosed")
    def _quarter_closed(self, quarter: str, top_up: Money, accrual_id: UUID | None,
                        occurred_at: datetime) -> None:
        self.top_ups[quarter] = str(top_up.amount)
        self._book(quarter, accrual_id, top_up.amount, [])

    @event("TopUpAdjusted")
    def _top_up_adjusted(self, quarter: str, difference: Money, accrual_id: UUID | None,
                         reductions: list[list[str]], occurred_at: datetime) -> None:
        self.top_ups[quarter] = str(Decimal(self.top_ups[quarter]) + difference.amount)
        self._book(quarter, accrual_id, difference.amount, reductions)
