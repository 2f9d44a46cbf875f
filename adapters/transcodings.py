"""How value types are stored inside events (JSON)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from json import encoder as json_encoder
from typing import Any, TypeVar

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    UUIDAsHex,
)

from domain.ledger import OpenEntries
from domain.money import Money, decimal_text
from domain.plans import PlanTerms
from domain.tiers import Tier


class MoneyAsDict(Transcoding):
    """Money as {"amount": "12.50", "currency": "USD"}, exactly as on the wire."""

    type = Money
    name = "money"

    def encode(self, obj: Money) -> dict[str, str]:
        return {"amount": decimal_text(obj.amount), "currency": obj.currency}

    def decode(self, data: dict[str, str]) -> Money:
        return Money(Decimal(data["amount"]), data["currency"])


class PlanTermsAsDict(Transcoding):
    """Plan terms field by field; rates stay decimal strings."""

    type = PlanTerms
    name = "plan_terms"

    def encode(self, obj: PlanTerms) -> dict[str, Any]:
        return {
            "name": obj.name,
            "currency": obj.currency,
            "deal_rate": decimal_text(obj.deal_rate),
            "referral_rate": decimal_text(obj.referral_rate),
            "referral_months": obj.referral_months,
            "attribution_days": obj.attribution_days,
            "deal_protection_days": obj.deal_protection_days,
            "hold_days": obj.hold_days,
            "min_payout": decimal_text(obj.min_payout.amount),
            "points_per_conversion": obj.points_per_conversion,
            "tiers": [
                {
                    "name": t.name,
                    "threshold": decimal_text(t.threshold.amount),
                    "bonus_rate": decimal_text(t.bonus_rate),
                }
                for t in obj.tiers
            ],
        }

    def decode(self, data: dict[str, Any]) -> PlanTerms:
        currency = data["currency"]
        return PlanTerms(
            name=data["name"],
            currency=currency,
            deal_rate=Decimal(data["deal_rate"]),
            referral_rate=Decimal(data["referral_rate"]),
            referral_months=data["referral_months"],
            attribution_days=data["attribution_days"],
            deal_protection_days=data["deal_protection_days"],
            hold_days=data["hold_days"],
            min_payout=Money(Decimal(data["min_payout"]), currency),
            points_per_conversion=data["points_per_conversion"],
            tiers=tuple(
                Tier(t["name"], Money(Decimal(t["threshold"]), currency), Decimal(t["bonus_rate"]))
                for t in data["tiers"]
            ),
        )


class SetAsList(Transcoding):
    """Sets (of ids) as sorted lists."""

    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj, key=str)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


class OpenEntriesAsDict(Transcoding):
    """An account's live ledger, in snapshots: it already holds only strings and integers."""

    type = OpenEntries
    name = "ledger"  # the name stored in snapshots

    def encode(self, obj: OpenEntries) -> dict[str, Any]:
        return {"accruals": obj.accruals, "reversals": obj.reversals, "payouts": obj.payouts}

    def decode(self, data: dict[str, Any]) -> OpenEntries:
        return OpenEntries(data["accruals"], data["reversals"], data["payouts"])


class DateAsISO(Transcoding):
    """Calendar dates (an agreement's start) as YYYY-MM-DD."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


TRANSCODINGS: tuple[Transcoding, ...] = (
    MoneyAsDict(), PlanTermsAsDict(), SetAsList(), OpenEntriesAsDict(), DateAsISO(),
)
T = TypeVar("T", bound=JSONTranscoder)


def registered(transcoder: T) -> T:
    """The transcoder, knowing every type events hold: the library's own (as its
    `Application.register_transcodings` registers them) and the domain's."""
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), *TRANSCODINGS):
        transcoder.register(transcoding)
    return transcoder


class EventTranscoder(JSONTranscoder):
    """The library's JSON transcoder, encoding through one C encoder built once.

    `JSONTranscoder.encode` goes through `JSONEncoder.encode`, which builds a new C encoder,
    and a dictionary for its circular-reference check, for every event: 3.0 of an accrual's
    17.9 us, 1.5 of a revenue event's 7.4. The encoder here has the same separators, the same
    escaping (no ASCII-only), the same NaN handling and the same callback for registered
    types, so the bytes are the same (tests/unit/test_transcodings.py holds them equal). An
    event's state holds values, never itself, so there is no circular-reference check; a
    value nested past the interpreter's recursion limit fails with RecursionError.
    """

    def __init__(self) -> None:
        super().__init__()
        make = getattr(json_encoder, "c_make_encoder", None)  # the C accelerator, if built
        self._encode_state = None if make is None else make(
            None, self._encode_obj, json_encoder.encode_basestring, None, ":", ",",
            False, False, True)

    def encode(self, obj: Any) -> bytes:
        if self._encode_state is None or type(obj) is not dict:
            return super().encode(obj)
        return "".join(self._encode_state(obj, 0)).encode("utf8")
