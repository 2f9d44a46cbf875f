"""Payout bodies: a run, and a payout's confirmation or failure."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import CommandSchema, moment_field


class RunSchema(CommandSchema):
    """POST /payout-runs."""

    id = fields.UUID(load_default=None)
    as_of = moment_field("Pay what is available at this business time, never later than the "
                         "run itself (default: the run's occurred_at).")


class ConfirmSchema(CommandSchema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=200))


class FailSchema(CommandSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
