"""Request bodies and domain values the tests share."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import commands as c
from domain.money import Money
from domain.plans import PlanTerms
from domain.tiers import Tier


def plan_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /plans body."""
    body: dict[str, Any] = {
        "name": "Standard",
        "currency": "USD",
        "deal_rate": "0.15",
        "referral_rate": "0.20",
        "referral_months": 12,
        "min_payout": {"amount": "50.00", "currency": "USD"},
        "tiers": [
            {"name": "silver", "threshold": {"amount": "10000", "currency": "USD"},
             "bonus_rate": "0.02"},
            {"name": "gold", "threshold": {"amount": "50000", "currency": "USD"},
             "bonus_rate": "0.05"},
        ],
    }
    body.update(overrides)
    return body


def partner_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /partners body with a unique email."""
    body: dict[str, Any] = {
        "name": "Ada Partner",
        "email": f"ada-{uuid.uuid4().hex[:8]}@partner.example",
        "company": "Ada Ltd",
        "type": "referral",
        "country": "GB",
    }
    body.update(overrides)
    return body


def terms(**overrides: Any) -> PlanTerms:
    """Valid plan terms."""
    values: dict[str, Any] = {
        "name": "Standard",
        "currency": "USD",
        "deal_rate": Decimal("0.15"),
        "referral_rate": Decimal("0.20"),
        "referral_months": 12,
        "attribution_days": 90,
        "deal_protection_days": 90,
        "hold_days": 30,
        "min_payout": Money.parse("50.00", "USD"),
        "points_per_conversion": 100,
        "tiers": (Tier("gold", Money.parse("50000", "USD"), Decimal("0.05")),),
    }
    values.update(overrides)
    return PlanTerms(**values)


def referring_partner(app: Any, when: datetime, name: str = "p") -> tuple[uuid.UUID, str]:
    """An active partner with one referred customer on a plan without hold or tiers;
    returns (partner id, customer id)."""
    plan, pid, referral = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    customer = f"cust-{name}-{pid.hex[:6]}"
    app.execute_batch([
        c.CreatePlan(when, plan, terms(hold_days=0, tiers=())),
        c.ApplyPartner(when, pid, "P", f"{pid.hex}@partner.example", "P", "referral", "US"),
        c.ApprovePartner(when, pid, plan),
        c.RecordReferral(when, referral, pid, f"{pid.hex}@lead.example", "L"),
        c.ConvertReferral(when, referral, customer),
    ])
    return pid, customer
