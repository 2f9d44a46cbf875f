"""Answers of the operations routes."""

from __future__ import annotations

from marshmallow import Schema, fields


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class FailureSchema(Schema):
    """The event a projection stopped at."""

    position = fields.Integer(required=True)
    event_type = fields.String(required=True)
    failed_at = fields.String(required=True)


class ProjectionStateSchema(Schema):
    position = fields.Integer(required=True)
    lag = fields.Integer(required=True)
    failing = fields.Boolean(required=True)
    failure = fields.Nested(FailureSchema)


class ReadySchema(Schema):
    """`ready` (200); `degraded` or `unavailable` (503, the latter with only `detail`)."""

    status = fields.String(required=True, metadata={"enum": ["ready", "degraded",
                                                             "unavailable"]})
    detail = fields.String()
    store_position = fields.Integer()
    projections = fields.Dict(keys=fields.String(), values=fields.Nested(ProjectionStateSchema))
