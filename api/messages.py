"""Inbound Kafka messages: the envelope, one type per command, and their translation.

A message's `data` is the body of the matching HTTP command plus the ids the HTTP route
carries in its path (`partner_id`, `deal_id`, `referral_id`, `agreement_id`, `payout_id`);
a create carries its new `id`; `occurred_at` comes from the envelope. A
`payout_run.requested` without `as_of` pays what is available at the envelope's
`occurred_at` (not at the moment it is consumed, so a replay means the same run); the
ingestion worker fills in the partners to pay from the ledger read model, as HTTP does.
Everything is validated by the same marshmallow schemas as HTTP, so both edges accept
exactly the same commands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.json_bounds import MalformedJson, strict_loads
from api.routes.payouts import RunSchema
from api.routes.royalties import AgreementSchema, ReportSchema
from api.schemas.common import CommandSchema, InputSchema, business_time
from api.schemas.earning import (
    CloseWonSchema,
    ConvertSchema,
    PaymentSchema,
    RecordReferralSchema,
    RedemptionSchema,
    RefundSchema,
    RegisterDealSchema,
)
from api.schemas.partners import ApplySchema, ApproveSchema, ReasonSchema
from api.schemas.plans import CreatePlanSchema, RevisePlanSchema
from domain import commands as c
from domain.business_time import PLAN_LEAD
from domain.plans import PlanTerms, Tier

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


def _terms(body: dict[str, Any]) -> PlanTerms:
    names = ("name", "currency", "deal_rate", "referral_rate", "referral_months",
             "attribution_days", "deal_protection_days", "hold_days", "min_payout",
             "points_per_conversion")
    tiers = tuple(Tier(t["name"], t["threshold"], t["bonus_rate"]) for t in body["tiers"])
    return PlanTerms(**{n: body[n] for n in names}, tiers=tiers)


Builder = Callable[[dict[str, Any], Any], c.Command]


@dataclass(frozen=True)
class MessageType:
    schema: Schema
    build: Builder


def _revise(d: dict[str, Any], at: Any) -> c.Command:
    changes = {k: v for k, v in d.items() if k not in ("plan_id",)}
    if "tiers" in changes:
        changes["tiers"] = tuple(Tier(t["name"], t["threshold"], t["bonus_rate"])
                                 for t in changes["tiers"])
    return c.RevisePlan(at, d["plan_id"], changes)


TYPES: dict[str, MessageType] = {
    "plan.created": MessageType(_with(CreatePlanSchema, id=_uuid()),
                                lambda d, at: c.CreatePlan(at, d["id"], _terms(d))),
    "plan.revised": MessageType(_with(RevisePlanSchema, plan_id=_uuid()), _revise),
    "partner.applied": MessageType(
        _with(ApplySchema, id=_uuid()),
        lambda d, at: c.ApplyPartner(at, d["id"], d["name"], d["email"], d["company"],
                                     d["type"], d["country"])),
    "partner.approved": MessageType(
        _with(ApproveSchema, partner_id=_uuid()),
        lambda d, at: c.ApprovePartner(at, d["partner_id"], d["plan_id"])),
    "partner.rejected": MessageType(
        _with(ReasonSchema, partner_id=_uuid()),
        lambda d, at: c.RejectPartner(at, d["partner_id"], d["reason"])),
    "partner.suspended": MessageType(
        _with(ReasonSchema, partner_id=_uuid()),
        lambda d, at: c.SuspendPartner(at, d["partner_id"], d["reason"])),
    "partner.reactivated": MessageType(
        _with(CommandSchema, partner_id=_uuid()),
        lambda d, at: c.ReactivatePartner(at, d["partner_id"])),
    "partner.terminated": MessageType(
        _with(ReasonSchema, partner_id=_uuid()),
        lambda d, at: c.TerminatePartner(at, d["partner_id"], d["reason"])),
    "deal.registered": MessageType(
        _with(RegisterDealSchema, id=_uuid()),
        lambda d, at: c.RegisterDeal(at, d["id"], d["partner_id"], d["customer"]["name"],
                                     d["customer"]["domain"], d["estimated_value"])),
    "deal.approved": MessageType(_with(CommandSchema, deal_id=_uuid()),
                                 lambda d, at: c.ApproveDeal(at, d["deal_id"])),
    "deal.rejected": MessageType(_with(ReasonSchema, deal_id=_uuid()),
                                 lambda d, at: c.RejectDeal(at, d["deal_id"], d["reason"])),
    "deal.closed_won": MessageType(
        _with(CloseWonSchema, deal_id=_uuid()),
        lambda d, at: c.CloseDealWon(at, d["deal_id"], d["amount"], d["new_customer"])),
    "deal.closed_lost": MessageType(
        _with(ReasonSchema, deal_id=_uuid()),
        lambda d, at: c.CloseDealLost(at, d["deal_id"], d["reason"])),
    "referral.recorded": MessageType(
        _with(RecordReferralSchema, id=_uuid()),
        lambda d, at: c.RecordReferral(at, d["id"], d["partner_id"], d["lead"]["email"],
                                       d["lead"]["company"])),
    "referral.converted": MessageType(
        _with(ConvertSchema, referral_id=_uuid()),
        lambda d, at: c.ConvertReferral(at, d["referral_id"], d["customer_id"])),
    "payment.received": MessageType(
        _with(PaymentSchema),
        lambda d, at: c.RecordPayment(at, d["id"], d["customer_id"], d["amount"])),
    "refund.issued": MessageType(
        _with(RefundSchema),
        lambda d, at: c.IssueRefund(at, d["id"], d["payment_id"], d["amount"])),
    "points.redeemed": MessageType(
        _with(RedemptionSchema, id=_uuid(), partner_id=_uuid()),
        lambda d, at: c.RedeemPoints(at, d["id"], d["partner_id"], d["points"], d["reward"])),
    "royalty_agreement.signed": MessageType(
        _with(AgreementSchema, id=_uuid()),
        lambda d, at: c.SignRoyaltyAgreement(
            at, d["id"], d["partner_id"], d["currency"],
            tuple((b["up_to"], b["rate"]) for b in d["schedule"]),
            d["minimum_per_quarter"], d["starts_on"])),
    "royalty.reported": MessageType(
        _with(ReportSchema, agreement_id=_uuid()),
        lambda d, at: c.ReportRoyalty(at, d["agreement_id"], d["period"], d["gross_sales"],
                                      d["returns"])),
    "royalty.quarter_closed": MessageType(
        _with(CommandSchema, agreement_id=_uuid(),
              quarter=fields.String(required=True, validate=validate.Regexp(
                  r"^\d{4}-Q[1-4]$", error="A quarter like 2026-Q2."))),
        lambda d, at: c.CloseRoyaltyQuarter(at, d["agreement_id"], d["quarter"])),
    "payout_run.requested": MessageType(
        _with(RunSchema, id=_uuid()),
        lambda d, at: c.RunPayouts(at, d["id"], d["as_of"] or at, ())),
    "payout.confirmed": MessageType(
        _with(CommandSchema, payout_id=_uuid(),
              reference=fields.String(required=True, validate=validate.Length(1, 200))),
        lambda d, at: c.ConfirmPayout(at, d["payout_id"], d["reference"])),
    "payout.failed": MessageType(
        _with(CommandSchema, payout_id=_uuid(),
              reason=fields.String(required=True, validate=validate.Length(1, 1000))),
        lambda d, at: c.FailPayout(at, d["payout_id"], d["reason"])),
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
