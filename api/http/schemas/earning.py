"""Answers about deals, referrals, payments, refunds, points and standings, and list queries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.http.schemas.common import MoneyOut, PageQuerySchema

DEAL_STATUSES = ("registered", "approved", "rejected", "won", "lost", "expired")
REFERRAL_STATUSES = ("pending", "converted", "rejected", "expired")


class DealQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(DEAL_STATUSES))


class ReferralQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(REFERRAL_STATUSES))


class CustomerOut(Schema):
    name = fields.String(required=True)
    domain = fields.String(required=True, metadata={"description": "Normalised domain."})


class DealSchema(Schema):
    """A deal in a list."""

    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    customer = fields.Nested(CustomerOut, required=True)
    estimated_value = fields.Nested(MoneyOut, required=True)
    status = fields.String(required=True, metadata={"enum": list(DEAL_STATUSES)})
    reason = fields.String(required=True, allow_none=True)
    protected_until = fields.String(required=True)
    amount = fields.Nested(MoneyOut, required=True, allow_none=True)
    new_customer = fields.Boolean(required=True, allow_none=True)
    registered_at = fields.String(required=True)
    closed_at = fields.String(required=True, allow_none=True)


class DealOutSchema(DealSchema):
    """One deal, with the log position the answer reflects."""

    position = fields.Integer(required=True)


class DealListSchema(Schema):
    items = fields.List(fields.Nested(DealSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    position = fields.Integer(required=True)


class LeadOut(Schema):
    email = fields.String(required=True)
    company = fields.String(required=True)


class ReferralSchema(Schema):
    """A referral in a list."""

    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    lead = fields.Nested(LeadOut, required=True)
    status = fields.String(required=True, metadata={"enum": list(REFERRAL_STATUSES)})
    reason = fields.String(required=True, allow_none=True)
    customer_id = fields.String(required=True, allow_none=True)
    attribution_expires_at = fields.String(required=True)
    recorded_at = fields.String(required=True)
    converted_at = fields.String(required=True, allow_none=True)
    points = fields.Integer(required=True)


class ReferralOutSchema(ReferralSchema):
    """One referral, with the log position the answer reflects."""

    position = fields.Integer(required=True)


class ReferralListSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    position = fields.Integer(required=True)


class PaymentOutSchema(Schema):
    id = fields.String(required=True)
    customer_id = fields.String(required=True)
    amount = fields.Nested(MoneyOut, required=True)
    partner_id = fields.String(required=True, allow_none=True)
    commission = fields.Nested(MoneyOut, required=True, allow_none=True)
    no_commission_reason = fields.String(required=True, allow_none=True)
    refunded = fields.Nested(MoneyOut, required=True)
    reversed = fields.Nested(MoneyOut, required=True)
    occurred_at = fields.String(required=True)
    position = fields.Integer(required=True)


class RefundOutSchema(Schema):
    id = fields.String(required=True)
    payment_id = fields.String(required=True)
    amount = fields.Nested(MoneyOut, required=True)
    clawback = fields.Nested(MoneyOut, required=True, allow_none=True)
    partner_id = fields.String(required=True, allow_none=True)
    occurred_at = fields.String(required=True)
    position = fields.Integer(required=True)


class PointsOutSchema(Schema):
    partner_id = fields.String(required=True)
    points = fields.Integer(required=True)
    position = fields.Integer(required=True)


class SourcedRevenueOut(Schema):
    """Null until the partner has a plan, and so a currency."""

    total = fields.Nested(MoneyOut, required=True, allow_none=True)
    new_business = fields.Nested(MoneyOut, required=True, allow_none=True)


class CommissionOut(Schema):
    """Null until the partner has a plan, and so a currency."""

    earned = fields.Nested(MoneyOut, required=True, allow_none=True)
    reversed = fields.Nested(MoneyOut, required=True, allow_none=True)


class DealCountsOut(Schema):
    registered = fields.Integer(required=True)
    approved = fields.Integer(required=True)
    won = fields.Integer(required=True)
    lost = fields.Integer(required=True)
    expired = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    win_rate = fields.String(required=True, metadata={"example": "0.5000"})


class ReferralCountsOut(Schema):
    recorded = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    converted = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    expired = fields.Integer(required=True)
    conversion_rate = fields.String(required=True, metadata={"example": "0.2500"})


class NextTierOut(Schema):
    name = fields.String(required=True)
    threshold = fields.Nested(MoneyOut, required=True)
    trailing_revenue = fields.Nested(MoneyOut, required=True)


class StandingSchema(Schema):
    partner_id = fields.String(required=True)
    status = fields.String(required=True)
    tier = fields.String(required=True)
    sourced_revenue = fields.Nested(SourcedRevenueOut, required=True)
    commission = fields.Nested(CommissionOut, required=True)
    deals = fields.Nested(DealCountsOut, required=True)
    referrals = fields.Nested(ReferralCountsOut, required=True)
    active_customers = fields.Integer(required=True)
    points = fields.Integer(required=True)
    rank = fields.Integer(required=True, allow_none=True)
    next_tier = fields.Nested(NextTierOut, required=True, allow_none=True, metadata={
        "description": "The tier above, its threshold and the partner's sourced revenue over "
                       "the trailing 365 days it is judged on; null at the top or off a plan."})
    position = fields.Integer(required=True)
