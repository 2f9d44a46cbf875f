"""Manual adjustments: a credit or debit an operator books on a partner's account."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask_smorest import Blueprint

from api import builders
from api.http.auth import allow, new_id
from api.http.commanding import Answer, run_command
from api.http.schemas.ledger import AdjustmentOutSchema
from api.schemas.earning import AdjustmentSchema
from domain.accounts import entry_id

blp = Blueprint("adjustments", __name__, description="Manual adjustments")


@blp.route("/partners/<uuid:partner_id>/adjustments", methods=["POST"])
@blp.arguments(AdjustmentSchema)
@blp.response(201, AdjustmentOutSchema)
@allow("internal")
def adjust(body: dict[str, Any], partner_id: UUID) -> Answer:
    """Books a credit (positive amount) or a debit (negative) in the partner's currency, with
    its reason: a statement line of kind `adjustment`. A credit is available at once; a debit
    comes off what is available and is netted by the next payout. The same id twice is a 409
    duplicate; a partner never approved onto a plan has no account (409)."""
    adjustment_id = new_id(body["id"])
    command = builders.adjust_balance(body, body["occurred_at"], adjustment_id, partner_id)

    def present(account: Any) -> dict[str, Any]:
        return {"id": str(adjustment_id), "partner_id": str(partner_id),
                "entry_id": str(entry_id("adjustment", "adjustment", str(adjustment_id))),
                "amount": body["amount"].to_json(), "reason": body["reason"],
                "balances": {"earned": account.earned.to_json(),
                             "reversed": account.reversed.to_json()}}

    return run_command(command, present, 201)
