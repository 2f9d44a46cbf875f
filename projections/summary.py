"""The program summary: partners, revenue, balances, deals and referrals, over all partners.

Balances are the sum of every partner's balances at one business time (the period's end, or
now), read with the partner balance query widened to all partners of a currency, so the
program's figures always equal the sum of what each partner's `/balances` shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.sql import Cursor
from projections.commissions import OPEN_DEALS, OPEN_REFERRALS
from projections.ledger import PROGRAM_BALANCE_SQL, MinorBalances, balances_of, named
from projections.program import Period
from projections.timestamps import iso


def program_balances(cursor: Cursor, as_of: datetime, known_at: datetime) -> list[MinorBalances]:
    """Every currency's balances summed over its partners, at `as_of` as known at `known_at`."""
    cursor.execute("SELECT DISTINCT currency FROM statement_totals ORDER BY currency")
    found = [str(row["currency"]) for row in cursor.fetchall()]
    result = []
    for currency in found:
        statement, params = named(PROGRAM_BALANCE_SQL, {
            "currency": currency, "as_of": iso(as_of), "known_at": iso(known_at)})
        cursor.execute(statement, params)
        result.append(balances_of(currency, cursor.fetchone()))
    return result


def partners_by(cursor: Cursor) -> tuple[dict[str, int], dict[str, int]]:
    """How many partners there are now by status, and active ones by tier."""
    cursor.execute("SELECT status, COUNT(*) AS n FROM partner_directory GROUP BY status")
    statuses = {str(row["status"]): int(row["n"]) for row in cursor.fetchall()}
    cursor.execute("SELECT tier, COUNT(*) AS n FROM partner_directory "
                   "WHERE status = 'active' GROUP BY tier")
    tiers = {str(row["tier"]): int(row["n"]) for row in cursor.fetchall()}
    return statuses, tiers


def _window(column: str, period: Period) -> tuple[str, list[Any]]:
    clause, params = "", []
    if period.starts is not None:
        clause, params = f" AND {column} >= ?", [iso(period.starts)]
    if period.ends is not None:
        clause, params = f"{clause} AND {column} < ?", [*params, iso(period.ends)]
    return clause, params


def _counted(cursor: Cursor, table: str, time_column: str, expiry_column: str,
             open_states: tuple[str, ...], period: Period, now: datetime) -> dict[str, int]:
    """Rows recorded in the period by status as a reader sees it now (open past its window
    reads as expired)."""
    clause, params = _window(time_column, period)
    marks = ", ".join("?" * len(open_states))
    cursor.execute(
        f"SELECT CASE WHEN status IN ({marks}) AND {expiry_column} < ? THEN 'expired' "  # noqa: S608
        f"ELSE status END AS shown, COUNT(*) AS n FROM {table} WHERE 1 = 1{clause} "
        "GROUP BY shown",
        [*open_states, iso(now), *params],
    )
    return {str(row["shown"]): int(row["n"]) for row in cursor.fetchall()}


def deals_registered(cursor: Cursor, period: Period, now: datetime) -> dict[str, int]:
    """Deals registered in the period, by status now."""
    counts = dict.fromkeys(("registered", "approved", "won", "lost", "expired", "rejected"), 0)
    counts.update(_counted(cursor, "deals", "registered_at", "protected_until", OPEN_DEALS,
                           period, now))
    return counts


def referrals_recorded(cursor: Cursor, period: Period, now: datetime) -> dict[str, int]:
    """Referrals recorded in the period, by status now, with their total as `recorded`."""
    counts = dict.fromkeys(("pending", "converted", "rejected", "expired"), 0)
    counts.update(_counted(cursor, "referrals", "recorded_at", "attribution_expires_at",
                           OPEN_REFERRALS, period, now))
    return {"recorded": sum(counts.values()), **counts}
