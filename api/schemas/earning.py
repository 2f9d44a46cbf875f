"""Bodies of deals, referrals, payments, refunds and point redemptions."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import CommandSchema, InputSchema, MoneyField, SignedMoneySchema

BILLING_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,199}$",
    error="A billing system id: letters, digits and _.:@/+=- (at most 200).",
)


class CustomerSchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    domain = fields.String(required=True, validate=validate.Length(min=1, max=253))


class RegisterDealSchema(CommandSchema):
    """POST /deals."""

    id = fields.UUID(load_default=None)
    partner_id = fields.UUID(required=True)
    customer = fields.Nested(CustomerSchema, required=True)
    estimated_value = MoneyField(required=True)


class CloseWonSchema(CommandSchema):
    """POST /deals/{id}/close-won."""

    amount = MoneyField(required=True)
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
    amount = MoneyField(required=True)


class RefundSchema(CommandSchema):
    """POST /refunds."""

    id = fields.String(required=True, validate=BILLING_ID)
    payment_id = fields.String(required=True, validate=BILLING_ID)
    amount = MoneyField(required=True)


class RedemptionSchema(CommandSchema):
    """POST /partners/{id}/points/redemptions."""

    id = fields.UUID(load_default=None)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**12))
    reward = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AdjustmentSchema(CommandSchema):
    """POST /partners/{id}/adjustments: a manual credit (positive) or debit (negative)."""

    id = fields.UUID(load_default=None, metadata={
        "description": "Your id for the adjustment; the same id twice is a 409 duplicate."})
    amount = MoneyField(SignedMoneySchema, required=True, metadata={
        "description": "Positive credits the partner, negative debits it; not zero."})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
