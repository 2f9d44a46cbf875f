"""Deals, referrals, referred customers and partner standings, from the earning events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.sql import Cursor, Row
from domain.accounts import PartnerAccount
from domain.billing import Payment
from domain.deals import OPEN_STATES, Deal, deal_status_at
from domain.referrals import Referral, referral_status_at
from projections.money import to_minor
from projections.read_model import ReadModel, on
from projections.timestamps import iso

DEAL_COLUMNS = (
    "deal_id, seq, partner_id, customer_name, customer_domain, estimated_value, currency, "
    "status, reason, protected_until, amount, new_customer, registered_at, closed_at, version"
)
REFERRAL_COLUMNS = (
    "referral_id, seq, partner_id, lead_email, lead_company, status, reason, customer_id, "
    "attribution_expires_at, recorded_at, converted_at, points, version"
)


class Commissions(ReadModel):
    """Everything the earning side shows: deals, referrals, customers, standings."""

    name = "commissions"
    table_names = ("deals", "referrals", "referred_customers", "standings")
    tables = (
        "CREATE TABLE IF NOT EXISTS deals (deal_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
        "partner_id TEXT NOT NULL, customer_name TEXT NOT NULL, customer_domain TEXT NOT NULL, "
        "estimated_value TEXT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, "
        "reason TEXT, protected_until TEXT NOT NULL, amount TEXT, new_customer INTEGER, "
        "registered_at TEXT NOT NULL, closed_at TEXT, version INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS deals_by_partner ON deals (partner_id, seq)",
        "CREATE INDEX IF NOT EXISTS deals_by_status ON deals (status, protected_until)",
        "CREATE INDEX IF NOT EXISTS deals_by_seq ON deals (seq)",
        "CREATE TABLE IF NOT EXISTS referrals (referral_id TEXT PRIMARY KEY, "
        "seq BIGINT NOT NULL, partner_id TEXT NOT NULL, lead_email TEXT NOT NULL, "
        "lead_company TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, customer_id TEXT, "
        "attribution_expires_at TEXT NOT NULL, recorded_at TEXT NOT NULL, converted_at TEXT, "
        "points INTEGER NOT NULL, version INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS referrals_by_partner ON referrals (partner_id, seq)",
        "CREATE INDEX IF NOT EXISTS referrals_by_seq ON referrals (seq)",
        "CREATE TABLE IF NOT EXISTS referred_customers (customer_id TEXT PRIMARY KEY, "
        "partner_id TEXT NOT NULL, referral_id TEXT NOT NULL, converted_at TEXT NOT NULL, "
        "last_paid_at TEXT)",
        "CREATE INDEX IF NOT EXISTS referred_customers_by_partner "
        "ON referred_customers (partner_id, last_paid_at)",
        "CREATE TABLE IF NOT EXISTS standings (partner_id TEXT PRIMARY KEY, "
        "account_id TEXT NOT NULL UNIQUE, currency TEXT NOT NULL, "
        "revenue_total BIGINT NOT NULL, revenue_new_business BIGINT NOT NULL, "
        "earned BIGINT NOT NULL, reversed BIGINT NOT NULL, points BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS standings_by_revenue ON standings (currency, revenue_total)",
    )

    # deals ---------------------------------------------------------------------------------

    @on(Deal.Registered)  # type: ignore[attr-defined]
    def deal_registered(self, event: Any, position: int, cursor: Cursor) -> None:
        value = event.estimated_value
        cursor.execute(
            f"INSERT INTO deals ({DEAL_COLUMNS}) VALUES "  # noqa: S608 - constant columns
            "(?, ?, ?, ?, ?, ?, ?, 'registered', NULL, ?, NULL, NULL, ?, NULL, 1)",
            (str(event.originator_id), position, str(event.partner_id), event.customer_name,
             event.customer_domain, str(value.amount), value.currency,
             iso(event.protected_until), iso(event.occurred_at)),
        )

    def _deal_status(self, event: Any, cursor: Cursor, status: str, reason: str | None,
                     closed: bool) -> None:
        cursor.execute(
            "UPDATE deals SET status = ?, reason = ?, closed_at = ?, "
            "version = version + 1 WHERE deal_id = ?",
            (status, reason, iso(event.occurred_at) if closed else None,
             str(event.originator_id)),
        )

    @on(Deal.Approved)  # type: ignore[attr-defined]
    def deal_approved(self, event: Any, position: int, cursor: Cursor) -> None:
        self._deal_status(event, cursor, "approved", None, closed=False)

    @on(Deal.Rejected)  # type: ignore[attr-defined]
    def deal_rejected(self, event: Any, position: int, cursor: Cursor) -> None:
        self._deal_status(event, cursor, "rejected", event.reason, closed=True)

    @on(Deal.Lost)  # type: ignore[attr-defined]
    def deal_lost(self, event: Any, position: int, cursor: Cursor) -> None:
        self._deal_status(event, cursor, "lost", event.reason, closed=True)

    @on(Deal.Expired)  # type: ignore[attr-defined]
    def deal_expired(self, event: Any, position: int, cursor: Cursor) -> None:
        self._deal_status(event, cursor, "expired", None, closed=True)

    @on(Deal.Won)  # type: ignore[attr-defined]
    def deal_won(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE deals SET amount = ?, new_customer = ? WHERE deal_id = ?",
            (str(event.amount.amount), 1 if event.new_customer else 0,
             str(event.originator_id)),
        )
        self._deal_status(event, cursor, "won", None, closed=True)

    # referrals -----------------------------------------------------------------------------

    @on(Referral.Recorded)  # type: ignore[attr-defined]
    def referral_recorded(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            f"INSERT INTO referrals ({REFERRAL_COLUMNS}) VALUES "  # noqa: S608
            "(?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, 0, 1)",
            (str(event.originator_id), position, str(event.partner_id), event.lead_email,
             event.lead_company, event.status, event.reason, iso(event.attribution_expires_at),
             iso(event.occurred_at)),
        )

    @on(Referral.Converted)  # type: ignore[attr-defined]
    def referral_converted(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE referrals SET status = 'converted', customer_id = ?, converted_at = ?, "
            "points = ?, version = version + 1 WHERE referral_id = ?",
            (event.customer_id, iso(event.occurred_at), event.points, str(event.originator_id)),
        )
        cursor.execute(
            "INSERT INTO referred_customers (customer_id, partner_id, referral_id, "
            "converted_at) SELECT ?, partner_id, referral_id, ? FROM referrals "
            "WHERE referral_id = ?",
            (event.customer_id, iso(event.occurred_at), str(event.originator_id)),
        )

    @on(Payment.Received)  # type: ignore[attr-defined]
    def payment_received(self, event: Any, position: int, cursor: Cursor) -> None:
        if event.partner_id is None:
            return
        paid_at = iso(event.occurred_at)
        cursor.execute(
            "UPDATE referred_customers SET last_paid_at = ? WHERE customer_id = ? "
            "AND (last_paid_at IS NULL OR last_paid_at < ?)",
            (paid_at, event.customer_id, paid_at),
        )

    # standings -----------------------------------------------------------------------------

    @on(PartnerAccount.Opened)  # type: ignore[attr-defined]
    def account_opened(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO standings (partner_id, account_id, currency, revenue_total, "
            "revenue_new_business, earned, reversed, points) VALUES (?, ?, ?, 0, 0, 0, 0, 0)",
            (str(event.partner_id), str(event.originator_id), event.currency),
        )

    @on(PartnerAccount.Accrued)  # type: ignore[attr-defined]
    def accrued(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("UPDATE standings SET earned = earned + ? WHERE account_id = ?",
                       (to_minor(event.amount), str(event.originator_id)))

    @on(PartnerAccount.Reversed)  # type: ignore[attr-defined]
    def reversed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("UPDATE standings SET reversed = reversed + ? WHERE account_id = ?",
                       (to_minor(event.amount), str(event.originator_id)))

    @on(PartnerAccount.Adjusted)  # type: ignore[attr-defined]
    def adjusted(self, event: Any, position: int, cursor: Cursor) -> None:
        minor = to_minor(event.amount)
        cursor.execute("UPDATE standings SET earned = earned + ?, reversed = reversed + ? "
                       "WHERE account_id = ?",
                       (max(minor, 0), max(-minor, 0), str(event.originator_id)))

    @on(PartnerAccount.RevenueRecorded)  # type: ignore[attr-defined]
    def revenue(self, event: Any, position: int, cursor: Cursor) -> None:
        minor = to_minor(event.amount)
        cursor.execute(
            "UPDATE standings SET revenue_total = revenue_total + ?, "
            "revenue_new_business = revenue_new_business + ? WHERE account_id = ?",
            (minor, minor if event.new_business else 0, str(event.originator_id)),
        )

    @on(PartnerAccount.PointsAwarded)  # type: ignore[attr-defined]
    def points_awarded(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("UPDATE standings SET points = points + ? WHERE account_id = ?",
                       (event.points, str(event.originator_id)))

    @on(PartnerAccount.PointsRedeemed)  # type: ignore[attr-defined]
    def points_redeemed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("UPDATE standings SET points = points - ? WHERE account_id = ?",
                       (event.points, str(event.originator_id)))


# reads -------------------------------------------------------------------------------------
# Statuses are read as the domain reads them (`deal_status_at`, `referral_status_at`); the SQL
# filters below mirror those rules, and a property test keeps them equal.

OPEN_DEALS = tuple(sorted(OPEN_STATES))
OPEN_REFERRALS = ("pending",)


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the next."""

    rows: list[Row]
    next_seq: int | None


