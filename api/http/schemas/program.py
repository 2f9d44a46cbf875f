"""The leaderboard and the program summary: queries and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.http.schemas.common import ExportQuerySchema, MoneyOut, ReadQuerySchema
from api.http.schemas.earning import DealCountsOut, ReferralCountsOut
from api.http.schemas.ledger import BucketsSchema

PERIOD_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2])|\d{4}-Q[1-4]|\d{4}|all)$"


def period_field() -> fields.String:
    """`?period=`: a month, a quarter, a year or all time, by `occurred_at` in UTC."""
    return fields.String(
        load_default="all", validate=validate.Regexp(PERIOD_PATTERN, error=(
            "Must be YYYY-MM, YYYY-Qn, YYYY or all.")),
        metadata={"description": "YYYY-MM, YYYY-Qn, YYYY or all (UTC months of occurred_at); "
                                 "may not begin after the current month.",
                  "example": "2026-Q3"})


class LeaderboardQuerySchema(ExportQuerySchema):
    period = period_field()
    currency = fields.String(
        load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$"),
        metadata={"description": "Rank the partners paid in this currency; defaults to the "
                                 "currency most partners are paid in."})


class SummaryQuerySchema(ReadQuerySchema):
    period = period_field()


class LeaderRowSchema(Schema):
    """One place; for a partner key, another partner's id and name are null."""

    rank = fields.Integer(required=True)
    partner_id = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    sourced_revenue = fields.Nested(MoneyOut, required=True)
    new_business = fields.Nested(MoneyOut, required=True)


class LeaderboardSchema(Schema):
    period = fields.String(required=True)
    currency = fields.String(required=True, allow_none=True, metadata={
        "description": "Null while no partner has an account."})
    currencies = fields.List(fields.String(), required=True, metadata={
        "description": "Every currency partners are paid in, most partners first."})
    items = fields.List(fields.Nested(LeaderRowSchema), required=True)
    own = fields.Nested(LeaderRowSchema, required=True, allow_none=True, metadata={
        "description": "The calling partner's own row (partner keys); null otherwise."})
    next_cursor = fields.String(required=True, allow_none=True)
    position = fields.Integer(required=True)


class PartnerCountsOut(Schema):
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "Every partner now, by status."})
    active_by_tier = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                 metadata={"description": "Active partners now, by tier."})


class CurrencySummaryOut(Schema):
    currency = fields.String(required=True)
    sourced_revenue = fields.Nested(MoneyOut, required=True)
    new_business = fields.Nested(MoneyOut, required=True)
    balances = fields.Nested(BucketsSchema, required=True, metadata={
        "description": "Every partner's balances summed, as of `as_of`."})
    top_partners = fields.List(fields.Nested(LeaderRowSchema), required=True)


class SummarySchema(Schema):
    period = fields.String(required=True)
    starts = fields.String(required=True, allow_none=True)
    ends = fields.String(required=True, allow_none=True, metadata={
        "description": "Exclusive; null for all time or a period not yet over."})
    as_of = fields.String(required=True, metadata={
        "description": "The business time balances are summed at: the period's end, or now."})
    partners = fields.Nested(PartnerCountsOut, required=True)
    currencies = fields.List(fields.Nested(CurrencySummaryOut), required=True)
    deals = fields.Nested(DealCountsOut, required=True, metadata={
        "description": "Deals registered in the period, by status now."})
    referrals = fields.Nested(ReferralCountsOut, required=True, metadata={
        "description": "Referrals recorded in the period, by status now."})
    position = fields.Integer(required=True)
