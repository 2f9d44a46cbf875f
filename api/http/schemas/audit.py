"""Queries and answers of the audit routes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.http.schemas.common import MAX_CURSOR
from api.schemas.common import InputSchema, moment_field

MAX_VERSION = 2**31 - 1


class LogQuerySchema(InputSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_CURSOR - 1),
                           metadata={"description": "Log position to start after."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class StreamEventsQuerySchema(InputSchema):
    after_version = fields.Integer(load_default=0,
                                   validate=validate.Range(min=0, max=MAX_VERSION))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class StateQuerySchema(InputSchema):
    """At most one of `version` and `as_of`; neither gives the newest state."""

    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_VERSION),
                             metadata={"description": "The state after this many events."})
    as_of = moment_field("Recorded time: the state the books held then.")

    @validates_schema
    def one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("version") is not None and data.get("as_of") is not None:
            raise ValidationError("Give version or as_of, not both.", "as_of")


class EventDocumentSchema(Schema):
    """One stored event; `event_id`, times are null only for a row that no longer decodes."""

    event_id = fields.String(required=True, allow_none=True)
    type = fields.String(required=True)
    stream_id = fields.String(required=True)
    version = fields.Integer(required=True)
    position = fields.Integer(required=True)
    occurred_at = fields.String(required=True, allow_none=True)
    recorded_at = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True, keys=fields.String(), values=fields.Raw(
        metadata={"description": "Any JSON value: the event's attributes as stored."}))


class LogItemSchema(EventDocumentSchema):
    leaf = fields.String(required=True, allow_none=True,
                         metadata={"description": "RFC 6962 leaf hash of the stored event."})
    chain = fields.String(required=True, allow_none=True,
                          metadata={"description": "Hash chain value up to this event."})


class LogSchema(Schema):
    items = fields.List(fields.Nested(LogItemSchema), required=True)
    next_after = fields.Integer(required=True, allow_none=True)
    position = fields.Integer(required=True)


class StreamEventsSchema(Schema):
    stream_id = fields.String(required=True)
    items = fields.List(fields.Nested(EventDocumentSchema), required=True)
    next_after_version = fields.Integer(required=True, allow_none=True)


class StreamStateSchema(Schema):
    stream_id = fields.String(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    recorded_at = fields.String(required=True)
    state = fields.Dict(required=True, keys=fields.String(), values=fields.Raw(
        metadata={"description": "Any JSON value: the aggregate's attributes."}))


class FindingSchema(Schema):
    position = fields.Integer(required=True)
    problem = fields.String(required=True, metadata={
        "enum": ["altered", "removed", "unchained", "chain-altered"]})
    detail = fields.String(required=True)


class VerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    head_position = fields.Integer(required=True)
    head = fields.String(required=True)
    first_bad = fields.Nested(FindingSchema, required=True, allow_none=True)


class InclusionQuerySchema(InputSchema):
    position = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_CURSOR))
    tree_size = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_CURSOR),
                               metadata={"description": "Default: the whole log now."})


class ConsistencyQuerySchema(InputSchema):
    first = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_CURSOR))
    second = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_CURSOR))


class HeadsQuerySchema(InputSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=500))


HEX = {"pattern": "^[0-9a-f]{64}$"}


class InclusionSchema(Schema):
    """RFC 9162 inclusion proof of one event."""

    position = fields.Integer(required=True)
    leaf_index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata=HEX)
    audit_path = fields.List(fields.String(metadata=HEX), required=True)
    root = fields.String(required=True, metadata=HEX)


class ConsistencySchema(Schema):
    """RFC 9162 consistency proof between two tree sizes."""

    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    first_root = fields.String(required=True, metadata=HEX)
    second_root = fields.String(required=True, metadata=HEX)
    proof = fields.List(fields.String(metadata=HEX), required=True)


class TreeHeadSchema(Schema):
    """A signed tree head; the Ed25519 signature covers the lines
    'partnerledger-tree-head', size, root and signed_at, each ended by a newline."""

    tree_size = fields.Integer(required=True)
    root = fields.String(required=True, metadata=HEX)
    signed_at = fields.String(required=True)
    public_key = fields.String(required=True, metadata=HEX)
    signature = fields.String(required=True, metadata={"pattern": "^[0-9a-f]{128}$"})


class HeadsSchema(Schema):
    items = fields.List(fields.Nested(TreeHeadSchema), required=True)


class ExplainQuerySchema(InputSchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(
        ["accrual", "reversal", "payout", "payout_failed", "adjustment"]),
        metadata={"description": "Which line, where a payout and its failure share an id."})


class PlanUsedSchema(Schema):
    id = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True, allow_none=True)
    tier = fields.String(required=True, allow_none=True)


class ArithmeticSchema(Schema):
    formula = fields.String(required=True)
    exact = fields.String(required=True)
    rounding = fields.String(required=True)
    result = fields.String(required=True)
    recorded = fields.String(required=True)
    agrees = fields.Boolean(required=True)


class ExplainSchema(Schema):
    """One statement line: the events that made it, the rule, inputs, arithmetic, source."""

    partner_id = fields.String(required=True)
    entry = fields.Dict(required=True, keys=fields.String(), values=fields.Raw(
        metadata={"description": "The statement line, as GET .../statement lists it."}))
    event = fields.Nested(EventDocumentSchema, required=True)
    events = fields.List(fields.Nested(EventDocumentSchema), required=True)
    rule = fields.String(required=True)
    plan = fields.Nested(PlanUsedSchema, required=True)
    inputs = fields.Dict(required=True, keys=fields.String(), values=fields.Raw(
        metadata={"description": "The inputs the event recorded."}))
    arithmetic = fields.Nested(ArithmeticSchema, required=True, allow_none=True)
    source = fields.Dict(required=True, allow_none=True, keys=fields.String(),
                         values=fields.Raw(metadata={
                             "description": "http: request_id, key_id, method, path; kafka: "
                                            "topic, partition, offset, message_id."}))
