"""Inbound messages: each type becomes the same command as its HTTP route; bad ones say why."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from api.kafka.messages import TYPES, BadMessage, decode
from domain import commands as c
from domain.money import Money
from tests.factories import partner_body, plan_body

AT = "2026-03-01T12:00:00+00:00"
ID = str(uuid.uuid4())
OTHER = str(uuid.uuid4())


def envelope(kind: str, data: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"message_id": "m-1", "type": kind, "occurred_at": AT,
                       "source": "billing", "schema_version": 1, "data": data,
                       **extra}).encode()


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


CASES: list[tuple[str, dict[str, Any], type[c.Command]]] = [
    ("plan.created", {**plan_body(), "id": ID}, c.CreatePlan),
    ("plan.revised", {"plan_id": ID, "hold_days": 10}, c.RevisePlan),
    ("partner.applied", {**partner_body(), "id": ID}, c.ApplyPartner),
    ("partner.approved", {"partner_id": ID, "plan_id": OTHER}, c.ApprovePartner),
    ("partner.rejected", {"partner_id": ID, "reason": "no"}, c.RejectPartner),
    ("partner.suspended", {"partner_id": ID}, c.SuspendPartner),
    ("partner.reactivated", {"partner_id": ID}, c.ReactivatePartner),
    ("partner.terminated", {"partner_id": ID}, c.TerminatePartner),
    ("deal.registered", {"id": ID, "partner_id": OTHER, "estimated_value": usd("10.00"),
                         "customer": {"name": "A", "domain": "a.example"}}, c.RegisterDeal),
    ("deal.approved", {"deal_id": ID}, c.ApproveDeal),
    ("deal.rejected", {"deal_id": ID, "reason": "x"}, c.RejectDeal),
    ("deal.closed_won", {"deal_id": ID, "amount": usd("5.00"), "new_customer": True},
     c.CloseDealWon),
    ("deal.closed_lost", {"deal_id": ID}, c.CloseDealLost),
    ("referral.recorded", {"id": ID, "partner_id": OTHER,
                           "lead": {"email": "a@b.example", "company": "B"}}, c.RecordReferral),
    ("referral.converted", {"referral_id": ID, "customer_id": "cust-9"}, c.ConvertReferral),
    ("payment.received", {"id": "in_1042", "customer_id": "cust-9", "amount": usd("9.99")},
     c.RecordPayment),
    ("refund.issued", {"id": "re_1", "payment_id": "in_1042", "amount": usd("1.00")},
     c.IssueRefund),
    ("points.redeemed", {"id": ID, "partner_id": OTHER, "points": 5, "reward": "mug"},
     c.RedeemPoints),
    ("royalty_agreement.signed", {"id": ID, "partner_id": OTHER, "currency": "USD",
                                  "schedule": [{"up_to": None, "rate": "0.05"}],
                                  "starts_on": "2026-01-01"}, c.SignRoyaltyAgreement),
    ("royalty.reported", {"agreement_id": ID, "period": "2026-02",
                          "gross_sales": usd("100.00"), "returns": usd("0.00")},
     c.ReportRoyalty),
    ("royalty.quarter_closed", {"agreement_id": ID, "quarter": "2026-Q1"},
     c.CloseRoyaltyQuarter),
    ("payout_run.requested", {"id": ID, "as_of": "2026-02-28T00:00:00+00:00"}, c.RunPayouts),
    ("payout.confirmed", {"payout_id": ID, "reference": "wire-1"}, c.ConfirmPayout),
    ("payout.failed", {"payout_id": ID, "reason": "bounced"}, c.FailPayout),
    ("partner.details_changed", {"partner_id": ID, "company": "Renamed Ltd"},
     c.ChangePartnerDetails),
    ("adjustment.booked", {"id": ID, "partner_id": OTHER, "amount": usd("-10.00"),
                           "reason": "fee"}, c.AdjustBalance),
    ("partner.plan_changed", {"partner_id": ID, "plan_id": OTHER}, c.MovePartnerToPlan),
]


@pytest.mark.parametrize(("kind", "data", "command_type"), CASES)
def test_every_message_type_becomes_its_command(
    kind: str, data: dict[str, Any], command_type: type[c.Command]
) -> None:
    message = decode(envelope(kind, data))
    assert (message.message_id, message.type) == ("m-1", kind)
    assert type(message.command) is command_type
    assert message.command.occurred_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_every_listed_type_has_a_case() -> None:
    assert {kind for kind, _, _ in CASES} == set(TYPES)


def test_values_are_typed_exactly_as_over_http() -> None:
    payment = decode(envelope("payment.received", CASES[15][1])).command
    assert isinstance(payment, c.RecordPayment)
    assert payment.amount == Money(Decimal("9.99"), "USD")
    signed = decode(envelope(*CASES[18][:2])).command
    assert isinstance(signed, c.SignRoyaltyAgreement)
    assert signed.starts_on == date(2026, 1, 1)
    assert decode(envelope(*CASES[2][:2])).command.id == uuid.UUID(ID)  # type: ignore[attr-defined]


def test_a_payout_run_without_as_of_pays_at_the_envelope_time() -> None:
    run = decode(envelope("payout_run.requested", {"id": ID})).command
    assert isinstance(run, c.RunPayouts)
    assert run.as_of == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert run.partner_ids == ()


@pytest.mark.parametrize(("raw", "reason"), [
    (b"\xff\xfe not json", "undecodable"),
    (b"[1, 2]", "undecodable"),
    (envelope("payment.received", {"id": "in_1"}), "invalid"),
    (envelope("payment.received", {"id": "in_1", "customer_id": "c",
                                   "amount": {"amount": 1.5, "currency": "USD"}}), "invalid"),
    (envelope("partner.approved", {"partner_id": ID, "plan_id": OTHER,
                                   "occurred_at": AT}), "invalid"),
    (envelope("plan.created", {**plan_body(tiers=[
        {"name": "b", "threshold": usd("20"), "bonus_rate": "0.1"},
        {"name": "a", "threshold": usd("10"), "bonus_rate": "0.1"}]), "id": ID}), "invalid"),
    (envelope("partner.exploded", {}), "unknown-type"),
    (envelope("deal.approved", {"deal_id": ID}, schema_version=2), "invalid"),
    (json.dumps({"type": "deal.approved", "data": {}}).encode(), "invalid"),
    (b"[" * 100_000 + b"]" * 100_000, "undecodable"),
    (b'{"message_id": ' + b"9" * 5000 + b"}", "undecodable"),
    (b'{"message_id": NaN}', "undecodable"),
    (envelope("deal.approved", {"deal_id": ID}, occurred_at="0001-01-01T00:00:00+14:00"),
     "invalid"),
])
def test_bad_messages_name_their_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadMessage) as error:
        decode(raw)
    assert error.value.reason == reason
    assert error.value.detail
