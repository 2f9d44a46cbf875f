"""Partner bodies, queries and responses."""

from __future__ import annotations

import pycountry
from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import CommandSchema, PageQuerySchema
from domain.partners import PARTNER_TYPES

STATUSES = ("applied", "active", "rejected", "suspended", "terminated")


def _country(code: str) -> None:
    if len(code) != 2 or not code.isupper() or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError("Must be an ISO 3166-1 alpha-2 country code such as \"DE\".")


class ApplySchema(CommandSchema):
    """POST /partners: a partner applies to the program."""

    id = fields.UUID(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=320))
    company = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(PARTNER_TYPES))
    country = fields.String(required=True, validate=_country,
                            metadata={"pattern": "^[A-Z]{2}$", "example": "DE"})


class ApproveSchema(CommandSchema):
    """POST /partners/{id}/approve."""

    plan_id = fields.UUID(required=True)


class ReasonSchema(CommandSchema):
    """Reject, suspend and terminate take an optional reason."""

    reason = fields.String(load_default=None, validate=validate.Length(max=1000))


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


