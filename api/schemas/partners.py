"""Partner bodies: the application and the transitions."""

from __future__ import annotations

import pycountry
from marshmallow import ValidationError, fields, validate, validates_schema

from api.schemas.common import CommandSchema
from domain.partners import PARTNER_TYPES


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


class DetailsSchema(CommandSchema):
    """PATCH /partners/{id}: the name, company or country, corrected; at least one."""

    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    company = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    country = fields.String(load_default=None, validate=_country,
                            metadata={"pattern": "^[A-Z]{2}$", "example": "DE"})

    @validates_schema
    def _something(self, data: dict[str, object], **_: object) -> None:
        if all(data.get(name) is None for name in ("name", "company", "country")):
            raise ValidationError("Give at least one of name, company, country.",
                                  field_name="_schema")
