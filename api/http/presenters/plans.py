"""Plans as answers: the current terms at the top level, and every version."""

from __future__ import annotations

from typing import Any

from api.builders import PLAN_TERMS
from domain.money import decimal_text
from domain.plans import PlanVersion


def version_json(version: PlanVersion) -> dict[str, Any]:
    """One plan version on the wire."""
    terms = version.terms
    return {
        "version": version.number,
        "effective_from": version.effective_from.isoformat(),
        **{name: getattr(terms, name) for name in PLAN_TERMS},
        "deal_rate": decimal_text(terms.deal_rate),
        "referral_rate": decimal_text(terms.referral_rate),
        "min_payout": terms.min_payout.to_json(),
        "tiers": [
            {
                "name": t.name,
                "threshold": t.threshold.to_json(),
                "bonus_rate": decimal_text(t.bonus_rate),
            }
            for t in terms.tiers
        ],
    }


def plan_json(plan: Any) -> dict[str, Any]:
    """A plan: current terms at the top level, and its version history."""
    return {
        "id": str(plan.id),
        **version_json(plan.current),
        "versions": [version_json(v) for v in plan.versions],
    }
