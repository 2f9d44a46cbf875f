"""Sourced revenue by partner and month, for the leaderboard and the program summary.

Revenue is kept per partner and UTC month of its `occurred_at` (refunds negative), so any
period (a month, a quarter, a year, all time) is a sum over at most a few months per partner.
Partners appear once they have an account: their first sourced revenue, accrual or points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.sql import Cursor, Row
from domain.accounts import PartnerAccount
from domain.business_time import month_number
from projections.catalog import Catalog
from projections.money import to_minor
from projections.read_model import on
from projections.timestamps import utc

_PERIOD = re.compile(r"^(?:(\d{4})-(0[1-9]|1[0-2])|(\d{4})-Q([1-4])|(\d{4})|all)$")


class ProgramActivity(Catalog):
    """Every account's partner and currency, and its sourced revenue by month; and the
    catalog of plans, runs, agreements and payments the collections list."""

    name = "program"
    table_names = ("program_accounts", "revenue_months", *Catalog.table_names)
    tables = (
        *Catalog.tables,
        "CREATE TABLE IF NOT EXISTS program_accounts (account_id TEXT PRIMARY KEY, "
        "partner_id TEXT NOT NULL UNIQUE, currency TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS program_accounts_by_currency "
        "ON program_accounts (currency, partner_id)",
        "CREATE TABLE IF NOT EXISTS revenue_months (partner_id TEXT NOT NULL, "
        "month TEXT NOT NULL, total BIGINT NOT NULL, new_business BIGINT NOT NULL, "
        "PRIMARY KEY (partner_id, month))",
        "CREATE INDEX IF NOT EXISTS revenue_months_by_month "
        "ON revenue_months (month, partner_id, total, new_business)",
    )

    @on(PartnerAccount.Opened)  # type: ignore[attr-defined]
    def opened(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO program_accounts (account_id, partner_id, currency) VALUES (?, ?, ?)",
            (str(event.originator_id), str(event.partner_id), event.currency),
        )

    @on(PartnerAccount.RevenueRecorded)  # type: ignore[attr-defined]
    def revenue(self, event: Any, position: int, cursor: Cursor) -> None:
        minor = to_minor(event.amount)
        new = minor if event.new_business else 0
        moment = utc(event.occurred_at)
        month = f"{moment.year:04d}-{moment.month:02d}"
        # SQLite needs the WHERE to read ON CONFLICT as the upsert clause of INSERT .. SELECT
        cursor.execute(
            "INSERT INTO revenue_months (partner_id, month, total, new_business) "
            "SELECT partner_id, ?, ?, ? FROM program_accounts WHERE account_id = ? "
            "ON CONFLICT (partner_id, month) DO UPDATE SET "
            "total = revenue_months.total + excluded.total, "
            "new_business = revenue_months.new_business + excluded.new_business",
            (month, minor, new, str(event.originator_id)),
        )


@dataclass(frozen=True)
class Period:
    """A reporting period: `all`, a year, a quarter or a month, as UTC months and instants."""

    name: str
    first_month: str  # "YYYY-MM", inclusive
    last_month: str  # "YYYY-MM", inclusive
    starts: datetime | None  # None for all time
    ends: datetime | None  # exclusive; None for all time or a period not yet over

    def contains_month(self, month: str) -> bool:
        """Whether "YYYY-MM" lies in the period."""
        return self.first_month <= month <= self.last_month


ALL_TIME = Period("all", "0000-00", "9999-99", None, None)


def parse_period(text: str, now: datetime) -> Period | str:
    """The period `text` names, or why it names none (a message for a 422)."""
    match = _PERIOD.match(text)
    if match is None:
        return "Must be YYYY-MM, YYYY-Qn, YYYY or all."
    if text == "all":
        return ALL_TIME
    month, quarter, year = match.group(2), match.group(4), match.group(5)
    if month is not None:
        first = last = (int(match.group(1)), int(month))
    elif quarter is not None:
        q = int(quarter)
        first, last = (int(match.group(3)), 3 * q - 2), (int(match.group(3)), 3 * q)
    else:
        first, last = (int(year), 1), (int(year), 12)
    current = now.astimezone(UTC)
    if first[0] < 1970:
        return "A period may not begin before 1970."
    if month_number(*first) > month_number(current.year, current.month):
        return f"A period may not begin after the current month ({current:%Y-%m})."
    starts = datetime(first[0], first[1], 1, tzinfo=UTC)
    after = (last[0] + last[1] // 12, last[1] % 12 + 1)
    ends = datetime(after[0], after[1], 1, tzinfo=UTC)
    return Period(text, f"{first[0]:04d}-{first[1]:02d}", f"{last[0]:04d}-{last[1]:02d}",
                  starts, ends if ends <= current else None)


def currencies(cursor: Cursor) -> list[str]:
    """The program's account currencies, the one most partners are paid in first."""
    cursor.execute("SELECT currency, COUNT(*) AS n FROM program_accounts GROUP BY currency")
    counted = [(int(row["n"]), str(row["currency"])) for row in cursor.fetchall()]
    return [currency for _, currency in sorted(counted, key=lambda c: (-c[0], c[1]))]


