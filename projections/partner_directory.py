"""The partner directory: one row per partner, for GET /partners and GET /partners/{id}."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.sql import Cursor, Row
from domain.partners import Partner
from projections.read_model import ReadModel, on

COLUMNS = (
    "partner_id, seq, name, email, company, type, country, status, status_reason, tier, "
    "plan_id, applied_at, updated_at, version"
)


def iso(moment: datetime) -> str:
    """Timestamps stored as ISO 8601 text."""
    return moment.isoformat()


class PartnerDirectory(ReadModel):
    """Partners by id, status and tier, in application order."""

    name = "partner_directory"
    table_names = ("partner_directory",)
    tables = (
        "CREATE TABLE IF NOT EXISTS partner_directory ("
        "partner_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, name TEXT NOT NULL, "
        "email TEXT NOT NULL, company TEXT NOT NULL, type TEXT NOT NULL, "
        "country TEXT NOT NULL, status TEXT NOT NULL, status_reason TEXT, tier TEXT NOT NULL, "
        "plan_id TEXT, applied_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
        "version INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS partner_directory_by_status "
        "ON partner_directory (status, seq)",
        "CREATE INDEX IF NOT EXISTS partner_directory_by_tier ON partner_directory (tier, seq)",
    )

    @on(Partner.Applied)  # type: ignore[attr-defined]
    def applied(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            f"INSERT INTO partner_directory ({COLUMNS}) "  # noqa: S608 - constant columns
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'applied', NULL, 'registered', NULL, ?, ?, 1)",
            (
                str(event.originator_id), position, event.name, event.email, event.company,
                event.type, event.country, iso(event.occurred_at), iso(event.occurred_at),
            ),
        )

    def _status(self, event: Any, cursor: Cursor, status: str, reason: str | None) -> None:
        # version counts applied events: a doubled event would show as a version mismatch.
        cursor.execute(
            "UPDATE partner_directory SET status = ?, status_reason = ?, updated_at = ?, "
            "version = version + 1 WHERE partner_id = ?",
            (status, reason, iso(event.occurred_at), str(event.originator_id)),
        )

    @on(Partner.Approved)  # type: ignore[attr-defined]
    def approved(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE partner_directory SET plan_id = ? WHERE partner_id = ?",
            (str(event.plan_id), str(event.originator_id)),
        )
        self._status(event, cursor, "active", None)

    @on(Partner.Rejected)  # type: ignore[attr-defined]
    def rejected(self, event: Any, position: int, cursor: Cursor) -> None:
        self._status(event, cursor, "rejected", event.reason)

    @on(Partner.Suspended)  # type: ignore[attr-defined]
    def suspended(self, event: Any, position: int, cursor: Cursor) -> None:
        self._status(event, cursor, "suspended", event.reason)

    @on(Partner.Reactivated)  # type: ignore[attr-defined]
    def reactivated(self, event: Any, position: int, cursor: Cursor) -> None:
        self._status(event, cursor, "active", None)

    @on(Partner.PlanChanged)  # type: ignore[attr-defined]
    def plan_changed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("UPDATE partner_directory SET plan_id = ?, updated_at = ?, "
                       "version = version + 1 WHERE partner_id = ?",
                       (str(event.plan_id), iso(event.occurred_at), str(event.originator_id)))

    @on(Partner.DetailsChanged)  # type: ignore[attr-defined]
    def details_changed(self, event: Any, position: int, cursor: Cursor) -> None:
        changes = {k: str(v) for k, v in dict(event.changes).items()
                   if k in ("name", "company", "country")}
        for name, value in changes.items():
            cursor.execute(
                f"UPDATE partner_directory SET {name} = ? WHERE partner_id = ?",  # noqa: S608
                (value, str(event.originator_id)))
        cursor.execute("UPDATE partner_directory SET updated_at = ?, version = version + 1 "
                       "WHERE partner_id = ?", (iso(event.occurred_at), str(event.originator_id)))

    @on(Partner.TierPromoted)  # type: ignore[attr-defined]
    def tier_promoted(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE partner_directory SET tier = ?, updated_at = ?, version = version + 1 "
            "WHERE partner_id = ?",
            (event.to_tier, iso(event.occurred_at), str(event.originator_id)),
        )

    @on(Partner.Terminated)  # type: ignore[attr-defined]
    def terminated(self, event: Any, position: int, cursor: Cursor) -> None:
        self._status(event, cursor, "terminated", event.reason)


@dataclass(frozen=True)
class PartnerPage:
    """One page of the directory and the cursor of the next."""

    rows: list[Row]
    next_seq: int | None


def find_partner(cursor: Cursor, partner_id: str) -> Row | None:
    """One partner's row."""
    cursor.execute(
        f"SELECT {COLUMNS} FROM partner_directory WHERE partner_id = ?",  # noqa: S608
        (partner_id,),
    )
    return cursor.fetchone()


def list_partners(
    cursor: Cursor,
    *,
    status: str | None,
    tier: str | None,
    partner_id: str | None,
    after_seq: int,
    limit: int,
) -> PartnerPage:
    """Partners in application order, filtered, after a cursor."""
    clauses = ["seq > ?"]
    params: list[Any] = [after_seq]
    for column, value in (("status", status), ("tier", tier), ("partner_id", partner_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    params.append(limit + 1)
    cursor.execute(
        f"SELECT {COLUMNS} FROM partner_directory WHERE {' AND '.join(clauses)} "  # noqa: S608
        "ORDER BY seq LIMIT ?",
        params,
    )
    rows = cursor.fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return PartnerPage(rows, int(rows[-1]["seq"]) if has_more else None)
