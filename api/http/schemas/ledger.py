"""Answers about money owed: payouts and their runs, balances, statements."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.http.schemas.common import ExportQuerySchema, MoneyOut, ReadQuerySchema
from api.schemas.common import moment_field

PAYOUT_STATUSES = ["in_payout", "paid", "failed"]
ENTRY_KINDS = ["accrual", "reversal", "payout", "payout_failed", "adjustment"]
BUCKETS = ("earned", "reversed", "pending", "available", "in_payout", "paid")


class PayoutSchema(Schema):
    """A payout as its run made it, and what became of it."""

    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    run_id = fields.String(required=True)
    amount = fields.Nested(MoneyOut, required=True)
    status = fields.String(required=True, metadata={"enum": PAYOUT_STATUSES})
    settlement = fields.Boolean(required=True, metadata={
        "description": "Settles a terminated partner, whatever the plan minimum."})
    as_of = fields.String(required=True)
    reference = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class PayoutOutSchema(PayoutSchema):
    """One payout, with the log position the answer reflects."""

    position = fields.Integer(required=True)


class RunOutSchema(Schema):
    id = fields.String(required=True)
    as_of = fields.String(required=True)
    payouts = fields.List(fields.Nested(PayoutSchema), required=True)
    skipped = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "Partner id -> why nothing was paid."})
    position = fields.Integer(required=True)


class PayoutItemSchema(Schema):
    """A payout in a partner's list, from the ledger read model."""

    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    run_id = fields.String(required=True)
    amount = fields.Nested(MoneyOut, required=True)
    status = fields.String(required=True, metadata={"enum": PAYOUT_STATUSES})
    started_at = fields.String(required=True)
    reference = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class PayoutListSchema(Schema):
    items = fields.List(fields.Nested(PayoutItemSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    position = fields.Integer(required=True)


class BucketsSchema(Schema):
    """One currency's buckets, as decimal strings."""

    currency = fields.String(required=True)
    earned = fields.String(required=True)
    reversed = fields.String(required=True)
    pending = fields.String(required=True)
    available = fields.String(required=True)
    in_payout = fields.String(required=True)
    paid = fields.String(required=True)


class BalancesSchema(Schema):
    partner_id = fields.String(required=True)
    as_of = fields.String(required=True)
    known_at = fields.String(required=True)
    balances = fields.List(fields.Nested(BucketsSchema), required=True)
    position = fields.Integer(required=True)


class SourceSchema(Schema):
    type = fields.String(required=True, metadata={"example": "payment"})
    id = fields.String(required=True)


class EntrySchema(Schema):
    entry_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ENTRY_KINDS})
    amount = fields.Nested(MoneyOut, required=True)
    occurred_at = fields.String(required=True)
    recorded_at = fields.String(required=True)
    source = fields.Nested(SourceSchema, required=True)
    plan_version = fields.Integer(required=True, allow_none=True)
    running_balance = fields.Nested(MoneyOut, required=True)


class StatementSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    position = fields.Integer(required=True)


class BalanceQuerySchema(ReadQuerySchema):
    as_of = moment_field("Business time of the balances; defaults to now.")
    known_at = moment_field("Show the books as recorded at this time; defaults to now.")


class StatementQuerySchema(ExportQuerySchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(ENTRY_KINDS),
                         metadata={"description": "Only lines of this kind."})


class AccountTotalsOut(Schema):
    earned = fields.Nested(MoneyOut, required=True)
    reversed = fields.Nested(MoneyOut, required=True)


class AdjustmentOutSchema(Schema):
    """A booked adjustment, its statement line's id, and the account's totals after it."""

    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    entry_id = fields.String(required=True)
    amount = fields.Nested(MoneyOut, required=True)
    reason = fields.String(required=True)
    balances = fields.Nested(AccountTotalsOut, required=True)
    position = fields.Integer(required=True)