def page_of(cursor: Cursor, limit: int) -> Page:
    """The rows fetched with LIMIT limit + 1, as a page and the cursor of the next."""
    rows = cursor.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, int(rows[-1]["seq"]) if more else None)


def deal_status(row: Row, now: datetime) -> str:
    """A row's status as a reader sees it now: open past its window is expired."""
    return deal_status_at(str(row["status"]), datetime.fromisoformat(row["protected_until"]),
                          now)


def find_deal(cursor: Cursor, deal_id: str) -> Row | None:
    """One deal's row."""
    cursor.execute("SELECT * FROM deals WHERE deal_id = ?", (deal_id,))
    return cursor.fetchone()


def _status_clause(status: str | None, now: datetime, open_states: tuple[str, ...],
                   expiry_column: str) -> tuple[str, list[Any]]:
    """SQL for a status filter that treats open rows past their window as expired."""
    if status is None:
        return "", []
    if status == "expired":
        marks = ", ".join("?" * len(open_states))
        return (f" AND (status = 'expired' OR (status IN ({marks}) AND {expiry_column} < ?))",
                [*open_states, iso(now)])
    if status in open_states:
        return f" AND status = ? AND {expiry_column} >= ?", [status, iso(now)]
    return " AND status = ?", [status]


def _owned(partner_id: str | None) -> tuple[str, list[Any]]:
    return ("partner_id = ?", [partner_id]) if partner_id is not None else ("1 = 1", [])


