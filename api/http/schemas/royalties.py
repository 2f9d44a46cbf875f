"""Royalty answers: an agreement with its reports, quarters and years."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.http.schemas.common import MoneyOut


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
