"""The ledger read model: entries indexed by business and recorded time, and the statement.

Balances for any `as_of` (business time) and `known_at` (recorded time) are answered by a
few aggregate queries over these tables, mirroring the netting rule of `domain.ledger`; a
property test (tests/integration/test_ledger_properties.py) keeps the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.sql import Cursor, Row
from domain.accounts import PartnerAccount
from projections.commissions import Page, page_of
from projections.money import to_minor
from projections.read_model import ReadModel, on
from projections.timestamps import iso


class LedgerReadModel(ReadModel):
    """Accruals, reversals, payouts and their links, plus a statement per partner."""

    name = "ledger"  # its position's key, and the name operators use
    table_names = ("ledger_accruals", "ledger_reversals", "ledger_payouts",
                   "ledger_payout_accruals", "ledger_payout_reversals", "statement",
                   "statement_totals")
    tables = (
        "CREATE TABLE IF NOT EXISTS ledger_accruals (accrual_id TEXT PRIMARY KEY, "
        "partner_id TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL, "
        "occurred_at TEXT NOT NULL, available_at TEXT NOT NULL, recorded_at TEXT NOT NULL)",
        # covering indexes: balance sums read the index alone
        "CREATE INDEX IF NOT EXISTS ledger_accruals_by_partner "
        "ON ledger_accruals (partner_id, occurred_at, recorded_at, amount)",
        "CREATE INDEX IF NOT EXISTS ledger_accruals_by_availability "
        "ON ledger_accruals (partner_id, available_at)",
        "CREATE TABLE IF NOT EXISTS ledger_reversals (reversal_id TEXT PRIMARY KEY, "
        "accrual_id TEXT NOT NULL, partner_id TEXT NOT NULL, amount BIGINT NOT NULL, "
        "occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ledger_reversals_by_partner "
        "ON ledger_reversals (partner_id, occurred_at, recorded_at, amount)",
        "CREATE INDEX IF NOT EXISTS ledger_reversals_by_accrual ON ledger_reversals (accrual_id)",
        "CREATE TABLE IF NOT EXISTS ledger_payouts (payout_id TEXT PRIMARY KEY, "
        "seq BIGINT NOT NULL, partner_id TEXT NOT NULL, currency TEXT NOT NULL, "
        "run_id TEXT NOT NULL, amount BIGINT NOT NULL, accrual_total BIGINT NOT NULL, "
        "reversal_total BIGINT NOT NULL, status TEXT NOT NULL, "
        "occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, confirmed_at TEXT, "
        "confirmed_recorded_at TEXT, failed_at TEXT, failed_recorded_at TEXT, "
        "reference TEXT, reason TEXT)",
        "CREATE INDEX IF NOT EXISTS ledger_payouts_by_partner ON ledger_payouts (partner_id, seq)",
        "CREATE INDEX IF NOT EXISTS ledger_payouts_by_seq ON ledger_payouts (seq)",
        "CREATE TABLE IF NOT EXISTS ledger_payout_accruals (payout_id TEXT NOT NULL, "
        "accrual_id TEXT NOT NULL, PRIMARY KEY (payout_id, accrual_id))",
        "CREATE INDEX IF NOT EXISTS ledger_payout_accruals_by_accrual "
        "ON ledger_payout_accruals (accrual_id)",
        "CREATE TABLE IF NOT EXISTS ledger_payout_reversals (payout_id TEXT NOT NULL, "
        "reversal_id TEXT NOT NULL, PRIMARY KEY (payout_id, reversal_id))",
        "CREATE INDEX IF NOT EXISTS ledger_payout_reversals_by_reversal "
        "ON ledger_payout_reversals (reversal_id)",
        "CREATE TABLE IF NOT EXISTS statement (seq BIGINT NOT NULL, partner_id TEXT NOT NULL, "
        "entry_id TEXT NOT NULL, kind TEXT NOT NULL, amount BIGINT NOT NULL, "
        "currency TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
        "source_type TEXT, source_id TEXT, plan_version INTEGER, running_balance BIGINT NOT NULL, "
        "PRIMARY KEY (partner_id, seq))",
        "CREATE TABLE IF NOT EXISTS statement_totals (account_id TEXT PRIMARY KEY, "
        "partner_id TEXT NOT NULL, currency TEXT NOT NULL, balance BIGINT NOT NULL)",
    )

    def _statement(self, event: Any, position: int, cursor: Cursor, entry_id: str, kind: str,
                   amount: int, source: tuple[str | None, str | None] = (None, None),
                   plan_version: int | None = None) -> None:
        account = str(event.originator_id)
        cursor.execute("UPDATE statement_totals SET balance = balance + ? WHERE account_id = ?",
                       (amount, account))
        cursor.execute(
            "INSERT INTO statement (seq, partner_id, entry_id, kind, amount, currency, "
            "occurred_at, recorded_at, source_type, source_id, plan_version, running_balance) "
            "SELECT ?, partner_id, ?, ?, ?, currency, ?, ?, ?, ?, ?, balance "
            "FROM statement_totals WHERE account_id = ?",
            (position, entry_id, kind, amount, iso(event.occurred_at), iso(event.timestamp),
             source[0], source[1], plan_version, account),
        )

    @on(PartnerAccount.Opened)  # type: ignore[attr-defined]
    def opened(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO statement_totals (account_id, partner_id, currency, balance) "
            "VALUES (?, ?, ?, 0)",
            (str(event.originator_id), str(event.partner_id), event.currency),
        )

    @on(PartnerAccount.Accrued)  # type: ignore[attr-defined]
    def accrued(self, event: Any, position: int, cursor: Cursor) -> None:
        amount = to_minor(event.amount)
        cursor.execute(
            "INSERT INTO ledger_accruals (accrual_id, partner_id, currency, amount, occurred_at, "
            "available_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(event.accrual_id), str(event.partner_id), event.amount.currency, amount,
             iso(event.occurred_at), iso(event.available_at), iso(event.timestamp)),
        )
        self._statement(event, position, cursor, str(event.accrual_id), "accrual", amount,
                        (event.source_type, event.source_id), event.plan_version)

    @on(PartnerAccount.Reversed)  # type: ignore[attr-defined]
    def reversed(self, event: Any, position: int, cursor: Cursor) -> None:
        amount = to_minor(event.amount)
        cursor.execute(
            "INSERT INTO ledger_reversals (reversal_id, accrual_id, partner_id, amount, "
            "occurred_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            (str(event.reversal_id), str(event.accrual_id), str(event.partner_id), amount,
             iso(event.occurred_at), iso(event.timestamp)),
        )
        self._statement(event, position, cursor, str(event.reversal_id), "reversal", -amount,
                        (event.source_type, event.source_id), event.plan_version)

    @on(PartnerAccount.Adjusted)  # type: ignore[attr-defined]
    def adjusted(self, event: Any, position: int, cursor: Cursor) -> None:
        # a credit is an accrual available at once; a debit a reversal of no accrual, which
        # the balance query takes off `available`
        amount = to_minor(event.amount)
        entry = str(event.entry_id)
        if amount > 0:
            cursor.execute(
                "INSERT INTO ledger_accruals (accrual_id, partner_id, currency, amount, "
                "occurred_at, available_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry, str(event.partner_id), event.amount.currency, amount,
                 iso(event.occurred_at), iso(event.occurred_at), iso(event.timestamp)),
            )
        else:
            cursor.execute(
                "INSERT INTO ledger_reversals (reversal_id, accrual_id, partner_id, amount, "
                "occurred_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (entry, entry, str(event.partner_id), -amount, iso(event.occurred_at),
                 iso(event.timestamp)),
            )
        self._statement(event, position, cursor, entry, "adjustment", amount,
                        ("adjustment", str(event.adjustment_id)))

    @on(PartnerAccount.PayoutStarted)  # type: ignore[attr-defined]
    def payout_started(self, event: Any, position: int, cursor: Cursor) -> None:
        payout = str(event.payout_id)
        amount = to_minor(event.amount)
        cursor.execute(
            "INSERT INTO ledger_payouts (payout_id, seq, partner_id, currency, run_id, amount, "
            "accrual_total, reversal_total, status, occurred_at, recorded_at) "
            "SELECT ?, ?, partner_id, currency, ?, ?, 0, 0, "
            "'in_payout', ?, ? FROM statement_totals WHERE account_id = ?",
            (payout, position, str(event.run_id), amount, iso(event.occurred_at),
             iso(event.timestamp), str(event.originator_id)),
        )
        for accrual_id in event.accrual_ids:
            cursor.execute("INSERT INTO ledger_payout_accruals (payout_id, accrual_id) "
                           "VALUES (?, ?)", (payout, str(accrual_id)))
        for reversal_id in event.reversal_ids:
            cursor.execute("INSERT INTO ledger_payout_reversals (payout_id, reversal_id) "
                           "VALUES (?, ?)", (payout, str(reversal_id)))
        cursor.execute(
            "UPDATE ledger_payouts SET accrual_total = (SELECT COALESCE(SUM(a.amount), 0) "
            "FROM ledger_payout_accruals pa JOIN ledger_accruals a "
            "ON a.accrual_id = pa.accrual_id WHERE pa.payout_id = ?), "
            "reversal_total = (SELECT COALESCE(SUM(r.amount), 0) "
            "FROM ledger_payout_reversals pr JOIN ledger_reversals r "
            "ON r.reversal_id = pr.reversal_id WHERE pr.payout_id = ?) WHERE payout_id = ?",
            (payout, payout, payout),
        )
        self._statement(event, position, cursor, payout, "payout", -amount,
                        ("payout_run", str(event.run_id)))

    @on(PartnerAccount.PayoutConfirmed)  # type: ignore[attr-defined]
    def payout_confirmed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE ledger_payouts SET status = 'paid', confirmed_at = ?, "
            "confirmed_recorded_at = ?, reference = ? WHERE payout_id = ?",
            (iso(event.occurred_at), iso(event.timestamp), event.reference,
             str(event.payout_id)),
        )

    @on(PartnerAccount.PayoutFailed)  # type: ignore[attr-defined]
    def payout_failed(self, event: Any, position: int, cursor: Cursor) -> None:
        payout = str(event.payout_id)
        cursor.execute(
            "UPDATE ledger_payouts SET status = 'failed', failed_at = ?, failed_recorded_at = ?, "
            "reason = ? WHERE payout_id = ?",
            (iso(event.occurred_at), iso(event.timestamp), event.reason, payout),
        )
        cursor.execute(
            "UPDATE statement_totals SET balance = balance + "
            "(SELECT amount FROM ledger_payouts WHERE payout_id = ?) WHERE account_id = ?",
            (payout, str(event.originator_id)),
        )
        cursor.execute(
            "INSERT INTO statement (seq, partner_id, entry_id, kind, amount, currency, "
            "occurred_at, recorded_at, source_type, source_id, plan_version, running_balance) "
            "SELECT ?, t.partner_id, ?, 'payout_failed', p.amount, t.currency, ?, ?, "
            "'payout', ?, NULL, t.balance FROM statement_totals t "
            "JOIN ledger_payouts p ON p.payout_id = ? WHERE t.account_id = ?",
            (position, payout, iso(event.occurred_at), iso(event.timestamp), payout, payout,
             str(event.originator_id)),
        )


# The cost is proportional to the partner's payouts and still-pending accruals, not to its
# history: totals come from covering indexes and each payout's own accrual and reversal sums.
_BALANCES_OF = """
WITH vp AS (
  SELECT payout_id, amount, accrual_total, reversal_total,
    CASE WHEN failed_at IS NOT NULL AND failed_at <= :as_of AND failed_recorded_at <= :known_at
           THEN 'failed'
         WHEN confirmed_at IS NOT NULL AND confirmed_at <= :as_of
              AND confirmed_recorded_at <= :known_at THEN 'paid'
         ELSE 'in_payout' END AS st
  FROM ledger_payouts
  WHERE partner_id {whose} AND occurred_at <= :as_of AND recorded_at <= :known_at
), active AS (
  SELECT payout_id, amount, accrual_total, reversal_total, st FROM vp WHERE st <> 'failed'
), pend AS (
  SELECT a.accrual_id, a.amount FROM ledger_accruals a
  WHERE a.partner_id {whose} AND a.available_at > :as_of AND a.occurred_at <= :as_of
    AND a.recorded_at <= :known_at
    AND NOT EXISTS (SELECT 1 FROM ledger_payout_accruals pa
                    JOIN active ON active.payout_id = pa.payout_id
                    WHERE pa.accrual_id = a.accrual_id)
)
SELECT
  (SELECT COALESCE(SUM(amount), 0) FROM ledger_accruals
     WHERE partner_id {whose} AND occurred_at <= :as_of AND recorded_at <= :known_at)
     AS earned,
  (SELECT COALESCE(SUM(amount), 0) FROM ledger_reversals
     WHERE partner_id {whose} AND occurred_at <= :as_of AND recorded_at <= :known_at)
     AS reversed,
  (SELECT COALESCE(SUM(amount), 0) FROM active WHERE st = 'in_payout') AS in_payout,
  (SELECT COALESCE(SUM(amount), 0) FROM active WHERE st = 'paid') AS paid,
  (SELECT COALESCE(SUM(accrual_total), 0) FROM active) AS active_accruals,
  (SELECT COALESCE(SUM(reversal_total), 0) FROM active) AS active_reversals,
  (SELECT COALESCE(SUM(amount), 0) FROM pend) AS pending_gross,
  (SELECT COALESCE(SUM(r.amount), 0) FROM ledger_reversals r
     JOIN pend ON pend.accrual_id = r.accrual_id
     WHERE r.occurred_at <= :as_of AND r.recorded_at <= :known_at
       AND NOT EXISTS (SELECT 1 FROM ledger_payout_reversals pr
                       JOIN active ON active.payout_id = pr.payout_id
                       WHERE pr.reversal_id = r.reversal_id)) AS pending_rev