def list_deals(cursor: Cursor, partner_id: str | None, status: str | None, after_seq: int,
               limit: int, now: datetime) -> Page:
    """A partner's deals (or everyone's, for None) in registration order."""
    clause, params = _status_clause(status, now, OPEN_DEALS, "protected_until")
    owner, owner_params = _owned(partner_id)
    cursor.execute(
        f"SELECT * FROM deals WHERE {owner} AND seq > ?{clause} "  # noqa: S608
        "ORDER BY seq LIMIT ?",
        [*owner_params, after_seq, *params, limit + 1],
    )
    return page_of(cursor, limit)


def referral_status(row: Row, now: datetime) -> str:
    """A pending referral past its window reads as expired."""
    return referral_status_at(str(row["status"]),
                              datetime.fromisoformat(row["attribution_expires_at"]), now)


def find_referral(cursor: Cursor, referral_id: str) -> Row | None:
    """One referral's row."""
    cursor.execute("SELECT * FROM referrals WHERE referral_id = ?", (referral_id,))
    return cursor.fetchone()


def list_referrals(cursor: Cursor, partner_id: str | None, status: str | None,
                   after_seq: int, limit: int, now: datetime) -> Page:
    """A partner's referrals (or everyone's, for None) in the order they were recorded."""
    clause, params = _status_clause(status, now, OPEN_REFERRALS, "attribution_expires_at")
    owner, owner_params = _owned(partner_id)
    cursor.execute(
        f"SELECT * FROM referrals WHERE {owner} AND seq > ?{clause} "  # noqa: S608
        "ORDER BY seq LIMIT ?",
        [*owner_params, after_seq, *params, limit + 1],
    )
    return page_of(cursor, limit)


