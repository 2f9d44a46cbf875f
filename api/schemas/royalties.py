"""Royalty bodies: an agreement's signing and a month's report."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import (
    CommandSchema,
    CurrencyCode,
    DecimalString,
    InputSchema,
    MoneyField,
    Rate,
    business_date,
    business_period,
)


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
    minimum_per_quarter = MoneyField(load_default=None, allow_none=True)
    starts_on = fields.Date(required=True, validate=business_date)


class ReportSchema(CommandSchema):
    """POST /royalty-agreements/{id}/reports."""

    period = fields.String(required=True, validate=[validate.Regexp(
        r"^\d{4}-(0[1-9]|1[0-2])$", error="A month like 2026-03."), business_period])
    gross_sales = MoneyField(required=True)
    returns = MoneyField(required=True)
