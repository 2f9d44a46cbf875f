"""Collections (SPEC section 10): every list filtered and paged, each item the same as the
record's own GET, and a partner key seeing only its own rows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import Api, active_partner, at, create_plan, ok, problem_type, usd


def walk(api: Api, path: str, token: str = "internal") -> list[dict[str, Any]]:
    """Every item of a list, two at a time."""
    items: list[dict[str, Any]] = []
    cursor = ""
    joiner = "&" if "?" in path else "?"
    while True:
        page = ok(api.get(f"{path}{joiner}limit=2{cursor}", token=token))
        items += page["items"]
        assert isinstance(page["position"], int)
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def without_position(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "position"}


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    """Two partners on a USD plan and one on a EUR plan, each with deals, a referral whose
    customer pays, a royalty agreement, and a payout run that paid two of them."""
    usd_plan = create_plan(api, hold_days=0, occurred_at=at(200),
                           min_payout={"amount": "1.00", "currency": "USD"})
    eur_plan = create_plan(api, name="Euro", currency="EUR", hold_days=0, occurred_at=at(200),
                           min_payout={"amount": "1.00", "currency": "EUR"},
                           tiers=[])
    ids: dict[str, Any] = {"plans": [usd_plan, eur_plan], "partners": {}}
    for name, plan, currency in (("a", usd_plan, "USD"), ("b", usd_plan, "USD"),
                                 ("c", eur_plan, "EUR")):
        pid = active_partner(api, plan, at(190))
        ids["partners"][name] = pid
        for n in range(3):
            deal = ok(api.post("/deals", {
                "partner_id": pid, "customer": {"name": f"{name}{n}",
                                                "domain": f"{name}{n}.example"},
                "estimated_value": usd("100.00", currency), "occurred_at": at(100 - n)}),
                201)["id"]
            if n == 0:
                ok(api.post(f"/deals/{deal}/approve", {"occurred_at": at(90)}))
                ok(api.post(f"/deals/{deal}/close-won", {"amount": usd("1000.00", currency),
                                                          "new_customer": True,
                                                          "occurred_at": at(90)}))
        referral = ok(api.post("/referrals", {"partner_id": pid, "occurred_at": at(80),
                                              "lead": {"email": f"l@{name}.example",
                                                       "company": name}}), 201)["id"]
        ok(api.post(f"/referrals/{referral}/convert", {"customer_id": f"cust-{name}",
                                                        "occurred_at": at(79)}))
        for n in range(2):
            ok(api.post("/payments", {"id": f"in_{name}{n}", "customer_id": f"cust-{name}",
                                      "amount": usd("50.00", currency),
                                      "occurred_at": at(70 - n)}), 201)
        ok(api.post("/royalty-agreements", {
            "partner_id": pid, "currency": currency, "starts_on": "2025-01-01",
            "schedule": [{"up_to": None, "rate": "0.05"}], "occurred_at": at(60)}), 201)
    ok(api.post("/payments", {"id": "in_walkin", "customer_id": "cust-walkin",
                              "amount": usd("10.00"), "occurred_at": at(65)}), 201)
    ids["run"] = ok(api.post("/payout-runs", {"occurred_at": at(10)}), 201)["id"]
    return ids


def test_every_list_pages_and_each_item_is_the_records_own_answer(api: Api,
                                                                 world: dict[str, Any]) -> None:
    plans = walk(api, "/plans")
    assert [p["id"] for p in plans] == world["plans"]
    assert [p["id"] for p in walk(api, "/plans?currency=EUR")] == [world["plans"][1]]
    for plan in plans:
        assert plan == without_position(ok(api.get(f"/plans/{plan['id']}")))

    deals = walk(api, "/deals")
    assert len(deals) == 9
    assert [d["status"] for d in walk(api, "/deals?status=won")] == ["won"] * 3
    a = world["partners"]["a"]
    assert {d["partner_id"] for d in walk(api, f"/deals?partner_id={a}")} == {a}
    assert len(walk(api, f"/deals?partner_id={a}&status=expired")) == 2  # past 90 days
    for deal in deals[:3]:
        assert deal["id"] == ok(api.get(f"/deals/{deal['id']}"))["id"]

    referrals = walk(api, "/referrals?status=converted")
    assert len(referrals) == 3 and walk(api, "/referrals?status=pending") == []

    payments = walk(api, "/payments")
    assert [p["id"] for p in payments] == ["in_a0", "in_a1", "in_b0", "in_b1", "in_c0",
                                           "in_c1", "in_walkin"]
    for payment in payments:
        assert payment == without_position(ok(api.get(f"/payments/{payment['id']}")))
    assert [p["id"] for p in walk(api, "/payments?customer_id=cust-walkin")] == ["in_walkin"]
    assert [p["id"] for p in walk(api, f"/payments?partner_id={a}")] == ["in_a0", "in_a1"]

    agreements = walk(api, "/royalty-agreements")
    assert len(agreements) == 3
    for agreement in agreements:
        assert agreement == without_position(
            ok(api.get(f"/royalty-agreements/{agreement['id']}")))
    assert [g["partner_id"] for g in walk(api, "/royalty-agreements?currency=EUR")] == \
        [world["partners"]["c"]]

    [run] = walk(api, "/payout-runs")
    assert run == without_position(ok(api.get(f"/payout-runs/{world['run']}")))
    payouts = walk(api, "/payouts")
    assert {p["id"] for p in payouts} == {p["id"] for p in run["payouts"]}
    assert walk(api, f"/payouts?run_id={world['run']}&status=in_payout") == payouts
    assert walk(api, "/payouts?status=paid") == []
    assert {p["partner_id"] for p in walk(api, f"/payouts?partner_id={a}")} == {a}


def test_a_partner_key_lists_only_its_own_rows(api: Api, world: dict[str, Any]) -> None:
    a, b = world["partners"]["a"], world["partners"]["b"]
    token = api.partner_token(a)
    secrets = {b, world["partners"]["c"], "in_b0", "in_c0", "in_walkin", "cust-b",
               world["plans"][1]}
    lists = {"/plans": 1, "/deals": 3, "/referrals": 1, "/payouts": 1,
             "/royalty-agreements": 1, "/payments": 2}
    for path, count in lists.items():
        mine = walk(api, path, token=token)
        assert len(mine) == count, path
        text = str(mine)
        assert not [s for s in secrets if s in text], path
        # asking for another partner's rows shows nothing, as for an id naming no one
        other = ok(api.get(f"{path}?partner_id={b}", token=token)) if path != "/plans" else None
        if other is not None:
            assert other["items"] == [], path
    refused = api.get("/payout-runs", token=token)
    assert (refused.status_code, problem_type(refused)) == (403, "forbidden")


@pytest.mark.parametrize("query", ["/deals?status=late", "/payouts?status=pending",
                                   "/plans?currency=usd", "/payments?customer_id=",
                                   "/royalty-agreements?partner_id=nope", "/payout-runs?x=1",
                                   "/deals?limit=501", "/referrals?cursor=abc"])
def test_bad_list_queries_are_422(api: Api, query: str) -> None:
    answer = api.get(query)
    assert (answer.status_code, problem_type(answer)) == (422, "validation-error")
