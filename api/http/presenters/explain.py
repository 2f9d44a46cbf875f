"""Explain one statement line: the events behind it, the rule, the inputs and arithmetic, and
the request or message that asked for it."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from adapters.provenance import Provenance
from api import audit
from api.http.presenters.ledger import statement_entry_json
from api.services import Services
from domain.errors import NotFound
from domain.ids import derived_id
from domain.money import decimal_text, minor_units

RULES = {
    ("accrual", "deal"): "Deal commission: the won amount x (the plan's deal_rate + the tier's "
                         "bonus), at the plan version and tier in force at the deal's close, "
                         "rounded once, half-even, to the currency's minor unit.",
    ("accrual", "payment"): "Recurring commission: a referred customer's payment x (the plan's "
                            "referral_rate + the tier's bonus), within referral_months of the "
                            "conversion, rounded once, half-even.",
    ("accrual", "royalty_report"): "Royalty: the agreement year's marginal brackets applied to "
                                   "its cumulative net sales, less what the year already "
                                   "accrued; rounded once, half-even.",
    ("accrual", "royalty_quarter"): "Quarterly minimum: the top-up that brings the quarter's "
                                    "royalties to minimum_per_quarter.",
    ("reversal", None): "Clawback: commission x refund / payment, rounded once, half-even, "
                        "capped at what the accrual has left; the refund that completes the "
                        "payment takes back exactly the rest.",
    ("payout", None): "Payout: everything available at the run's as_of, net of open "
                      "clawbacks, at or above the plan's min_payout.",
    ("payout_failed", None): "Failed payout: its amount returns to available.",
    ("adjustment", None): "Manual adjustment booked by an internal key, for the reason it "
                          "gives: a credit is available at once (no hold); a debit comes off "
                          "what is available and is netted by the next payout.",
}


def rule_for(kind: str, source_type: str | None) -> str:
    return RULES.get((kind, source_type)) or RULES.get((kind, None)) or "As recorded."


def arithmetic(data: dict[str, Any]) -> dict[str, Any] | None:
    """amount = basis x rate, rounded half-even, when the event carries those inputs."""
    basis, rate, amount = data.get("basis"), data.get("rate"), data.get("amount")
    if not (isinstance(basis, dict) and isinstance(amount, dict) and rate is not None):
        return None
    exact = Decimal(basis["amount"]) * Decimal(str(rate))
    unit = Decimal(1).scaleb(-minor_units(basis["currency"]))
    rounded = exact.quantize(unit, rounding=ROUND_HALF_EVEN)
    formula = f"{basis['amount']} x {rate}"
    if "base_rate" in data and "tier_bonus" in data:
        formula = (f"{basis['amount']} x ({data['base_rate']} + {data['tier_bonus']} "
                   f"{data.get('tier', '')} bonus)")
    return {"formula": formula, "exact": decimal_text(exact),
            "rounding": f"half-even to {minor_units(basis['currency'])} decimals",
            "result": decimal_text(rounded), "recorded": amount["amount"],
            "agrees": rounded == Decimal(amount["amount"])}


def _notification(svc: Services, stream_id: UUID, version: int) -> Notification | None:
    found = svc.db.find_event(stream_id, version)
    if found is None:
        return None
    position, topic, state = found
    return Notification(id=position, originator_id=stream_id, originator_version=version,
                        topic=topic, state=state)


def belongs_to(event: dict[str, Any], partner_id: UUID, source_id: str | None) -> bool:
    """Whether an event is about this partner alone: its own stream, its account, the line's
    source (its deal, say), or an event naming it."""
    account = str(derived_id(f"partnerledger:account:{partner_id}"))
    return (event["stream_id"] in (str(partner_id), account, source_id)
            or event["data"].get("partner_id") == str(partner_id))


def explain(svc: Services, partner_id: UUID, entry_id: str, kind: str | None,
            everything: bool) -> dict[str, Any]:
    """The explanation of one statement line of a partner (its first with that entry id, or
    the one of `kind`). Without `everything` (a partner's own key) the command's other events
    are shown only where they are about this partner: a payout run, say, pays many."""
    with svc.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT * FROM statement WHERE partner_id = ? AND entry_id = ? "
                       "AND (? = '' OR kind = ?) ORDER BY seq LIMIT 1",
                       (str(partner_id), entry_id, kind or "", kind or ""))
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"No statement line {entry_id} for partner {partner_id}.")
    position = int(row["seq"])
    found = svc.app.recorder.select_notifications(position, 1)
    if not found or found[0].id != position:
        raise NotFound(f"The event at position {position} is no longer in the log; "
                       "run audit verify.")
    event = audit.document(svc, found[0])
    origin = Provenance(svc.db).of(UUID(str(found[0].originator_id)), found[0].originator_version)
    events = [event]
    if origin is not None:
        others = [_notification(svc, stream, version)
                  for stream, version in Provenance(svc.db).command_events(origin[0])]
        events = sorted((audit.document(svc, n) for n in others if n is not None),
                        key=lambda e: int(e["position"]))
        if not everything:
            # a deal or referral is the partner's own; a payout run or a payment is not
            own_source = row["source_id"] if row["source_type"] in ("deal", "referral") else None
            events = [e for e in events if belongs_to(e, partner_id, own_source)]
    data = event["data"]
    inputs = {k: v for k, v in data.items()
              if k in ("basis", "base_rate", "tier", "tier_bonus", "rate", "plan_id",
                       "plan_version", "source_type", "source_id", "accrual_id",
                       "accrual_ids", "reversal_ids", "run_id", "reason", "adjustment_id")}
    return {
        "partner_id": str(partner_id),
        "entry": statement_entry_json(row),
        "event": event,
        "events": events,
        "rule": rule_for(str(row["kind"]), row["source_type"]),
        "plan": {"id": data.get("plan_id"), "version": data.get("plan_version"),
                 "tier": data.get("tier")},
        "inputs": inputs,
        "arithmetic": arithmetic(data) if row["kind"] in ("accrual", "reversal") else None,
        "source": None if origin is None else origin[1],
    }
