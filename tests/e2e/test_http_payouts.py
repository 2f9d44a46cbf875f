"""Payouts, balances and statements over HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import count_events
from tests.e2e.helpers import (
    NOW,
    Api,
    active_partner,
    apply,
    at,
    create_plan,
    ok,
    problem_type,
    usd,
)


def balance(api: Api, pid: str, **query: str) -> dict[str, str]:
    params = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in query.items())
    body = ok(api.get(f"/partners/{pid}/balances?{params}"))
    [figures] = body["balances"]
    return dict(figures)


@pytest.fixture
def earner(api: Api) -> str:
    """A partner with a referred customer who paid 500.00 sixty days ago (100.00 commission)."""
    plan = create_plan(api, hold_days=30, occurred_at=at(120),
                       min_payout={"amount": "50.00", "currency": "USD"})
    pid = active_partner(api, plan, at(120))
    referral = ok(api.post("/referrals", {"partner_id": pid, "occurred_at": at(100),
                                          "lead": {"email": "c@lead.example", "company": "C"}}),
                  201)["id"]
    ok(api.post(f"/referrals/{referral}/convert", {"customer_id": "cust-1",
                                                    "occurred_at": at(95)}))
    ok(api.post("/payments", {"id": "in_1", "customer_id": "cust-1", "amount": usd("500.00"),
                              "occurred_at": at(60)}), 201)
    return str(pid)


def test_balances_move_from_pending_to_available_to_in_payout_to_paid(
    api: Api, earner: str
) -> None:
    assert balance(api, earner, as_of=at(40)) | {} == {
        "currency": "USD", "earned": "100.00", "reversed": "0.00", "pending": "100.00",
        "available": "0.00", "in_payout": "0.00", "paid": "0.00"}
    assert balance(api, earner)["available"] == "100.00"
    run = ok(api.post("/payout-runs", {}), 201)
    [payout] = run["payouts"]
    assert (payout["partner_id"], payout["amount"], payout["status"]) == \
        (earner, usd("100.00"), "in_payout")
    assert balance(api, earner)["in_payout"] == "100.00"
    assert ok(api.post("/payout-runs", {}), 201)["payouts"] == []  # nothing is paid twice
    ok(api.post(f"/payouts/{payout['id']}/confirm", {"reference": "wire-1"}))
    now = balance(api, earner)
    assert (now["in_payout"], now["paid"], now["available"]) == ("0.00", "100.00", "0.00")
    again = api.post(f"/payouts/{payout['id']}/fail", {"reason": "late"})
    assert (again.status_code, problem_type(again)) == (409, "invalid-transition")
    assert ok(api.get(f"/payouts/{payout['id']}"))["status"] == "paid"
    assert [p["id"] for p in ok(api.get(f"/partners/{earner}/payouts"))["items"]] == \
        [payout["id"]]


def test_a_failed_payout_makes_the_money_available_again(api: Api, earner: str) -> None:
    [payout] = ok(api.post("/payout-runs", {}), 201)["payouts"]
    ok(api.post(f"/payouts/{payout['id']}/fail", {"reason": "account closed"}))
    assert balance(api, earner)["available"] == "100.00"
    assert len(ok(api.post("/payout-runs", {}), 201)["payouts"]) == 1


def test_a_clawback_after_payout_is_negative_available_netted_by_the_next_payout(
    api: Api, earner: str
) -> None:
    [first] = ok(api.post("/payout-runs", {"as_of": at(20)}), 201)["payouts"]
    ok(api.post(f"/payouts/{first['id']}/confirm", {"reference": "wire-1"}))
    ok(api.post("/refunds", {"id": "re_1", "payment_id": "in_1", "amount": usd("250.00"),
                             "occurred_at": at(10)}), 201)  # claws back 50.00
    after = balance(api, earner)
    assert (after["available"], after["paid"], after["reversed"]) == ("-50.00", "100.00",
                                                                      "50.00")
    assert ok(api.post("/payout-runs", {}), 201)["payouts"] == []
    ok(api.post("/payments", {"id": "in_2", "customer_id": "cust-1", "amount": usd("600.00"),
                              "occurred_at": at(40)}), 201)  # 120.00, available now
    [second] = ok(api.post("/payout-runs", {}), 201)["payouts"]
    assert second["amount"] == usd("70.00")  # 120.00 - 50.00
    final = balance(api, earner)
    assert final == {"currency": "USD", "earned": "220.00", "reversed": "50.00",
                     "pending": "0.00", "available": "0.00", "in_payout": "70.00",
                     "paid": "100.00"}


def test_known_at_shows_what_the_books_showed_before_a_late_refund(
    api: Api, earner: str
) -> None:
    last_month = at(30)
    before_refund = datetime.now(UTC).isoformat()
    ok(api.post("/refunds", {"id": "re_late", "payment_id": "in_1", "amount": usd("500.00"),
                             "occurred_at": at(45)}), 201)  # recorded today, dated 45 days ago
    today_view = balance(api, earner, as_of=last_month)
    then_view = balance(api, earner, as_of=last_month, known_at=before_refund)
    assert (today_view["reversed"], today_view["available"]) == ("100.00", "0.00")
    assert (then_view["reversed"], then_view["available"]) == ("0.00", "100.00")
    body = ok(api.get(f"/partners/{earner}/balances?known_at={before_refund.replace('+', '%2B')}"))
    assert body["known_at"] == before_refund


def test_the_statement_lists_every_entry_with_source_and_running_balance(
    api: Api, earner: str
) -> None:
    ok(api.post("/refunds", {"id": "re_1", "payment_id": "in_1", "amount": usd("100.00"),
                             "occurred_at": at(50)}), 201)  # -20.00
    [payout] = ok(api.post("/payout-runs", {}), 201)["payouts"]
    ok(api.post(f"/payouts/{payout['id']}/fail", {"reason": "bounced"}))
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(api.get(f"/partners/{earner}/statement?limit=2"
                          + (f"&cursor={cursor}" if cursor else "")))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(i["kind"], i["amount"]["amount"], i["running_balance"]["amount"]) for i in items] \
        == [("accrual", "100.00", "100.00"), ("reversal", "-20.00", "80.00"),
            ("payout", "-80.00", "0.00"), ("payout_failed", "80.00", "80.00")]
    assert items[0]["source"] == {"type": "payment", "id": "in_1"}
    assert items[0]["plan_version"] == 1
    assert items[1]["source"] == {"type": "refund", "id": "re_1"}


def test_suspended_partners_are_skipped_and_a_run_with_one_key_pays_once(
    api: Api, earner: str
) -> None:
    ok(api.post(f"/partners/{earner}/suspend", {}))
    run = ok(api.post("/payout-runs", {}, Idempotency_Key="run-1"), 201)
    assert run["payouts"] == [] and run["skipped"] == {earner: "partner_suspended"}
    ok(api.post(f"/partners/{earner}/reactivate", {}))
    paid = ok(api.post("/payout-runs", {}, Idempotency_Key="run-2"), 201)
    before = count_events(api.services)
    replay = api.post("/payout-runs", {}, Idempotency_Key="run-2")
    assert replay.status_code == 201
    assert replay.get_json()["payouts"] == paid["payouts"]
    assert count_events(api.services) == before
    future = api.post("/payout-runs", {"as_of": (NOW + timedelta(days=1)).isoformat()})
    assert future.status_code == 422


def test_concurrent_runs_never_pay_the_same_money_twice(
    api: Api, earner: str, flask_app: Any
) -> None:
    others = []
    for n in range(3):
        plan = create_plan(api, hold_days=0, name=f"p{n}")
        pid = apply(api)["id"]
        ok(api.post(f"/partners/{pid}/approve", {"plan_id": plan}))
        referral = ok(api.post("/referrals", {"partner_id": pid, "lead": {
            "email": f"x{n}@lead{n}.example", "company": "X"}}), 201)["id"]
        ok(api.post(f"/referrals/{referral}/convert", {"customer_id": f"c-{n}"}))
        ok(api.post("/payments", {"id": f"in_c{n}", "customer_id": f"c-{n}",
                                  "amount": usd("1000.00")}), 201)
        others.append(pid)
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        client = flask_app.test_client()
        barrier.wait()
        response = client.post("/payout-runs", json={},
                               headers={"Authorization": f"Bearer {api.internal}"})
        results.append(response.get_json())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paid_to = [p["partner_id"] for r in results for p in r["payouts"]]
    assert sorted(paid_to) == sorted([earner, *others])  # each partner exactly once
    total = sum(Decimal(p["amount"]["amount"]) for r in results for p in r["payouts"])
    assert total == Decimal("100.00") + 3 * Decimal("200.00")