"""

# Whose balances: one partner's, or (the program's) those of every partner in one currency.
ONE_PARTNER = "= :partner"
PARTNERS_IN_CURRENCY = "IN (SELECT partner_id FROM statement_totals WHERE currency = :currency)"
BALANCE_SQL = _BALANCES_OF.format(whose=ONE_PARTNER)
PROGRAM_BALANCE_SQL = _BALANCES_OF.format(whose=PARTNERS_IN_CURRENCY)


def named(sql: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """`:name` placeholders as positional `?` with their values in order."""
    params: list[Any] = []

    def take(match: re.Match[str]) -> str:
        params.append(values[match.group(1)])
        return "?"

    return re.sub(r":(\w+)", take, sql), params


@dataclass(frozen=True)
class MinorBalances:
    """Balances in minor units of one currency."""

    currency: str
    earned: int
    reversed: int
    pending: int
    available: int
    in_payout: int
    paid: int


def balances(cursor: Cursor, partner_id: str, as_of: datetime,
             known_at: datetime) -> list[MinorBalances]:
    """A partner's balances at business time `as_of`, as the books stood at `known_at`."""
    cursor.execute("SELECT currency FROM statement_totals WHERE partner_id = ?", (partner_id,))
    currencies = [str(row["currency"]) for row in cursor.fetchall()]
    if not currencies:
        return []
    statement, params = named(BALANCE_SQL, {"partner": partner_id, "as_of": iso(as_of),
                                             "known_at": iso(known_at)})
    cursor.execute(statement, params)
    return [balances_of(currencies[0], cursor.fetchone())]


