"""Plan answers: the current terms and every version."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.http.schemas.common import MoneyOut


class TierOutSchema(Schema):
    name = fields.String(required=True)
    threshold = fields.Nested(MoneyOut, required=True)
    bonus_rate = fields.String(required=True)


class PlanVersionSchema(Schema):
    version = fields.Integer(required=True)
    effective_from = fields.String(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    deal_rate = fields.String(required=True)
    referral_rate = fields.String(required=True)
    referral_months = fields.Integer(required=True)
    attribution_days = fields.Integer(required=True)
    deal_protection_days = fields.Integer(required=True)
    hold_days = fields.Integer(required=True)
    min_payout = fields.Nested(MoneyOut, required=True)
    points_per_conversion = fields.Integer(required=True)
    tiers = fields.List(fields.Nested(TierOutSchema), required=True)


class PlanSchema(PlanVersionSchema):
    """A plan: its current terms at the top level, every version under `versions`."""

    id = fields.String(required=True)
    versions = fields.List(fields.Nested(PlanVersionSchema), required=True)
    position = fields.Integer(required=True)
