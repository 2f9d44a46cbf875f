"""Payout runs, payouts, balances and statements."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID, uuid4

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, check_partner_access, principal
from api.http.commanding import Answer, run_command, services, wait_for_position
from api.http.csv_export import (
    EXPORT_PAGE,
    Column,
    Fetch,
    csv_doc,
    csv_response,
    field,
    money,
    wants_csv,
)
from api.http.errors import ApiProblem
from api.http.presenters.ledger import (
    balances_json,
    payout_json,
    payout_row_json,
    run_json,
    statement_entry_json,
)
from api.http.reads import decode_cursor, encode_cursor
from api.http.schemas.common import ExportQuerySchema, ReadQuerySchema
from api.http.schemas.ledger import (
    BalanceQuerySchema,
    BalancesSchema,
    PayoutListSchema,
    PayoutOutSchema,
    RunOutSchema,
    StatementQuerySchema,
    StatementSchema,
)
from api.schemas.payouts import ConfirmSchema, FailSchema, RunSchema
from domain.errors import PartnerLedgerError
from domain.payouts import Payout, PayoutRun
from projections.ledger import balances, partners_with_accounts, payouts_page, statement_page
from projections.runner import ProjectionFailed

blp = Blueprint("payouts", __name__, description="Payouts, balances and statements")

STATEMENT_COLUMNS = (
    field("entry_id"), field("kind"), money("amount"),
    Column("currency", lambda item: item["amount"]["currency"]),
    field("occurred_at"), field("recorded_at"),
    Column("source_type", lambda item: item["source"]["type"]),
    Column("source_id", lambda item: item["source"]["id"], text=True),
    field("plan_version"), money("running_balance"),
)
PAYOUT_COLUMNS = (
    field("id"), field("run_id"), money("amount"),
    Column("currency", lambda item: item["amount"]["currency"]), field("status"),
    field("started_at"), field("reference", text=True), field("reason", text=True),
)


def partner_pages(page: Any, present: Any, partner_id: str) -> Fetch:
    """Fetches a partner's rows of one ledger list a page at a time, as JSON items."""
    db = services().db

    def fetch(after: int) -> tuple[list[dict[str, Any]], int | None]:
        with db.transaction(commit=False) as cursor:
            found = page(cursor, partner_id, after, EXPORT_PAGE)
        return [present(row) for row in found.rows], found.next_seq

    return fetch


@blp.route("/payout-runs", methods=["POST"])
@blp.arguments(RunSchema, required=False)
@blp.response(201, RunOutSchema)
@allow("internal")
def run_payouts(body: dict[str, Any]) -> Answer:
    """One payout per partner whose available money reaches the plan minimum at `as_of`.

    Suspended partners are skipped, terminated ones settled. Repeating a run pays nothing
    twice: with the same Idempotency-Key it answers as the first time; without, money already
    in a payout is no longer available.
    """
    svc = services()
    # Who has an account comes from the ledger read model; the other read models may lag.
    try:
        svc.projections.get("ledger").catch_up()
    except ProjectionFailed as error:
        raise ApiProblem(503, "projection-behind", f"The ledger read model is stopped: {error}",
                         headers={"Retry-After": "30"}) from error
    with svc.db.transaction(commit=False) as cursor:
        partners = tuple(UUID(p) for p in partners_with_accounts(cursor))
    command = builders.run_payouts(body, body["occurred_at"], body["id"] or uuid4(), partners)
    return run_command(command, run_json, 201)


