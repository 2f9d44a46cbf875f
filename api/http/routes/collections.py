"""Collections: every plan, deal, referral, payout, payout run, royalty agreement and
payment, filtered and paged; a partner key lists only its own rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

from flask_smorest import Blueprint

from adapters.sql import Row
from api.http.auth import allow, principal
from api.http.commanding import services, wait_for_position
from api.http.presenters.earning import deal_row_json, payment_json, referral_row_json
from api.http.presenters.ledger import payout_row_json, run_json
from api.http.presenters.plans import plan_json
from api.http.presenters.royalties import agreement_json
from api.http.reads import decode_cursor, read_page
from api.http.schemas.collections import (
    AgreementListQuerySchema,
    AgreementListSchema,
    DealListQuerySchema,
    PaymentListQuerySchema,
    PaymentListSchema,
    PayoutListQuerySchema,
    PlanListQuerySchema,
    PlanListSchema,
    ReferralListQuerySchema,
    RunListSchema,
)
from api.http.schemas.common import PageQuerySchema
from api.http.schemas.earning import DealListSchema, ReferralListSchema
from api.http.schemas.ledger import PayoutListSchema
from domain.billing import Payment
from domain.partners import Partner
from domain.payouts import PayoutRun
from domain.plans import Plan
from domain.royalties import RoyaltyAgreement
from projections.catalog import listed
from projections.commissions import Page, list_deals, list_referrals
from projections.ledger import list_payouts

blp = Blueprint("collections", __name__, description="Collections, filtered and paged")

NOBODY = "00000000-0000-0000-0000-000000000000"  # matches no row: a filter for no one


def owner(query: dict[str, Any]) -> str | None:
    """The partner whose rows a list shows: a partner key's own, whatever it asks for (another
    partner's id shows nothing, exactly like an id that names no one)."""
    caller = principal()
    asked = str(query["partner_id"]) if query.get("partner_id") else None
    if caller.role != "partner":
        return asked
    own = str(caller.partner_id)
    return own if asked in (None, own) else NOBODY


def page(projection: str, fetch: Callable[[Any], Page], present: Callable[[Row], Any],
         query: dict[str, Any]) -> dict[str, Any]:
    """One page of a read model's rows, once it has reached `min_position`."""
    wait_for_position(query["min_position"])
    return read_page(projection, fetch, present)


def aggregate_page(table: str, filters: dict[str, str | None], cls: type, id_column: str,
                   present: Callable[[Any], dict[str, Any]],
                   query: dict[str, Any]) -> dict[str, Any]:
    """A catalog list: ids in creation order, each item read from its aggregate."""
    app = services().app
    return page("program", lambda cursor: listed(
        cursor, table, filters, decode_cursor(query["cursor"]), query["limit"]),
        lambda row: present(app.get_aggregate(cls, UUID(row[id_column]))), query)


@blp.route("/plans", methods=["GET"])
@blp.arguments(PlanListQuerySchema, location="query")
@blp.response(200, PlanListSchema)
@allow("internal", "auditor", "partner")
def plans(query: dict[str, Any]) -> dict[str, Any]:
    """Every plan, oldest first, by currency. A partner key lists only the plans its partner
    has been on."""
    if principal().role == "partner":
        svc = services()
        partner = svc.app.get_aggregate(Partner, cast(UUID, principal().partner_id))
        items = [plan_json(svc.app.get_aggregate(Plan, plan_id))
                 for plan_id in dict.fromkeys(partner.plan_ids())]
        if query["currency"] is not None:
            items = [item for item in items if item["currency"] == query["currency"]]
        return {"items": items, "next_cursor": None, "position": svc.app.position()}
    return aggregate_page("catalog_plans", {"currency": query["currency"]}, Plan, "plan_id",
                          plan_json, query)


@blp.route("/deals", methods=["GET"])
@blp.arguments(DealListQuerySchema, location="query")
@blp.response(200, DealListSchema)
@allow("internal", "auditor", "partner")
def deals(query: dict[str, Any]) -> dict[str, Any]:
    """Every deal in registration order, by partner and status (open deals past their window
    read as expired)."""
    now = services().app.clock()
    return page("commissions", lambda cursor: list_deals(
        cursor, owner(query), query["status"], decode_cursor(query["cursor"]), query["limit"],
        now), lambda row: deal_row_json(row, now), query)


@blp.route("/referrals", methods=["GET"])
@blp.arguments(ReferralListQuerySchema, location="query")
@blp.response(200, ReferralListSchema)
@allow("internal", "auditor", "partner")
def referrals(query: dict[str, Any]) -> dict[str, Any]:
    """Every referral in the order recorded, by partner and status."""
    now = services().app.clock()
    return page("commissions", lambda cursor: list_referrals(
        cursor, owner(query), query["status"], decode_cursor(query["cursor"]),
        query["limit"], now), lambda row: referral_row_json(row, now), query)


@blp.route("/payouts", methods=["GET"])
@blp.arguments(PayoutListQuerySchema, location="query")
@blp.response(200, PayoutListSchema)
@allow("internal", "auditor", "partner")
def payouts(query: dict[str, Any]) -> dict[str, Any]:
    """Every payout in the order started, by partner, run and status."""
    filters = {"partner_id": owner(query), "status": query["status"],
               "run_id": str(query["run_id"]) if query["run_id"] else None}
    return page("ledger", lambda cursor: list_payouts(
        cursor, filters, decode_cursor(query["cursor"]), query["limit"]), payout_row_json, query)


@blp.route("/payout-runs", methods=["GET"])
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, RunListSchema)
@allow("internal", "auditor")
def payout_runs(query: dict[str, Any]) -> dict[str, Any]:
    """Every payout run, oldest first, with the payouts each made (a run pays many partners,
    so partner keys read their payouts instead)."""
    return aggregate_page("catalog_runs", {}, PayoutRun, "run_id", run_json, query)


@blp.route("/royalty-agreements", methods=["GET"])
@blp.arguments(AgreementListQuerySchema, location="query")
@blp.response(200, AgreementListSchema)
@allow("internal", "auditor", "partner")
def agreements(query: dict[str, Any]) -> dict[str, Any]:
    """Every royalty agreement, oldest first, by partner and currency."""
    return aggregate_page("catalog_agreements", {"partner_id": owner(query),
                                                  "currency": query["currency"]},
                          RoyaltyAgreement, "agreement_id", agreement_json, query)


@blp.route("/payments", methods=["GET"])
@blp.arguments(PaymentListQuerySchema, location="query")
@blp.response(200, PaymentListSchema)
@allow("internal", "auditor", "partner")
def payments(query: dict[str, Any]) -> dict[str, Any]:
    """Every payment received, oldest first, by referring partner and customer. A partner
    key lists the payments of the customers it referred."""
    return aggregate_page("catalog_payments", {"partner_id": owner(query),
                                                "customer_id": query["customer_id"]},
                          Payment, "aggregate_id", payment_json, query)
