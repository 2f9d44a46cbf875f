"""Bodies and responses of deals, referrals, payments, refunds, points and standings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import CommandSchema, InputSchema, MoneySchema, PageQuerySchema

BILLING_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,199}$",
    error="A billing system id: letters, digits and _.:@/+=- (at most 200).",
)
DEAL_STATUSES = ("registered", "approved", "rejected", "won", "lost", "expired")
REFERRAL_STATUSES = ("pending", "converted", "rejected", "expired")


class CustomerSchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    domain = fields.String(required=True, validate=validate.Length(min=1, max=253))


class RegisterDealSchema(CommandSchema):
    """POST /deals."""

    id = fields.UUID(load_default=None)
    partner_id = fields.UUID(required=True)
    customer = fields.Nested(CustomerSchema, required=True)
    estimated_value = fields.Nested(MoneySchema, required=True)


class CloseWonSchema(CommandSchema):
    """POST /deals/{id}/close-won."""

    amount = fields.Nested(MoneySchema, required=True)
    new_customer = fields.Boolean(required=True, truthy={True}, falsy={False})


class LeadSchema(InputSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    company = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RecordReferralSchema(CommandSchema):
    """POST /referrals."""

    id = fields.UUID(load_default=None)
    partner_id = fields.UUID(required=True)
    lead = fields.Nested(LeadSchema, required=True)


class ConvertSchema(CommandSchema):
    """POST /referrals/{id}/convert."""

    customer_id = fields.String(required=True, validate=BILLING_ID)


class PaymentSchema(CommandSchema):
    """POST /payments: a paid invoice, by the billing system's ids."""

    id = fields.String(required=True, validate=BILLING_ID)
    customer_id = fields.String(required=True, validate=BILLING_ID)
    amount = fields.Nested(MoneySchema, required=True)


class RefundSchema(CommandSchema):
    """POST /refunds."""

    id = fields.String(required=True, validate=BILLING_ID)
    payment_id = fields.String(required=True, validate=BILLING_ID)
    amount = fields.Nested(MoneySchema, required=True)


class RedemptionSchema(CommandSchema):
    """POST /partners/{id}/points/redemptions."""

    id = fields.UUID(load_default=None)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**12))
    reward = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DealQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(DEAL_STATUSES))


class ReferralQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(REFERRAL_STATUSES))


class MoneyOut(Schema):
    amount = fields.String()
    currency = fields.String()


class DealOutSchema(Schema):
    id = fields.String()
    partner_id = fields.String()
    customer = fields.Dict()
    estimated_value = fields.Nested(MoneyOut)
    status = fields.String()
    reason = fields.String(allow_none=True)
    protected_until = fields.String()
    amount = fields.Nested(MoneyOut, allow_none=True)
    new_customer = fields.Boolean(allow_none=True)
    registered_at = fields.String()
    closed_at = fields.String(allow_none=True)
    position = fields.Integer()


class DealListSchema(Schema):
    items = fields.List(fields.Nested(DealOutSchema))
    next_cursor = fields.String(allow_none=True)
    position = fields.Integer()


class ReferralOutSchema(Schema):
    id = fields.String()
    partner_id = fields.String()
    lead = fields.Dict()
    status = fields.String()
    reason = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    attribution_expires_at = fields.String()
    recorded_at = fields.String()
    converted_at = fields.String(allow_none=True)
    points = fields.Integer()
    position = fields.Integer()


class ReferralListSchema(Schema):
    items = fields.List(fields.Nested(ReferralOutSchema))
    next_cursor = fields.String(allow_none=True)
    position = fields.Integer()


class PaymentOutSchema(Schema):
    id = fields.String()
    customer_id = fields.String()
    amount = fields.Nested(MoneyOut)
    partner_id = fields.String(allow_none=True)
    commission = fields.Nested(MoneyOut, allow_none=True)
    no_commission_reason = fields.String(allow_none=True)
    refunded = fields.Nested(MoneyOut)
    reversed = fields.Nested(MoneyOut)
    occurred_at = fields.String()
    position = fields.Integer()


class RefundOutSchema(Schema):
    id = fields.String()
    payment_id = fields.String()
    amount = fields.Nested(MoneyOut)
    clawback = fields.Nested(MoneyOut, allow_none=True)
    partner_id = fields.String(allow_none=True)
    occurred_at = fields.String()
    position = fields.Integer()


class PointsOutSchema(Schema):
    partner_id = fields.String()
    points = fields.Integer()
    position = fields.Integer()


class StandingSchema(Schema):
    partner_id = fields.String()
    status = fields.String()
    tier = fields.String()
    sourced_revenue = fields.Dict()
    deals = fields.Dict()
    referrals = fields.Dict()
    active_customers = fields.Integer()
    points = fields.Integer()
    rank = fields.Integer(allow_none=True)
    position = fields.Integer()
