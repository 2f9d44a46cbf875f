"""Money owed as answers: payouts and their runs, balances, statement entries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.sql import Row
from api.http.schemas.ledger import BUCKETS
from domain.money import decimal_text
from projections.money import from_minor


def payout_json(payout: Any) -> dict[str, Any]:
    """A payout from its aggregate."""
    return {
        "id": str(payout.id),
        "partner_id": str(payout.partner_id),
        "run_id": str(payout.run_id),
        "amount": payout.amount.to_json(),
        "status": payout.status,
        "settlement": payout.settlement,
        "as_of": payout.as_of.isoformat(),
        "reference": payout.reference,
        "reason": payout.reason,
    }


def run_json(run: Any) -> dict[str, Any]:
    """A payout run with the payouts it made, as it made them."""
    return {
        "id": str(run.id),
        "as_of": run.as_of.isoformat(),
        "payouts": [
            {"id": str(p["id"]), "partner_id": str(p["partner_id"]), "run_id": str(run.id),
             "amount": p["amount"].to_json(), "status": "in_payout",
             "settlement": p["settlement"], "as_of": run.as_of.isoformat(),
             "reference": None, "reason": None}
            for p in run.payouts
        ],
        "skipped": run.skipped,
    }


def payout_row_json(row: Row) -> dict[str, Any]:
    """A payout in a partner's list, from the ledger read model."""
    currency = row["currency"]
    return {
        "id": row["payout_id"],
        "partner_id": row["partner_id"],
        "run_id": row["run_id"],
        "amount": from_minor(int(row["amount"]), currency).to_json(),
        "status": row["status"],
        "started_at": datetime.fromisoformat(row["occurred_at"]).isoformat(),
        "reference": row["reference"],
        "reason": row["reason"],
    }


def balances_json(partner_id: UUID, as_of: datetime, known_at: datetime,
                  figures: Iterable[Any]) -> dict[str, Any]:
    """A partner's buckets per currency, in minor units from the read model, as decimals."""
    return {
        "partner_id": str(partner_id),
        "as_of": as_of.isoformat(),
        "known_at": known_at.isoformat(),
        "balances": [buckets_json(b, b.currency) for b in figures],
    }


def buckets_json(figures: Any, currency: str) -> dict[str, Any]:
    """One currency's buckets, from minor units to decimal strings."""
    return {"currency": currency, **{
        name: decimal_text(from_minor(getattr(figures, name), currency).amount)
        for name in BUCKETS
    }}


def statement_entry_json(row: Row) -> dict[str, Any]:
    """A statement line: what moved, from what source, and the running balance after it."""
    currency = row["currency"]
    return {
        "entry_id": row["entry_id"],
        "kind": row["kind"],
        "amount": from_minor(int(row["amount"]), currency).to_json(),
        "occurred_at": datetime.fromisoformat(row["occurred_at"]).isoformat(),
        "recorded_at": datetime.fromisoformat(row["recorded_at"]).isoformat(),
        "source": {"type": row["source_type"], "id": row["source_id"]},
        "plan_version": row["plan_version"],
        "running_balance": from_minor(int(row["running_balance"]), currency).to_json(),
    }