def balances_of(currency: str, row: Row | None) -> MinorBalances:
    """The balances in the answer of `BALANCE_SQL` or `PROGRAM_BALANCE_SQL`."""
    assert row is not None
    f = {key: int(row[key]) for key in (
        "earned", "reversed", "in_payout", "paid", "active_accruals", "active_reversals",
        "pending_gross", "pending_rev")}
    open_gross = f["earned"] - f["active_accruals"]  # accruals in no live payout
    open_reversals = f["reversed"] - f["active_reversals"]  # reversals no live payout netted
    return MinorBalances(
        currency=currency,
        earned=f["earned"],
        reversed=f["reversed"],
        pending=f["pending_gross"] - f["pending_rev"],
        available=(open_gross - f["pending_gross"]) - (open_reversals - f["pending_rev"]),
        in_payout=f["in_payout"],
        paid=f["paid"],
    )


def statement_page(cursor: Cursor, partner_id: str, after_seq: int, limit: int,
                   kind: str | None = None) -> Page:
    """A partner's statement in the order the entries were recorded (lines of one kind)."""
    if kind is None:
        return _partner_page(cursor, "statement", partner_id, after_seq, limit)
    cursor.execute("SELECT * FROM statement WHERE partner_id = ? AND seq > ? AND kind = ? "
                   "ORDER BY seq LIMIT ?", (partner_id, after_seq, kind, limit + 1))
    return page_of(cursor, limit)


