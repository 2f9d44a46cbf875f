"""Shapes every route shares: money in answers, problems, and the read and paging queries."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from api.schemas.common import DECIMAL_PATTERN, InputSchema

MAX_CURSOR = 2**63 - 1


class MoneyOut(Schema):
    """Money in an answer: {"amount": "123.45", "currency": "USD"}."""

    amount = fields.String(required=True,
                           metadata={"example": "123.45", "pattern": DECIMAL_PATTERN})
    currency = fields.String(required=True, metadata={"example": "USD", "pattern": "^[A-Z]{3}$"})


class ProblemSchema(Schema):
    """application/problem+json (RFC 9457); some refusals add the members after `errors`."""

    class Meta:
        unknown = INCLUDE  # a refusal may carry members beyond those declared here

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "validation-error: {field: [messages]}."})
    conflicting_deal_id = fields.String(metadata={
        "description": "deal-conflict: the holding deal, for internal and auditor keys and "
        "for the partner holding it; never for another partner."})
    existing_referral_id = fields.String(metadata={
        "description": "duplicate lead: the holding referral, on the same terms."})
    existing_id = fields.String(metadata={"description": "duplicate: the id already taken."})
    existing_partner_id = fields.String(metadata={
        "description": "duplicate application: the partner holding the email."})
    current_status = fields.String(metadata={"description": "invalid-transition."})
    expected_currency = fields.String(metadata={"description": "currency-mismatch."})
    points_balance = fields.Integer(metadata={"description": "insufficient-points."})
    attribution_expires_at = fields.String(metadata={"description": "attribution-expired."})
    refundable = fields.Nested(MoneyOut, metadata={
        "description": "refund-exceeds-payment: what is left to refund."})


class ReadQuerySchema(InputSchema):
    """Reads may wait until the read model has reached a position."""

    min_position = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=MAX_CURSOR),
        metadata={"description": "Wait (bounded) until the read reflects this log position."},
    )


class PageQuerySchema(ReadQuerySchema):
    """Lists page with `limit` and an opaque `cursor`."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class ExportQuerySchema(PageQuerySchema):
    """A list that can also be exported as CSV: every row from `cursor` on."""

    format = fields.String(
        load_default=None, validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: every row from `cursor` on as text/csv (ignores "
                                 "`limit`); also chosen by `Accept: text/csv`."})
