"""Royalty agreements as answers: reports, accruals per period, closed quarters, year totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.money import Money
from domain.royalties import royalty_on


def agreement_json(agreement: Any) -> dict[str, Any]:
    """An agreement with its reports, accruals per period, closed quarters and year totals."""
    currency = agreement.currency

    def money(value: str | Decimal) -> dict[str, str]:
        return Money(Decimal(value), currency).to_json()

    years: dict[int, Decimal] = {}
    for period, (gross, returns) in agreement.reports.items():
        year = agreement.year_of(period)
        years[year] = years.get(year, Decimal(0)) + Decimal(gross) - Decimal(returns)
    return {
        "id": str(agreement.id),
        "partner_id": str(agreement.partner_id),
        "currency": currency,
        "schedule": [{"up_to": up_to, "rate": rate} for up_to, rate in agreement.schedule_rows],
        "minimum_per_quarter": agreement.minimum_per_quarter.to_json()
        if agreement.minimum_per_quarter else None,
        "starts_on": agreement.starts_on.isoformat(),
        "reports": [
            {"period": period, "gross_sales": money(gross), "returns": money(returns),
             "net_sales": money(Decimal(gross) - Decimal(returns)),
             "royalty": money(agreement.accrued.get(period, "0"))}
            for period, (gross, returns) in sorted(agreement.reports.items())
        ],
        "quarters": [{"quarter": quarter, "top_up": money(top_up), "closed": True}
                     for quarter, top_up in sorted(agreement.top_ups.items())],
        "years": [
            {"year": year + 1, "net_sales": money(net),
             "royalty": Money.rounded(royalty_on(agreement.schedule, net), currency).to_json()}
            for year, net in sorted(years.items())
        ],
    }
