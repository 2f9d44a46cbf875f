"""Leaderboard rows and the program summary as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from adapters.sql import Row
from api.http.presenters.earning import ratio
from api.http.presenters.ledger import buckets_json
from projections.ledger import MinorBalances
from projections.money import from_minor
from projections.program import Period


def leader_row_json(row: Row, currency: str, hidden: bool) -> dict[str, Any]:
    """One place on the leaderboard; `hidden` drops whose it is (another partner's row, shown
    to a partner key)."""
    return {
        "rank": int(row["rank"]),
        "partner_id": None if hidden else str(row["partner_id"]),
        "name": None if hidden else str(row["name"]),
        "sourced_revenue": from_minor(int(row["total"]), currency).to_json(),
        "new_business": from_minor(int(row["new_business"]), currency).to_json(),
    }


def period_json(period: Period) -> dict[str, Any]:
    """The period's name and bounds."""
    return {
        "period": period.name,
        "starts": period.starts.isoformat() if period.starts else None,
        "ends": period.ends.isoformat() if period.ends else None,
    }


def summary_json(period: Period, as_of: datetime, partners: tuple[dict[str, int],
                 dict[str, int]], revenue: dict[str, tuple[int, int]],
                 balances: Iterable[MinorBalances], top: dict[str, list[Row]],
                 deals: dict[str, int], referrals: dict[str, int]) -> dict[str, Any]:
    """The program summary from its figures, money per currency."""
    by_currency = {b.currency: b for b in balances}
    currencies = sorted(set(by_currency) | set(revenue) | set(top))
    decided = deals["won"] + deals["lost"] + deals["expired"]
    counted = referrals["recorded"] - referrals["rejected"]
    zero = MinorBalances("", 0, 0, 0, 0, 0, 0)
    return {
        **period_json(period),
        "as_of": as_of.isoformat(),
        "partners": {"by_status": partners[0], "active_by_tier": partners[1]},
        "currencies": [{
            "currency": currency,
            "sourced_revenue": from_minor(revenue.get(currency, (0, 0))[0], currency).to_json(),
            "new_business": from_minor(revenue.get(currency, (0, 0))[1], currency).to_json(),
            "balances": buckets_json(by_currency.get(currency, zero), currency),
            "top_partners": [leader_row_json(row, currency, hidden=False)
                             for row in top.get(currency, [])],
        } for currency in currencies],
        "deals": {**deals, "win_rate": ratio(deals["won"], decided)},
        "referrals": {**referrals, "conversion_rate": ratio(referrals["converted"], counted)},
    }
