"""A partner's year over HTTP: deals, referrals, monthly payments, refunds, promotions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.helpers import NOW, Api, create_plan, ok, problem_type, usd
from tests.factories import partner_body

BASE = NOW - timedelta(days=200)


def at(days: int) -> str:
    return (BASE + timedelta(days=days)).isoformat()


def deal(api: Api, pid: str, domain: str, day: int) -> str:
    body = {"partner_id": pid, "customer": {"name": domain, "domain": domain},
            "estimated_value": usd("5000.00"), "occurred_at": at(day)}
    return str(ok(api.post("/deals", body), 201)["id"])


def win(api: Api, deal_id: str, amount: str, new_customer: bool, day: int) -> dict[str, Any]:
    ok(api.post(f"/deals/{deal_id}/approve", {"occurred_at": at(day)}))
    return ok(api.post(f"/deals/{deal_id}/close-won", {
        "amount": usd(amount), "new_customer": new_customer, "occurred_at": at(day)}))


def test_a_partner_from_application_to_gold_checked_figure_by_figure(api: Api) -> None:
    plan_id = create_plan(api, points_per_conversion=100, occurred_at=at(0))
    pid = ok(api.post("/partners", partner_body(email="ops@northwind.example",
                                                occurred_at=at(0))), 201)["id"]
    ok(api.post(f"/partners/{pid}/approve", {"plan_id": plan_id, "occurred_at": at(0)}))
    partner_token = api.partner_token(pid)

    # deals: A won as new business, B lost, C won (not new) and promotes to silver,
    # D registered by the partner itself and left to lapse
    a = deal(api, pid, "acme.example", 1)
    assert win(api, a, "8000.00", True, 10)["status"] == "won"
    b = deal(api, pid, "globex.example", 11)
    ok(api.post(f"/deals/{b}/close-lost", {"reason": "budget", "occurred_at": at(20)}))
    c = deal(api, pid, "initech.example", 21)
    win(api, c, "3000.00", False, 30)
    assert ok(api.get(f"/partners/{pid}"))["tier"] == "silver"
    d = ok(api.post("/deals", {"partner_id": pid, "customer": {"name": "D", "domain": "d.example"},
                               "estimated_value": usd("100.00"), "occurred_at": at(40)},
                    token=partner_token), 201)["id"]

    # referrals: one converts, one is a self-referral, one is still pending
    r1 = ok(api.post("/referrals", {"partner_id": pid, "occurred_at": at(50),
                                    "lead": {"email": "cto@lead1.example", "company": "L1"}}),
            201)["id"]
    converted = ok(api.post(f"/referrals/{r1}/convert",
                            {"customer_id": "cust-1", "occurred_at": at(55)}))
    assert (converted["status"], converted["points"]) == ("converted", 100)
    own = ok(api.post("/referrals", {"partner_id": pid, "occurred_at": at(56),
                                     "lead": {"email": "boss@northwind.example", "company": "N"}}),
             201)
    assert (own["status"], own["reason"]) == ("rejected", "self_referral")
    ok(api.post("/referrals", {"partner_id": pid, "lead": {"email": "x@lead3.example",
                                                           "company": "L3"}},
                token=partner_token), 201)

    # five monthly payments of 500.00 at silver: 500 x (0.20 + 0.02) = 110.00 each
    for n, day in enumerate((60, 90, 120, 150, 180)):
        paid = ok(api.post("/payments", {"id": f"in_{n}", "customer_id": "cust-1",
                                         "amount": usd("500.00"), "occurred_at": at(day)}), 201)
        assert paid["commission"] == usd("110.00")
    # a partial refund claws back 110 x 100 / 500 = 22.00; a full one the whole 110.00
    assert ok(api.post("/refunds", {"id": "re_1", "payment_id": "in_3",
                                    "amount": usd("100.00"), "occurred_at": at(181)}),
              201)["clawback"] == usd("22.00")
    assert ok(api.post("/refunds", {"id": "re_2", "payment_id": "in_4",
                                    "amount": usd("500.00"), "occurred_at": at(182)}),
              201)["clawback"] == usd("110.00")
    refused = api.post("/refunds", {"id": "re_3", "payment_id": "in_3",
                                    "amount": usd("400.01"), "occurred_at": at(183)})
    assert (refused.status_code, problem_type(refused)) == (409, "refund-exceeds-payment")
    assert ok(api.get("/payments/in_3"))["reversed"] == usd("22.00")

    # a big deal: 40,000 x 0.17 = 6,800.00 at silver, then gold (52,900 over 365 days)
    win(api, deal(api, pid, "umbrella.example", 185), "40000.00", True, 190)
    assert ok(api.get(f"/partners/{pid}"))["tier"] == "gold"

    # points: 100 from the conversion, 30 spent by the partner itself
    spent = ok(api.post(f"/partners/{pid}/points/redemptions",
                        {"points": 30, "reward": "conference pass"}, token=partner_token), 201)
    assert spent["points"] == 70
    too_many = api.post(f"/partners/{pid}/points/redemptions", {"points": 71, "reward": "x"})
    assert (too_many.status_code, problem_type(too_many)) == (409, "insufficient-points")

    standing = ok(api.get(f"/partners/{pid}/standing", token=partner_token))
    assert standing["status"] == "active"
    assert standing["tier"] == "gold"
    # 8,000 + 3,000 + 5 x 500 - 100 - 500 + 40,000; new business leaves out deal C
    assert standing["sourced_revenue"] == {"total": usd("52900.00"),
                                           "new_business": usd("49900.00")}
    # 1,200 + 450 + 5 x 110 + 6,800 earned; 22 + 110 reversed
    assert standing["commission"] == {"earned": usd("9000.00"), "reversed": usd("132.00")}
    assert standing["deals"] == {"registered": 0, "approved": 0, "won": 3, "lost": 1,
                                 "expired": 1, "rejected": 0, "win_rate": "0.6000"}
    assert standing["referrals"] == {"recorded": 3, "pending": 1, "converted": 1, "rejected": 1,
                                     "expired": 0, "conversion_rate": "0.5000"}
    assert standing["active_customers"] == 1
    assert standing["points"] == 70
    assert standing["rank"] == 1
    assert ok(api.get(f"/deals/{d}"))["status"] == "expired"
    expired = ok(api.get(f"/partners/{pid}/deals?status=expired"))["items"]
    assert [item["id"] for item in expired] == [d]
    won = ok(api.get(f"/partners/{pid}/deals?status=won", token=partner_token))["items"]
    assert [item["amount"] for item in won] == [usd("8000.00"), usd("3000.00"),
                                                usd("40000.00")]
