"""Royalty agreements: signing, monthly reports and restatements, quarter closes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import allow, principal
from api.commanding import run_command, services, wait_for_position
from api.errors import ApiProblem
from api.schemas.common import (
    CommandSchema,
    CurrencyCode,
    DecimalString,
    InputSchema,
    MoneyOut,
    MoneySchema,
    Rate,
    ReadQuerySchema,
    business_date,
    business_period,
)
from domain import commands as c
from domain.errors import NotFound
from domain.money import Money
from domain.royalties import RoyaltyAgreement, royalty_on

blp = Blueprint("royalties", __name__, description="Royalty agreements")


class BracketSchema(InputSchema):
    up_to = DecimalString(required=True, allow_none=True, metadata={
        "description": "Cumulative net sales within the agreement year; null for the last."})
    rate = Rate(required=True)


class AgreementSchema(CommandSchema):
    """POST /royalty-agreements."""

    id = fields.UUID(load_default=None)
    partner_id = fields.UUID(required=True)
    currency = CurrencyCode(required=True)
    schedule = fields.List(fields.Nested(BracketSchema), required=True,
                           validate=validate.Length(min=1, max=20))
    minimum_per_quarter = fields.Nested(MoneySchema, load_default=None, allow_none=True)
    starts_on = fields.Date(required=True, validate=business_date)


class ReportSchema(CommandSchema):
    """POST /royalty-agreements/{id}/reports."""

    period = fields.String(required=True, validate=[validate.Regexp(
        r"^\d{4}-(0[1-9]|1[0-2])$", error="A month like 2026-03."), business_period])
    gross_sales = fields.Nested(MoneySchema, required=True)
    returns = fields.Nested(MoneySchema, required=True)


class BracketOutSchema(Schema):
    up_to = fields.String(required=True, allow_none=True)
    rate = fields.String(required=True)


class ReportOutSchema(Schema):
    period = fields.String(required=True)
    gross_sales = fields.Nested(MoneyOut, required=True)
    returns = fields.Nested(MoneyOut, required=True)
    net_sales = fields.Nested(MoneyOut, required=True)
    royalty = fields.Nested(MoneyOut, required=True)


class QuarterOutSchema(Schema):
    quarter = fields.String(required=True)
    top_up = fields.Nested(MoneyOut, required=True)
    closed = fields.Boolean(required=True)


class YearOutSchema(Schema):
    year = fields.Integer(required=True, metadata={"description": "1 for the first agreement "
                                                   "year."})
    net_sales = fields.Nested(MoneyOut, required=True)
    royalty = fields.Nested(MoneyOut, required=True)


class AgreementOutSchema(Schema):
    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    currency = fields.String(required=True)
    schedule = fields.List(fields.Nested(BracketOutSchema), required=True)
    minimum_per_quarter = fields.Nested(MoneyOut, required=True, allow_none=True)
    starts_on = fields.String(required=True)
    reports = fields.List(fields.Nested(ReportOutSchema), required=True)
    quarters = fields.List(fields.Nested(QuarterOutSchema), required=True)
    years = fields.List(fields.Nested(YearOutSchema), required=True)
    position = fields.Integer(required=True)


def agreement_json(agreement: Any) -> dict[str, Any]:
    """An agreement with its reports, accruals per period, closed quarters and year totals."""
    currency = agreement.currency

    def money(value: str | Decimal) -> dict[str, str]:
        return Money(Decimal(value), currency).to_json()

    years: dict[int, Decimal] = {}
    for period, (gross, returns) in agreement.reports.items():
        year = agreement.year_of(period)
        years[year] = years.get(year, Decimal(0)) + Decimal(gross) - Decimal(returns)
    return {
        "id": str(agreement.id),
        "partner_id": str(agreement.partner_id),
        "currency": currency,
        "schedule": [{"up_to": up_to, "rate": rate} for up_to, rate in agreement.schedule_rows],
        "minimum_per_quarter": agreement.minimum_per_quarter.to_json()
        if agreement.minimum_per_quarter else None,
        "starts_on": agreement.starts_on.isoformat(),
        "reports": [
            {"period": period, "gross_sales": money(gross), "returns": money(returns),
             "net_sales": money(Decimal(gross) - Decimal(returns)),
             "royalty": money(agreement.accrued.get(period, "0"))}
            for period, (gross, returns) in sorted(agreement.reports.items())
        ],
        "quarters": [{"quarter": quarter, "top_up": money(top_up), "closed": True}
                     for quarter, top_up in sorted(agreement.top_ups.items())],
        "years": [
            {"year": year + 1, "net_sales": money(net),
             "royalty": Money.rounded(royalty_on(agreement.schedule, net), currency).to_json()}
            for year, net in sorted(years.items())
        ],
    }


@blp.route("/royalty-agreements", methods=["POST"])
@blp.arguments(AgreementSchema)
@blp.response(201, AgreementOutSchema)
@allow("internal")
def sign(body: dict[str, Any]) -> Response:
    """Sign an agreement: marginal brackets on each agreement year's cumulative net sales."""
    schedule = tuple((b["up_to"], b["rate"]) for b in body["schedule"])
    command = c.SignRoyaltyAgreement(
        body["occurred_at"], body["id"] or uuid4(), body["partner_id"], body["currency"],
        schedule, body["minimum_per_quarter"], body["starts_on"])
    return run_command(command, agreement_json, 201)


@blp.route("/royalty-agreements/<uuid:agreement_id>/reports", methods=["POST"])
@blp.arguments(ReportSchema)
@blp.response(201, AgreementOutSchema)
@allow("internal")
def report(body: dict[str, Any], agreement_id: UUID) -> Response:
    """Report a month; a second report of a month is a restatement (accrues the difference)."""
    command = c.ReportRoyalty(body["occurred_at"], agreement_id, body["period"],
                              body["gross_sales"], body["returns"])
    return run_command(command, agreement_json, 201)


@blp.route("/royalty-agreements/<uuid:agreement_id>/quarters/<string:quarter>/close",
           methods=["POST"])
@blp.arguments(CommandSchema, required=False)
@blp.response(200, AgreementOutSchema)
@allow("internal")
def close(body: dict[str, Any], agreement_id: UUID, quarter: str) -> Response:
    """Top the quarter up to `minimum_per_quarter`; closing twice changes nothing."""
    return run_command(c.CloseRoyaltyQuarter(body["occurred_at"], agreement_id, quarter),
                       agreement_json)


@blp.route("/royalty-agreements/<uuid:agreement_id>", methods=["GET"])
@blp.arguments(ReadQuerySchema, location="query")
@blp.response(200, AgreementOutSchema)
@allow("internal", "auditor", "partner")
def get_agreement(query: dict[str, Any], agreement_id: UUID) -> dict[str, Any]:
    """An agreement with its reports and accruals. A partner key sees its own only."""
    wait_for_position(query["min_position"])
    svc = services()
    position = svc.app.position()
    try:
        agreement: RoyaltyAgreement | None = svc.app.get_aggregate(RoyaltyAgreement,
                                                                   agreement_id)
    except NotFound:
        agreement = None
    caller = principal()
    # another partner's agreement must read exactly like a missing one
    if agreement is None or (caller.role == "partner"
                             and agreement.partner_id != caller.partner_id):
        raise ApiProblem(404, "not-found", f"No royalty agreement with id {agreement_id}.")
    return {**agreement_json(agreement), "position": position}

