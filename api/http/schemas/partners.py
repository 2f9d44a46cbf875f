"""Partner answers and the directory's query."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.http.schemas.common import PageQuerySchema
from domain.partners import PARTNER_TYPES

STATUSES = ("applied", "active", "rejected", "suspended", "terminated")


class PartnerItemSchema(Schema):
    """A partner as the directory lists it."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    company = fields.String(required=True)
    type = fields.String(required=True, metadata={"enum": list(PARTNER_TYPES)})
    country = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    status_reason = fields.String(required=True, allow_none=True)
    tier = fields.String(required=True)
    plan_id = fields.String(required=True, allow_none=True)
    applied_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    version = fields.Integer(required=True)


class PartnerSchema(PartnerItemSchema):
    """One partner, with the log position the answer reflects."""

    position = fields.Integer(required=True)


class PartnerListSchema(Schema):
    items = fields.List(fields.Nested(PartnerItemSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    position = fields.Integer(required=True)


class PartnerQuerySchema(PageQuerySchema):
    """GET /partners filters."""

    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    tier = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
