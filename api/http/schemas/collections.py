"""Queries and answers of the collection lists (SPEC section 10)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.http.schemas.common import PageQuerySchema
from api.http.schemas.earning import DealQuerySchema, PaymentOutSchema, ReferralQuerySchema
from api.http.schemas.ledger import PAYOUT_STATUSES, RunOutSchema
from api.http.schemas.plans import PlanSchema
from api.http.schemas.royalties import AgreementOutSchema

CURRENCY = validate.Regexp(r"^[A-Z]{3}$")


def partner_filter() -> fields.UUID:
    return fields.UUID(load_default=None, metadata={
        "description": "Only this partner's rows (a partner key always sees only its own)."})


class PlanListQuerySchema(PageQuerySchema):
    currency = fields.String(load_default=None, validate=CURRENCY)


class DealListQuerySchema(DealQuerySchema):
    partner_id = partner_filter()


class ReferralListQuerySchema(ReferralQuerySchema):
    partner_id = partner_filter()


class PayoutListQuerySchema(PageQuerySchema):
    partner_id = partner_filter()
    run_id = fields.UUID(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(PAYOUT_STATUSES))


class AgreementListQuerySchema(PageQuerySchema):
    partner_id = partner_filter()
    currency = fields.String(load_default=None, validate=CURRENCY)


class PaymentListQuerySchema(PageQuerySchema):
    partner_id = partner_filter()
    customer_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


def list_of(item: type[Schema], name: str) -> type[Schema]:
    """A page of items with the next cursor and the position the list reflects."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True),
        "position": fields.Integer(required=True),
    }, name=name)


class PlanItemSchema(PlanSchema):
    class Meta:
        exclude = ("position",)


class RunItemSchema(RunOutSchema):
    class Meta:
        exclude = ("position",)


class AgreementItemSchema(AgreementOutSchema):
    class Meta:
        exclude = ("position",)


class PaymentItemSchema(PaymentOutSchema):
    class Meta:
        exclude = ("position",)


PlanListSchema = list_of(PlanItemSchema, "PlanList")
RunListSchema = list_of(RunItemSchema, "RunList")
AgreementListSchema = list_of(AgreementItemSchema, "AgreementList")
PaymentListSchema = list_of(PaymentItemSchema, "PaymentList")
