"""Reads from one read model: a row only its partner (or staff) may see, a partner's page, and
the opaque cursors pages are turned with."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.sql import Cursor, Row
from api.http.auth import principal
from api.http.commanding import services
from api.http.errors import ApiProblem
from api.http.schemas.common import MAX_CURSOR
from domain.errors import InvalidInput


def encode_cursor(seq: int | None) -> str | None:
    """An opaque cursor for the row after which the next page starts."""
    if seq is None:
        return None
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position a cursor stands for; a cursor not made by us is a 422."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "seq" or not value.isascii() or not value.isdigit() or len(value) > 19:
            raise ValueError(text)
        if int(value) > MAX_CURSOR:
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.field("cursor", "Not a cursor returned by this API.") from None


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


def read_page(projection: str, fetch: Callable[[Cursor], Any],
              present: Callable[[Row], Any]) -> dict[str, Any]:
    """One page of a read model's rows (`fetch` answers a Page), presented, with the next
    cursor and the position the page reflects, read in one transaction."""
    svc = services()
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get(projection).position(cursor)
        found = fetch(cursor)
    return {"items": [present(row) for row in found.rows],
            "next_cursor": encode_cursor(found.next_seq), "position": position}


def partner_page(projection: str, partner_id: str, query: dict[str, Any],
                 rows: Callable[..., Any], present: Callable[[Row, datetime], dict[str, Any]],
                 ) -> dict[str, Any]:
    """One page of a partner's rows, filtered by `query["status"]`, with the next cursor."""
    now = services().app.clock()
    return read_page(projection, lambda cursor: rows(
        cursor, partner_id, query["status"], decode_cursor(query["cursor"]), query["limit"],
        now), lambda row: present(row, now))
