"""POST /partners/{id}/plan: a partner moves to another plan from a business time on."""

from __future__ import annotations

from typing import Any

from tests.conftest import count_events
from tests.e2e.helpers import Api, active_partner, apply, at, create_plan, ok, problem_type, usd


def won(api: Api, pid: str, domain: str, day: float, amount: str = "1000.00") -> str:
    deal = ok(api.post("/deals", {"partner_id": pid, "occurred_at": at(day + 1),
                                  "customer": {"name": domain, "domain": domain},
                                  "estimated_value": usd("10.00")}), 201)["id"]
    ok(api.post(f"/deals/{deal}/approve", {"occurred_at": at(day + 1)}))
    ok(api.post(f"/deals/{deal}/close-won", {"amount": usd(amount), "new_customer": True,
                                              "occurred_at": at(day)}))
    return str(deal)


def accrual_for(api: Api, pid: str, deal: str) -> dict[str, Any]:
    lines = ok(api.get(f"/partners/{pid}/statement?kind=accrual&limit=500"))["items"]
    [line] = [line for line in lines if line["source"]["id"] == deal]
    return line


def test_accruals_from_the_move_on_use_the_new_plan_and_none_before_change(api: Api) -> None:
    old = create_plan(api, deal_rate="0.10", tiers=[], occurred_at=at(100))
    new = create_plan(api, name="Premium", deal_rate="0.30", tiers=[], occurred_at=at(100))
    pid = active_partner(api, old, at(90))
    before = won(api, pid, "before.example", 50)
    assert accrual_for(api, pid, before)["amount"] == usd("100.00")
    moved = ok(api.post(f"/partners/{pid}/plan", {"plan_id": new, "occurred_at": at(40)}))
    assert moved["plan_id"] == new
    read = ok(api.get(f"/partners/{pid}?min_position={moved['position']}"))
    assert read["plan_id"] == new
    after = won(api, pid, "after.example", 20)
    late = won(api, pid, "late.example", 45)  # recorded now, dated before the move
    assert accrual_for(api, pid, after)["amount"] == usd("300.00")
    assert accrual_for(api, pid, late)["amount"] == usd("100.00")
    assert accrual_for(api, pid, before)["amount"] == usd("100.00")  # unchanged
    line = accrual_for(api, pid, after)
    explained = ok(api.get(f"/partners/{pid}/statement/{line['entry_id']}/explain"))
    assert explained["plan"]["id"] == new
    assert explained["arithmetic"]["formula"].startswith("1000.00 x (0.30")
    # the partner still reads both plans its money was earned under
    token = api.partner_token(pid)
    for plan in (old, new):
        assert api.get(f"/plans/{plan}", token=token).status_code == 200
    assert [p["id"] for p in ok(api.get("/plans", token=token))["items"]] == [old, new]
    history = ok(api.get(f"/audit/streams/{pid}/events", token=api.auditor))["items"]
    [change] = [e for e in history if e["type"].endswith("PlanChanged")]
    assert (change["data"]["from_plan_id"], change["data"]["plan_id"]) == (old, new)


def test_refused_moves_write_nothing(api: Api) -> None:
    old = create_plan(api, occurred_at=at(100))
    new = create_plan(api, name="Other", occurred_at=at(100))
    euro = create_plan(api, name="Euro", currency="EUR", tiers=[], occurred_at=at(100),
                       min_payout={"amount": "50.00", "currency": "EUR"})
    pid = active_partner(api, old, at(90))
    ok(api.post(f"/partners/{pid}/plan", {"plan_id": new, "occurred_at": at(30)}))
    applicant = apply(api, occurred_at=at(5))["id"]
    events = count_events(api.services)
    same = api.post(f"/partners/{pid}/plan", {"plan_id": new})
    assert same.status_code == 200 and count_events(api.services) == events  # already on it
    token = api.partner_token(pid)
    for who, body, token_used, status, kind in [
        (pid, {"plan_id": old, "occurred_at": at(60)}, "internal", 409, "invalid-transition"),
        (pid, {"plan_id": euro}, "internal", 422, "currency-mismatch"),
        (pid, {"plan_id": "3f0c2d9e-6b1b-4c56-9a39-0d5d5a1c1b11"}, "internal", 404,
         "not-found"),
        (pid, {}, "internal", 422, "validation-error"),
        (pid, {"plan_id": old}, token, 403, "forbidden"),
        (applicant, {"plan_id": old}, "internal", 409, "invalid-transition"),
    ]:
        answer = api.post(f"/partners/{who}/plan", body, token=token_used)
        assert (answer.status_code, problem_type(answer)) == (status, kind), body
    assert count_events(api.services) == events
