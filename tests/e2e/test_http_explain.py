"""Explain a statement line over HTTP: events, rule, plan version and tier, arithmetic with
rounding, and the request that asked for it; a partner sees only its own."""

from __future__ import annotations

from api.demo import DEMO_PARTNER_ID, load_demo
from tests.e2e.helpers import (
    Api,
    active_partner,
    apply,
    at,
    create_plan,
    deal_body,
    ok,
    problem_type,
    usd,
)


def won_deal(api: Api, pid: str, amount: str, request_id: str) -> None:
    deal = ok(api.post("/deals", deal_body(pid, occurred_at=at(40)), X_Request_Id="reg-1"),
              201)["id"]
    ok(api.post(f"/deals/{deal}/approve", {"occurred_at": at(39)}))
    answer = api.post(f"/deals/{deal}/close-won",
                      {"amount": usd(amount), "new_customer": True, "occurred_at": at(38)},
                      X_Request_Id=request_id)
    assert answer.headers["X-Request-Id"] == request_id
    ok(answer)


def test_an_accrual_is_explained_with_its_arithmetic_and_the_request_behind_it(
        api: Api) -> None:
    plan = create_plan(api, deal_rate="0.15", occurred_at=at(400))
    pid = active_partner(api, plan, at(300))
    won_deal(api, pid, "1234.57", "close-42")
    lines = ok(api.get(f"/partners/{pid}/statement?min_position=1"))["items"]
    accrual = next(line for line in lines if line["kind"] == "accrual")
    partner = api.partner_token(pid)
    answer = ok(api.get(f"/partners/{pid}/statement/{accrual['entry_id']}/explain",
                        token=partner))
    assert answer["entry"]["amount"] == usd("185.19")  # 1234.57 x 0.15 = 185.1855
    assert answer["arithmetic"] == {
        "formula": "1234.57 x (0.15 + 0 registered bonus)", "exact": "185.1855",
        "rounding": "half-even to 2 decimals", "result": "185.19", "recorded": "185.19",
        "agrees": True}
    assert answer["plan"] == {"id": plan, "version": 1, "tier": "registered"}
    assert "deal_rate" in answer["rule"]
    assert answer["source"]["via"] == "http" and answer["source"]["request_id"] == "close-42"
    assert answer["source"]["path"].endswith("/close-won")
    types = {event["type"] for event in answer["events"]}
    assert "PartnerAccount.Accrued" in types and any(t.startswith("Deal.") for t in types)
    assert answer["event"]["position"] in [e["position"] for e in answer["events"]]

    other = active_partner(api, plan, at(300))
    stranger = api.partner_token(other)
    refused = api.get(f"/partners/{pid}/statement/{accrual['entry_id']}/explain", token=stranger)
    assert problem_type(refused) == "not-found"
    missing = api.get(f"/partners/{pid}/statement/nothing-here/explain")
    assert problem_type(missing) == "not-found"


def test_lines_written_outside_a_request_explain_without_a_source(api: Api) -> None:
    assert load_demo(api.services.app)
    api.services.projections.catch_up()
    lines = ok(api.get(f"/partners/{DEMO_PARTNER_ID}/statement"))["items"]
    answer = ok(api.get(f"/partners/{DEMO_PARTNER_ID}/statement/{lines[0]['entry_id']}"
                        "/explain", token=api.auditor))
    assert answer["source"] is None and answer["events"] == [answer["event"]]
    assert answer["arithmetic"]["agrees"] is True
    assert apply(api)["status"] == "applied"