def payouts_page(cursor: Cursor, partner_id: str, after_seq: int, limit: int) -> Page:
    """A partner's payouts, oldest first."""
    return _partner_page(cursor, "ledger_payouts", partner_id, after_seq, limit)


def _partner_page(cursor: Cursor, table: str, partner_id: str, after_seq: int,
                  limit: int) -> Page:
    cursor.execute(
        f"SELECT * FROM {table} WHERE partner_id = ? AND seq > ? "  # noqa: S608 - constant
        "ORDER BY seq LIMIT ?",
        (partner_id, after_seq, limit + 1),
    )
    return page_of(cursor, limit)


def list_payouts(cursor: Cursor, filters: dict[str, str | None], after_seq: int,
                 limit: int) -> Page:
    """Payouts in the order they were started, filtered by partner, run or status."""
    clauses, params = "", []
    for column in ("partner_id", "run_id", "status"):
        if filters.get(column) is not None:
            clauses += f" AND {column} = ?"
            params.append(filters[column])
    cursor.execute(f"SELECT * FROM ledger_payouts WHERE seq > ?{clauses} "  # noqa: S608
                   "ORDER BY seq LIMIT ?", [after_seq, *params, limit + 1])
    return page_of(cursor, limit)


def partners_with_accounts(cursor: Cursor) -> list[str]:
    """Every partner that has ever earned, for payout runs."""
    cursor.execute("SELECT partner_id FROM statement_totals ORDER BY partner_id")
    return [str(row["partner_id"]) for row in cursor.fetchall()]
