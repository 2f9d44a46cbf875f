"""The order and owners of records kept only as aggregates (plans, payout runs, royalty
agreements, payments), so operators can list and filter them; each item is then read from
its aggregate, in the same shape as the record's own GET."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.sql import Cursor
from domain.billing import Payment
from domain.payouts import PayoutRun
from domain.plans import Plan
from domain.royalties import RoyaltyAgreement
from projections.commissions import Page, page_of
from projections.read_model import ReadModel, on
from projections.timestamps import iso

# table -> (its filter columns, the column naming the aggregate)
LISTS: dict[str, tuple[tuple[str, ...], str]] = {
    "catalog_plans": (("currency",), "plan_id"),
    "catalog_runs": ((), "run_id"),
    "catalog_agreements": (("partner_id", "currency"), "agreement_id"),
    "catalog_payments": (("partner_id", "customer_id"), "aggregate_id"),
}


class Catalog(ReadModel):
    """Ids in the order they were created, with the columns lists filter on. Kept by the
    `program` read model (projections/program.py), so one runner reads the log for both."""

    name = "catalog"
    table_names: ClassVar[tuple[str, ...]] = tuple(LISTS)
    tables: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS catalog_plans (plan_id TEXT PRIMARY KEY, "
        "seq BIGINT NOT NULL UNIQUE, currency TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS catalog_runs (run_id TEXT PRIMARY KEY, "
        "seq BIGINT NOT NULL UNIQUE, ran_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS catalog_agreements (agreement_id TEXT PRIMARY KEY, "
        "seq BIGINT NOT NULL UNIQUE, partner_id TEXT NOT NULL, currency TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS catalog_agreements_by_partner "
        "ON catalog_agreements (partner_id, seq)",
        "CREATE TABLE IF NOT EXISTS catalog_payments (aggregate_id TEXT PRIMARY KEY, "
        "seq BIGINT NOT NULL UNIQUE, payment_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
        "partner_id TEXT)",
        "CREATE INDEX IF NOT EXISTS catalog_payments_by_partner "
        "ON catalog_payments (partner_id, seq)",
        "CREATE INDEX IF NOT EXISTS catalog_payments_by_customer "
        "ON catalog_payments (customer_id, seq)",
    )

    @on(Plan.Created)
    def plan_created(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO catalog_plans (plan_id, seq, currency) VALUES (?, ?, ?)",
                       (str(event.originator_id), position, event.terms.currency))

    @on(PayoutRun.Completed)  # type: ignore[attr-defined]
    def run_completed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO catalog_runs (run_id, seq, ran_at) VALUES (?, ?, ?)",
                       (str(event.originator_id), position, iso(event.occurred_at)))

    @on(RoyaltyAgreement.Signed)  # type: ignore[attr-defined]
    def agreement_signed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO catalog_agreements (agreement_id, seq, partner_id, "
                       "currency) VALUES (?, ?, ?, ?)",
                       (str(event.originator_id), position, str(event.partner_id),
                        event.currency))

    @on(Payment.Received)  # type: ignore[attr-defined]
    def payment_received(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO catalog_payments (aggregate_id, seq, payment_id, "
                       "customer_id, partner_id) VALUES (?, ?, ?, ?, ?)",
                       (str(event.originator_id), position, event.payment_id,
                        event.customer_id,
                        str(event.partner_id) if event.partner_id is not None else None))


def listed(cursor: Cursor, table: str, filters: dict[str, str | None], after_seq: int,
           limit: int) -> Page:
    """One page of a list's rows in creation order, filtered by the given columns."""
    allowed, _ = LISTS[table]
    clauses, params = "", []
    for column, value in filters.items():
        if value is None:
            continue
        if column not in allowed:
            raise ValueError(f"{table} does not filter on {column}")
        clauses += f" AND {column} = ?"
        params.append(value)
    cursor.execute(f"SELECT * FROM {table} WHERE seq > ?{clauses} "  # noqa: S608 - constants
                   "ORDER BY seq LIMIT ?", [after_seq, *params, limit + 1])
    return page_of(cursor, limit)
