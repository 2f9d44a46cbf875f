"""Inbound Kafka messages: the envelope, one type per command, and their translation.

A message's `data` is the body of the matching HTTP command plus the ids the HTTP route
carries in its path (`partner_id`, `deal_id`, `referral_id`, `agreement_id`, `payout_id`);
a create carries its new `id`; `occurred_at` comes from the envelope. A
`payout_run.requested` without `as_of` pays what is available at the envelope's
`occurred_at` (not at the moment it is consumed, so a replay means the same run); the
ingestion worker fills in the partners to pay from the ledger read model, as HTTP does.
Everything is validated by the same marshmallow schemas as HTTP and built by the same
builders (api/builders.py), so both edges accept exactly the same commands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api import builders as b
from api.json_bounds import MalformedJson, strict_loads
from api.schemas.common import (
    CommandSchema,
    InputSchema,
    business_time,
    find_bad_text,
    text_already_checked,
)
from api.schemas.earning import (
    AdjustmentSchema,
    CloseWonSchema,
    ConvertSchema,
    PaymentSchema,
    RecordReferralSchema,
    RedemptionSchema,
    RefundSchema,
    RegisterDealSchema,
)
from api.schemas.partners import ApplySchema, ApproveSchema, DetailsSchema, ReasonSchema
from api.schemas.payouts import ConfirmSchema, FailSchema, RunSchema
from api.schemas.plans import CreatePlanSchema, RevisePlanSchema
from api.schemas.royalties import AgreementSchema, ReportSchema
from domain import commands as c
from domain.business_time import PLAN_LEAD

SCHEMA_VERSION = 1


class EnvelopeSchema(InputSchema):
    """{message_id, type, occurred_at, source, schema_version, data}."""

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    # the widest bound (a plan revision's); the domain applies each type's own
    occurred_at = fields.AwareDateTime(required=True, validate=business_time(PLAN_LEAD))
    source = fields.String(required=True, validate=validate.Length(min=1, max=200))
    schema_version = fields.Integer(required=True, strict=True,
                                    validate=validate.Equal(SCHEMA_VERSION))
    data = fields.Dict(required=True)


class BadMessage(Exception):
    """A message that cannot become a command; `reason` goes to the dead-letter headers."""

    def __init__(self, reason: str, detail: str, message_id: str | None = None,
                 fingerprint: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        # known once the envelope is valid: a duplicate of a bad message is a duplicate too
        self.message_id = message_id
        self.fingerprint = fingerprint


def _with(base: type[Schema], **extra: fields.Field[Any]) -> Schema:
    """The HTTP body schema plus the ids the route carries; no occurred_at in `data`."""
    schema_class: type[Schema] = type(f"Message{base.__name__}", (base,), dict(extra))
    return schema_class(exclude=("occurred_at",))


def _uuid() -> fields.UUID:
    return fields.UUID(required=True)


Builder = Callable[[dict[str, Any], Any], c.Command]


@dataclass(frozen=True)
class MessageType:
    schema: Schema
    build: Builder


TYPES: dict[str, MessageType] = {
    "plan.created": MessageType(_with(CreatePlanSchema, id=_uuid()),
                                lambda d, at: b.create_plan(d, at, d["id"])),
    "plan.revised": MessageType(_with(RevisePlanSchema, plan_id=_uuid()),
                                lambda d, at: b.revise_plan(d, at, d["plan_id"])),
    "partner.applied": MessageType(_with(ApplySchema, id=_uuid()),
                                   lambda d, at: b.apply_partner(d, at, d["id"])),
    "partner.approved": MessageType(_with(ApproveSchema, partner_id=_uuid()),
                                    lambda d, at: b.approve_partner(d, at, d["partner_id"])),
    "partner.rejected": MessageType(_with(ReasonSchema, partner_id=_uuid()),
                                    lambda d, at: b.reject_partner(d, at, d["partner_id"])),
    "partner.suspended": MessageType(_with(ReasonSchema, partner_id=_uuid()),
                                     lambda d, at: b.suspend_partner(d, at, d["partner_id"])),
    "partner.reactivated": MessageType(
        _with(CommandSchema, partner_id=_uuid()),
        lambda d, at: b.reactivate_partner(d, at, d["partner_id"])),
    "partner.terminated": MessageType(_with(ReasonSchema, partner_id=_uuid()),
                                      lambda d, at: b.terminate_partner(d, at, d["partner_id"])),
    "partner.plan_changed": MessageType(
        _with(ApproveSchema, partner_id=_uuid()),
        lambda d, at: b.move_partner_to_plan(d, at, d["partner_id"])),
    "partner.details_changed": MessageType(
        _with(DetailsSchema, partner_id=_uuid()),
        lambda d, at: b.change_partner_details(d, at, d["partner_id"])),
    "deal.registered": MessageType(_with(RegisterDealSchema, id=_uuid()),
                                   lambda d, at: b.register_deal(d, at, d["id"])),
    "deal.approved": MessageType(_with(CommandSchema, deal_id=_uuid()),
                                 lambda d, at: b.approve_deal(d, at, d["deal_id"])),
    "deal.rejected": MessageType(_with(ReasonSchema, deal_id=_uuid()),
                                 lambda d, at: b.reject_deal(d, at, d["deal_id"])),
    "deal.closed_won": MessageType(_with(CloseWonSchema, deal_id=_uuid()),
                                   lambda d, at: b.close_deal_won(d, at, d["deal_id"])),
    "deal.closed_lost": MessageType(_with(ReasonSchema, deal_id=_uuid()),
                                    lambda d, at: b.close_deal_lost(d, at, d["deal_id"])),
    "referral.recorded": MessageType(_with(RecordReferralSchema, id=_uuid()),
                                     lambda d, at: b.record_referral(d, at, d["id"])),
    "referral.converted": MessageType(
        _with(ConvertSchema, referral_id=_uuid()),
        lambda d, at: b.convert_referral(d, at, d["referral_id"])),
    "payment.received": MessageType(_with(PaymentSchema), b.record_payment),
    "refund.issued": MessageType(_with(RefundSchema), b.issue_refund),
    "points.redeemed": MessageType(
        _with(RedemptionSchema, id=_uuid(), partner_id=_uuid()),
        lambda d, at: b.redeem_points(d, at, d["id"], d["partner_id"])),
    "adjustment.booked": MessageType(
        _with(AdjustmentSchema, id=_uuid(), partner_id=_uuid()),
        lambda d, at: b.adjust_balance(d, at, d["id"], d["partner_id"])),
    "royalty_agreement.signed": MessageType(
        _with(AgreementSchema, id=_uuid()),
        lambda d, at: b.sign_royalty_agreement(d, at, d["id"])),
    "royalty.reported": MessageType(_with(ReportSchema, agreement_id=_uuid()),
                                    lambda d, at: b.report_royalty(d, at, d["agreement_id"])),
    "royalty.quarter_closed": MessageType(
        _with(CommandSchema, agreement_id=_uuid(),
              quarter=fields.String(required=True, validate=validate.Regexp(
                  r"^\d{4}-Q[1-4]$", error="A quarter like 2026-Q2."))),
        lambda d, at: b.close_royalty_quarter(d, at, d["agreement_id"], d["quarter"])),
    # the worker fills in the partners to pay when it applies the run
    "payout_run.requested": MessageType(_with(RunSchema, id=_uuid()),
                                        lambda d, at: b.run_payouts(d, at, d["id"], (), at)),
    "payout.confirmed": MessageType(_with(ConfirmSchema, payout_id=_uuid()),
                                    lambda d, at: b.confirm_payout(d, at, d["payout_id"])),
    "payout.failed": MessageType(_with(FailSchema, payout_id=_uuid()),
                                 lambda d, at: b.fail_payout(d, at, d["payout_id"])),
}

ENVELOPE = EnvelopeSchema()


@dataclass(frozen=True)
class Message:
    """A decoded, validated message and the command it stands for."""

    message_id: str
    type: str
    command: c.Command
    fingerprint: str  # the same message in another key order or spacing has the same one


def decode(raw: bytes) -> Message:
    """Bytes from the topic to a command; every failure names its reason."""
    try:
        document = strict_loads(raw)
    except MalformedJson as error:
        raise BadMessage("undecodable", str(error)) from None
    if not isinstance(document, dict):
        raise BadMessage("undecodable", "The message is not a JSON object.")
    # Text that cannot be stored (NUL, a lone surrogate) can only come from a \u escape:
    # the bytes were valid UTF-8, and JSON allows no raw control character. So the whole
    # document is checked here, once, and only when it has an escape.
    if b"\\u" in raw:
        bad_text = find_bad_text(document)
        if bad_text:
            raise BadMessage("invalid", json.dumps(bad_text, sort_keys=True))
    with text_already_checked():
        return _decode_checked(document)


def _decode_checked(document: dict[str, Any]) -> Message:
    try:
        envelope = ENVELOPE.load(document)
    except ValidationError as error:
        raise BadMessage("invalid", json.dumps(error.messages, sort_keys=True)) from None
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    found = hashlib.sha256(canonical.encode()).hexdigest()
    message_id = envelope["message_id"]
    kind = TYPES.get(envelope["type"])
    if kind is None:
        raise BadMessage("unknown-type", f"No message type {envelope['type']!r}.",
                         message_id, found)
    try:
        data = kind.schema.load(envelope["data"])
    except ValidationError as error:
        raise BadMessage("invalid", json.dumps(error.messages, sort_keys=True),
                         message_id, found) from None
    try:
        command = kind.build(data, envelope["occurred_at"])
    except Exception as error:
        raise BadMessage("invalid", str(getattr(error, "detail", error)),
                         message_id, found) from None
    return Message(message_id, envelope["type"], command, found)