def open_deals_past_window(cursor: Cursor, now: datetime, limit: int) -> list[str]:
    """Deals the expiry sweep should record as expired."""
    marks = ", ".join("?" * len(OPEN_DEALS))
    cursor.execute(
        f"SELECT deal_id FROM deals WHERE status IN ({marks}) "  # noqa: S608 - constant marks
        "AND protected_until < ? ORDER BY protected_until LIMIT ?",
        (*OPEN_DEALS, iso(now), limit),
    )
    return [str(row["deal_id"]) for row in cursor.fetchall()]


ACTIVE_CUSTOMER_DAYS = 90


@dataclass(frozen=True)
class StandingFigures:
    """The counts and sums a standing shows, before formatting."""

    currency: str | None
    revenue_total: int
    revenue_new_business: int
    earned: int
    reversed: int
    points: int
    deals: dict[str, int]
    referrals: dict[str, int]
    active_customers: int


def standing_figures(cursor: Cursor, partner_id: str, now: datetime) -> StandingFigures:
    """Everything the standing of one partner needs, read in one transaction."""
    cursor.execute("SELECT * FROM standings WHERE partner_id = ?", (partner_id,))
    row = cursor.fetchone()
    deals = dict.fromkeys(("registered", "approved", "won", "lost", "expired", "rejected"), 0)
    cursor.execute("SELECT status, protected_until FROM deals WHERE partner_id = ?",
                   (partner_id,))
    for deal in cursor.fetchall():
        deals[deal_status(deal, now)] += 1
    referrals = dict.fromkeys(("recorded", "pending", "converted", "rejected", "expired"), 0)
    cursor.execute("SELECT status, attribution_expires_at FROM referrals WHERE partner_id = ?",
                   (partner_id,))
    for referral in cursor.fetchall():
        referrals["recorded"] += 1
        referrals[referral_status(referral, now)] += 1
    cursor.execute(
        "SELECT COUNT(*) AS n FROM referred_customers WHERE partner_id = ? "
        "AND last_paid_at >= ?",
        (partner_id, iso(now - timedelta(days=ACTIVE_CUSTOMER_DAYS))),
    )
    active = cursor.fetchone()
    return StandingFigures(
        currency=row["currency"] if row else None,
        revenue_total=int(row["revenue_total"]) if row else 0,
        revenue_new_business=int(row["revenue_new_business"]) if row else 0,
        earned=int(row["earned"]) if row else 0,
        reversed=int(row["reversed"]) if row else 0,
        points=int(row["points"]) if row else 0,
        deals=deals,
        referrals=referrals,
        active_customers=int(active["n"]) if active is not None else 0,
    )