def _ranking_sql(cursor: Cursor) -> str:
    # Names compare by code point on both stores, so both rank ties alike.
    by_name = 'd.name COLLATE "C"' if cursor.dialect == "postgres" else "d.name"
    return f"""
SELECT partner_id, name, total, new_business,
       ROW_NUMBER() OVER (ORDER BY total DESC, sort_name, partner_id) AS rank
FROM (
  SELECT a.partner_id AS partner_id, COALESCE(d.name, '') AS name,
         {by_name} AS sort_name,
         COALESCE(SUM(r.total), 0) AS total, COALESCE(SUM(r.new_business), 0) AS new_business
  FROM program_accounts a
  LEFT JOIN revenue_months r
    ON r.partner_id = a.partner_id AND r.month >= ? AND r.month <= ?
  LEFT JOIN partner_directory d ON d.partner_id = a.partner_id
  WHERE a.currency = ?
  GROUP BY a.partner_id, d.name
) ranked
"""  # noqa: S608 - the collation is a constant


def leaderboard(cursor: Cursor, period: Period, currency: str, offset: int,
                limit: int) -> list[Row]:
    """Partners paid in `currency` ranked by sourced revenue in the period (ties by name,
    then id): rows `rank, partner_id, name, total, new_business` in minor units."""
    cursor.execute(
        f"SELECT * FROM ({_ranking_sql(cursor)}) page "  # noqa: S608
        "WHERE rank > ? ORDER BY rank LIMIT ?",
        (period.first_month, period.last_month, currency, offset, limit),
    )
    return cursor.fetchall()


def ranked_row(cursor: Cursor, period: Period, partner_id: str) -> tuple[str, Row] | None:
    """A partner's currency and leaderboard row in the period, or None without an account."""
    cursor.execute("SELECT currency FROM program_accounts WHERE partner_id = ?", (partner_id,))
    account = cursor.fetchone()
    if account is None:
        return None
    currency = str(account["currency"])
    cursor.execute(
        f"SELECT * FROM ({_ranking_sql(cursor)}) own WHERE partner_id = ?",  # noqa: S608
        (period.first_month, period.last_month, currency, partner_id),
    )
    row = cursor.fetchone()
    return (currency, row) if row is not None else None


def revenue_totals(cursor: Cursor, period: Period) -> dict[str, tuple[int, int]]:
    """Sourced revenue `(total, new_business)` in minor units per currency in the period."""
    cursor.execute(
        "SELECT a.currency AS currency, COALESCE(SUM(r.total), 0) AS total, "
        "COALESCE(SUM(r.new_business), 0) AS new_business FROM revenue_months r "
        "JOIN program_accounts a ON a.partner_id = r.partner_id "
        "WHERE r.month >= ? AND r.month <= ? GROUP BY a.currency",
        (period.first_month, period.last_month),
    )
    return {str(row["currency"]): (int(row["total"]), int(row["new_business"]))
            for row in cursor.fetchall()}
