"""Plan bodies: a new plan and a revision."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.schemas.common import (
    CommandSchema,
    CurrencyCode,
    InputSchema,
    MoneyField,
    Rate,
    moment_field,
)
from domain.business_time import PLAN_LEAD
from domain.plans import MAX_TIERS, TERM_BOUNDS

DAYS = validate.Range(min=0, max=TERM_BOUNDS["hold_days"])
MONTHS = validate.Range(min=0, max=TERM_BOUNDS["referral_months"])
POINTS = validate.Range(min=0, max=TERM_BOUNDS["points_per_conversion"])
TIERS = validate.Length(max=MAX_TIERS)


class TierSchema(InputSchema):
    """A tier: reached at `threshold` of trailing-365-day sourced revenue."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    threshold = MoneyField(required=True)
    bonus_rate = Rate(required=True)


class PlanTermsFields(InputSchema):
    """The terms of a plan version."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    currency = CurrencyCode()
    deal_rate = Rate()
    referral_rate = Rate()
    referral_months = fields.Integer(strict=True, validate=MONTHS)
    attribution_days = fields.Integer(strict=True, validate=DAYS)
    deal_protection_days = fields.Integer(strict=True, validate=DAYS)
    hold_days = fields.Integer(strict=True, validate=DAYS)
    min_payout = MoneyField()
    points_per_conversion = fields.Integer(strict=True, validate=POINTS)
    tiers = fields.List(fields.Nested(TierSchema), validate=TIERS)


class CreatePlanSchema(PlanTermsFields, CommandSchema):
    """POST /plans."""

    id = fields.UUID(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    currency = CurrencyCode(required=True)
    deal_rate = Rate(required=True)
    referral_rate = Rate(required=True)
    referral_months = fields.Integer(required=True, strict=True, validate=MONTHS)
    attribution_days = fields.Integer(strict=True, validate=DAYS, load_default=90)
    deal_protection_days = fields.Integer(strict=True, validate=DAYS, load_default=90)
    hold_days = fields.Integer(strict=True, validate=DAYS, load_default=30)
    min_payout = MoneyField(required=True)
    points_per_conversion = fields.Integer(strict=True, validate=POINTS, load_default=0)
    tiers = fields.List(fields.Nested(TierSchema), load_default=list, validate=TIERS)


class RevisePlanSchema(PlanTermsFields, CommandSchema):
    """POST /plans/{id}/revisions: the fields that change; the rest carry over."""

    occurred_at = moment_field("When the revision takes effect; defaults to now. It may be "
                               "announced ahead, by at most 366 days.", PLAN_LEAD)

    @validates_schema
    def has_changes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not set(data) - {"occurred_at"}:
            raise ValidationError("A revision must change at least one term.", "_schema")
