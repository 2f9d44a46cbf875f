"""Manual adjustments: credits and debits through the ledger like any accrual."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tests.conftest import count_events
from tests.e2e.helpers import Api, active_partner, apply, at, create_plan, ok, problem_type, usd


def buckets(api: Api, pid: str, query: str = "") -> dict[str, Decimal]:
    [figures] = ok(api.get(f"/partners/{pid}/balances{query}"))["balances"]
    return {k: Decimal(v) for k, v in figures.items() if k != "currency"}


def invariant(b: dict[str, Decimal]) -> bool:
    return b["earned"] - b["reversed"] == b["pending"] + b["available"] + b["in_payout"] + b["paid"]


def test_credits_and_debits_move_the_books_and_are_paid_out(api: Api) -> None:
    plan = create_plan(api, hold_days=30, occurred_at=at(100),
                       min_payout={"amount": "10.00", "currency": "USD"})
    pid = active_partner(api, plan, at(100))
    credit = ok(api.post(f"/partners/{pid}/adjustments", {
        "amount": usd("250.00"), "reason": "Q3 launch bonus", "occurred_at": at(5)}), 201)
    assert credit["amount"] == usd("250.00") and credit["balances"]["earned"] == usd("250.00")
    after_credit = buckets(api, pid)
    assert (after_credit["available"], after_credit["pending"]) == (Decimal("250.00"), 0)
    assert buckets(api, pid, f"?as_of={at(6).replace('+', '%2B')}")["earned"] == 0
    debit = ok(api.post(f"/partners/{pid}/adjustments", {
        "id": str(uuid.uuid4()), "amount": usd("-40.00"), "reason": "duplicate lead"}), 201)
    after_debit = buckets(api, pid)
    assert (after_debit["earned"], after_debit["reversed"], after_debit["available"]) == \
        (Decimal("250.00"), Decimal("40.00"), Decimal("210.00"))
    assert invariant(after_debit)
    standing = ok(api.get(f"/partners/{pid}/standing"))
    assert standing["commission"] == {"earned": usd("250.00"), "reversed": usd("40.00")}

    lines = ok(api.get(f"/partners/{pid}/statement?kind=adjustment"))["items"]
    assert [(line["amount"], line["source"]["type"], line["running_balance"]) for line in lines] \
        == [(usd("250.00"), "adjustment", usd("250.00")), (usd("-40.00"), "adjustment",
                                                            usd("210.00"))]
    assert [line["entry_id"] for line in lines] == [credit["entry_id"], debit["entry_id"]]
    assert lines[1]["source"]["id"] == debit["id"]
    explained = ok(api.get(f"/partners/{pid}/statement/{debit['entry_id']}/explain"))
    assert "Manual adjustment" in explained["rule"]
    assert explained["inputs"]["reason"] == "duplicate lead"
    assert explained["source"]["path"] == f"/partners/{pid}/adjustments"

    [payout] = ok(api.post("/payout-runs", {}), 201)["payouts"]
    assert payout["amount"] == usd("210.00")
    ok(api.post(f"/payouts/{payout['id']}/confirm", {"reference": "w-1"}))
    paid = buckets(api, pid)
    assert (paid["paid"], paid["available"]) == (Decimal("210.00"), 0) and invariant(paid)
    # a debit after the payout leaves available negative until more is earned
    ok(api.post(f"/partners/{pid}/adjustments", {"amount": usd("-15.00"), "reason": "fee"}), 201)
    owed = buckets(api, pid)
    assert owed["available"] == Decimal("-15.00") and invariant(owed)
    assert ok(api.post("/payout-runs", {}), 201)["payouts"] == []
    summary = ok(api.get("/program/summary"))["currencies"][0]["balances"]
    assert Decimal(summary["available"]) == Decimal("-15.00")


def test_refused_adjustments_write_nothing(api: Api) -> None:
    pid = active_partner(api, create_plan(api, occurred_at=at(10)), at(9))
    applicant = apply(api, occurred_at=at(5))["id"]
    fixed = str(uuid.uuid4())
    ok(api.post(f"/partners/{pid}/adjustments", {"id": fixed, "amount": usd("1.00"),
                                                  "reason": "first"}), 201)
    events = count_events(api.services)
    token = api.partner_token(pid)
    for path, body, token_used, status, kind in [
        (pid, {"id": fixed, "amount": usd("1.00"), "reason": "again"}, "internal", 409,
         "duplicate"),
        (pid, {"amount": usd("0.00"), "reason": "zero"}, "internal", 422, "validation-error"),
        (pid, {"amount": usd("1.00", "EUR"), "reason": "euro"}, "internal", 422,
         "currency-mismatch"),
        (pid, {"amount": usd("1.001"), "reason": "sub-cent"}, "internal", 422,
         "validation-error"),
        (pid, {"amount": usd("1.00")}, "internal", 422, "validation-error"),
        (pid, {"amount": usd("1.00"), "reason": ""}, "internal", 422, "validation-error"),
        (pid, {"amount": 1.0, "reason": "float"}, "internal", 422, "validation-error"),
        (pid, {"amount": usd("5.00"), "reason": "self-help"}, token, 403, "forbidden"),
        (applicant, {"amount": usd("1.00"), "reason": "no plan"}, "internal", 409,
         "invalid-transition"),
        (str(uuid.uuid4()), {"amount": usd("1.00"), "reason": "nobody"}, "internal", 404,
         "not-found"),
    ]:
        answer = api.post(f"/partners/{path}/adjustments", body, token=token_used)
        assert (answer.status_code, problem_type(answer)) == (status, kind), body
    assert count_events(api.services) == events
