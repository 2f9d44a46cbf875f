"""The leaderboard and the program summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_smorest import Blueprint

from adapters.sql import Row
from api.http.auth import allow, principal
from api.http.commanding import services, wait_for_position
from api.http.csv_export import EXPORT_PAGE, Column, csv_doc, csv_response, field, money, wants_csv
from api.http.presenters.program import leader_row_json, summary_json
from api.http.reads import decode_cursor, encode_cursor
from api.http.schemas.program import (
    LeaderboardQuerySchema,
    LeaderboardSchema,
    SummaryQuerySchema,
    SummarySchema,
)
from domain.errors import InvalidInput
from projections.program import (
    Period,
    currencies,
    leaderboard,
    parse_period,
    ranked_row,
    revenue_totals,
)
from projections.summary import (
    deals_registered,
    partners_by,
    program_balances,
    referrals_recorded,
)

blp = Blueprint("program", __name__, description="Leaderboard and program summary")

TOP_PARTNERS = 5
LEADER_COLUMNS = (field("rank"), field("partner_id"), field("name", text=True),
                  money("sourced_revenue"), money("new_business"),
                  Column("currency", lambda item: item["sourced_revenue"]["currency"]))


def period_at(text: str, now: datetime) -> Period:
    """The `?period=` asked for; one not yet begun is a 422."""
    period = parse_period(text, now)
    if isinstance(period, str):
        raise InvalidInput.field("period", period)
    return period


@blp.route("/leaderboard", methods=["GET"])
@blp.arguments(LeaderboardQuerySchema, location="query")
@blp.response(200, LeaderboardSchema)
@blp.doc(**csv_doc("Leaderboard"))
@allow("internal", "auditor", "partner")
def leaderboard_view(query: dict[str, Any]) -> Any:
    """Partners of one currency ranked by sourced revenue in the period (net of refunds, by
    `occurred_at`), ties by name. A partner key sees every place but only its own name and id,
    and its own row in `own`; its currency is the default. As CSV with `?format=csv` or
    `Accept: text/csv`: every place from `cursor` on."""
    wait_for_position(query["min_position"])
    svc = services()
    period = period_at(query["period"], svc.app.clock())
    caller = principal()
    own_id = str(caller.partner_id) if caller.role == "partner" else None
    offset, limit = decode_cursor(query["cursor"]), query["limit"]
    with svc.db.transaction(commit=False) as cursor:
        position = min(runner.position(cursor) for runner in svc.projections.runners)
        known = currencies(cursor)
        own = ranked_row(cursor, period, own_id) if own_id is not None else None
        currency = query["currency"] or (own[0] if own else (known[0] if known else None))
        rows = leaderboard(cursor, period, currency, offset, limit + 1) if currency else []

    def present(row: Row) -> dict[str, Any]:
        return leader_row_json(row, str(currency), hidden=own_id is not None
                               and row["partner_id"] != own_id)

    if wants_csv(query):
        def fetch(after: int) -> tuple[list[dict[str, Any]], int | None]:
            with svc.db.transaction(commit=False) as cursor:
                found = leaderboard(cursor, period, str(currency), after, EXPORT_PAGE)
            more = len(found) == EXPORT_PAGE
            return [present(row) for row in found], after + len(found) if more else None

        return csv_response(f"leaderboard-{period.name}-{currency or 'none'}.csv",
                            LEADER_COLUMNS, fetch if currency else lambda _: ([], None), offset)
    shown = [present(row) for row in rows[:limit]]
    return {
        "period": period.name,
        "currency": currency,
        "currencies": known,
        "items": shown,
        "own": leader_row_json(own[1], own[0], hidden=False)
        if own is not None and own[0] == currency else None,
        "next_cursor": encode_cursor(offset + limit) if len(rows) > limit else None,
        "position": position,
    }


@blp.route("/program/summary", methods=["GET"])
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, SummarySchema)
@allow("internal", "auditor")
def summary(query: dict[str, Any]) -> dict[str, Any]:
    """The program in one answer for the period: partners by status and tier (now), sourced
    revenue, every partner's balances summed at the period's end (or now), deals registered
    and referrals recorded in it by status, and the top five partners per currency."""
    wait_for_position(query["min_position"])
    svc = services()
    now = svc.app.clock()
    period = period_at(query["period"], now)
    as_of = period.ends - timedelta(microseconds=1) if period.ends is not None else now
    with svc.db.transaction(commit=False) as cursor:
        position = min(runner.position(cursor) for runner in svc.projections.runners)
        partners = partners_by(cursor)
        revenue = revenue_totals(cursor, period)
        balances = program_balances(cursor, as_of, now)
        top = {currency: leaderboard(cursor, period, currency, 0, TOP_PARTNERS)
               for currency in currencies(cursor)}
        deals = deals_registered(cursor, period, now)
        referrals = referrals_recorded(cursor, period, now)
    return {**summary_json(period, as_of, partners, revenue, balances, top, deals, referrals),
            "position": position}