@blp.route("/payout-runs/<uuid:run_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, RunOutSchema)
@allow("internal", "auditor")
def get_run(query: dict[str, Any], run_id: UUID) -> dict[str, Any]:
    """A run, with its payouts' current status."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    run = svc.app.get_aggregate(PayoutRun, run_id)
    body = run_json(run)
    body["payouts"] = [payout_json(svc.app.get_aggregate(Payout, UUID(p["id"])))
                       for p in body["payouts"]]
    return {**body, "position": position}


@blp.route("/payouts/<uuid:payout_id>/confirm", methods=["POST"])
@blp.arguments(ConfirmSchema)
@blp.response(200, PayoutOutSchema)
@allow("internal")
def confirm(body: dict[str, Any], payout_id: UUID) -> Answer:
    """in_payout → paid, with the transfer's reference."""
    return run_command(builders.confirm_payout(body, body["occurred_at"], payout_id),
                       payout_json)


@blp.route("/payouts/<uuid:payout_id>/fail", methods=["POST"])
@blp.arguments(FailSchema)
@blp.response(200, PayoutOutSchema)
@allow("internal")
def fail(body: dict[str, Any], payout_id: UUID) -> Answer:
    """in_payout → failed: the money is available again."""
    return run_command(builders.fail_payout(body, body["occurred_at"], payout_id),
                       payout_json)


@blp.route("/payouts/<uuid:payout_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, PayoutOutSchema)
@allow("internal", "auditor", "partner")
def get_payout(query: dict[str, Any], payout_id: UUID) -> dict[str, Any]:
    """One payout. A partner key sees its own payouts only."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    try:
        payout = svc.app.get_aggregate(Payout, payout_id)
    except PartnerLedgerError:
        payout = None
    caller = principal()
    if payout is None or (caller.role == "partner" and payout.partner_id != caller.partner_id):
        raise ApiProblem(404, "not-found", f"No payout with id {payout_id}.")
    return {**payout_json(payout), "position": position}


@blp.route("/partners/<uuid:partner_id>/payouts", methods=["GET"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, PayoutListSchema)
@blp.doc(**csv_doc("PayoutList"))
@allow("internal", "auditor", "partner")
def partner_payouts(query: dict[str, Any], partner_id: UUID) -> Any:
    """A partner's payouts, oldest first; as CSV with `?format=csv` or `Accept: text/csv`."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    svc = services()
    if wants_csv(query):
        return csv_response(f"payouts-{partner_id}.csv", PAYOUT_COLUMNS,
                            partner_pages(payouts_page, payout_row_json, str(partner_id)),
                            decode_cursor(query["cursor"]))
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get("ledger").position(cursor)
        page = payouts_page(cursor, str(partner_id), decode_cursor(query["cursor"]),
                            query["limit"])
    return {"items": [payout_row_json(row) for row in page.rows],
            "next_cursor": encode_cursor(page.next_seq), "position": position}


@blp.route("/partners/<uuid:partner_id>/balances", methods=["GET"])
@blp.arguments(BalanceQuerySchema, location="query")
@blp.response(200, BalancesSchema)
@allow("internal", "auditor", "partner")
def partner_balances(query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
    """Balances on business date `as_of` as the books stood at recorded time `known_at`."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    svc = services()
    now = svc.app.clock()
    as_of, known_at = query["as_of"] or now, query["known_at"] or now
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get("ledger").position(cursor)
        position = min(position, svc.projections.get("partner_directory").position(cursor))
        cursor.execute("SELECT 1 AS found FROM partner_directory WHERE partner_id = ?",
                       (str(partner_id),))
        if cursor.fetchone() is None:
            raise ApiProblem(404, "not-found", f"No partner with id {partner_id}.")
        figures = balances(cursor, str(partner_id), as_of, known_at)
    return {**balances_json(partner_id, as_of, known_at, figures), "position": position}


@blp.route("/partners/<uuid:partner_id>/statement", methods=["GET"])
@blp.arguments(StatementQuerySchema, location="query")
@blp.response(200, StatementSchema)
@blp.doc(**csv_doc("Statement"))
@allow("internal", "auditor", "partner")
def partner_statement(query: dict[str, Any], partner_id: UUID) -> Any:
    """Every accrual, reversal, payout and failed payout, with its source and running balance
    (what is owed and not yet in a payout), in the order the books recorded them; as CSV with
    `?format=csv` or `Accept: text/csv`."""
    check_partner_access(partner_id)
    wait_for_position(query["min_position"])
    svc = services()
    if wants_csv(query):
        return csv_response(f"statement-{partner_id}.csv", STATEMENT_COLUMNS,
                            partner_pages(partial(statement_page, kind=query["kind"]),
                                          statement_entry_json, str(partner_id)),
                            decode_cursor(query["cursor"]))
    with svc.db.transaction(commit=False) as cursor:
        position = svc.projections.get("ledger").position(cursor)
        page = statement_page(cursor, str(partner_id), decode_cursor(query["cursor"]),
                              query["limit"], query["kind"])
    return {"items": [statement_entry_json(row) for row in page.rows],
            "next_cursor": encode_cursor(page.next_seq), "position": position}
