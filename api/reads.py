"""Reads from one read model: a row only its partner (or staff) may see, or a partner's page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.sql import Cursor, Row
from api.auth import principal
from api.commanding import services
from api.errors import ApiProblem
from api.schemas.common import decode_cursor, encode_cursor


def scoped_row(projection: str, find: Callable[[Cursor, str], Row | None], row_id: str,
               noun: str) -> tuple[Row, int]:
    """A row and the position it reflects; another partner's row looks like no row (404)."""
    svc = services()
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get(projection).position(cursor)
        row = find(cursor, row_id)
    caller = principal()
    if row is None or (caller.role == "partner" and row["partner_id"] != str(caller.partner_id)):
        raise ApiProblem(404, "not-found", f"No {noun} with id {row_id}.")
    return row, position


def partner_page(projection: str, partner_id: str, query: dict[str, Any],
                 rows: Callable[..., Any], present: Callable[[Row, datetime], dict[str, Any]],
                 ) -> dict[str, Any]:
    """One page of a partner's rows, filtered by `query["status"]`, with the next cursor."""
    svc = services()
    now = svc.app.clock()
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get(projection).position(cursor)
        page = rows(cursor, partner_id, query["status"], decode_cursor(query["cursor"]),
                    query["limit"], now)
    return {
        "items": [present(row, now) for row in page.rows],
        "next_cursor": encode_cursor(page.next_seq),
        "position": position,
    }
