"""Business time at the edges of the calendar, over HTTP, from hostile partner and internal keys.

Before these bounds a partner token could store a deal dated `0001-01-01T00:00:00+14:00`
that stopped the commissions read model for good, and a payout run dated ahead paid money
still on hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import count_events
from tests.e2e.helpers import Api, active_partner, create_plan, ok, problem_type, usd

EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z",
]


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@pytest.fixture
def partner(api: Api) -> dict[str, str]:
    """An active partner on a 30-day-hold plan, with its own partner token."""
    plan = create_plan(api, occurred_at=ago(days=400))
    pid = active_partner(api, plan, ago(days=400))
    return {"id": pid, "plan": plan, "token": api.partner_token(pid)}


def assert_ready_and_current(api: Api) -> None:
    ready = api.get("/readyz", token=None)
    assert ready.status_code == 200, ready.get_json()
    for figures in ready.get_json()["projections"].values():
        assert figures["lag"] == 0 and not figures["failing"]


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_a_partner_token_cannot_store_a_deal_or_referral_at_the_ends_of_the_calendar(
    api: Api, partner: dict[str, str], when: str
) -> None:
    before = count_events(api.services)
    deal = api.post("/deals", {
        "partner_id": partner["id"], "occurred_at": when,
        "customer": {"name": "Edge", "domain": "edge.example"},
        "estimated_value": usd("10.00")}, token=partner["token"])
    referral = api.post("/referrals", {
        "partner_id": partner["id"], "occurred_at": when,
        "lead": {"email": "edge@lead.example", "company": "Edge"}}, token=partner["token"])
    for response in (deal, referral):
        assert response.status_code == 422, response.get_json()
        assert problem_type(response) == "validation-error"
        assert "occurred_at" in response.get_json()["errors"]
    assert count_events(api.services) == before
    assert_ready_and_current(api)
    assert ok(api.post("/payout-runs", {}), 201)["payouts"] == []


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_payments_and_every_other_command_refuse_edge_times(
    api: Api, partner: dict[str, str], when: str
) -> None:
    before = count_events(api.services)
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/payments", {"id": "in_edge", "customer_id": "c", "amount": usd("1.00")}),
        ("/refunds", {"id": "re_edge", "payment_id": "in_edge", "amount": usd("1.00")}),
        ("/plans", {"name": "P", "currency": "USD", "deal_rate": "0.1", "referral_rate": "0.1",
                    "referral_months": 12, "min_payout": usd("1.00"), "tiers": []}),
        (f"/partners/{partner['id']}/suspend", {}),
        ("/payout-runs", {}),
        (f"/partners/{partner['id']}/points/redemptions", {"points": 1, "reward": "r"}),
    ]
    for path, body in requests:
        response = api.post(path, {**body, "occurred_at": when})
        assert response.status_code == 422, (path, response.get_json())
        assert "occurred_at" in response.get_json()["errors"]
    assert count_events(api.services) == before
    assert_ready_and_current(api)


def test_a_payout_run_dated_ahead_is_refused_and_pays_nothing_on_hold(
    api: Api, partner: dict[str, str]
) -> None:
    referral = ok(api.post("/referrals", {
        "partner_id": partner["id"], "occurred_at": ago(days=40),
        "lead": {"email": "cfo@hold.example", "company": "Hold"}}), 201)["id"]
    ok(api.post(f"/referrals/{referral}/convert", {"customer_id": "cust-hold",
                                                    "occurred_at": ago(days=40)}))
    # 20 % of 1,000.00 becomes available 30 days after the payment: in two minutes
    ok(api.post("/payments", {"id": "in_hold", "customer_id": "cust-hold",
                              "amount": usd("1000.00"),
                              "occurred_at": ago(days=30, minutes=-2)}), 201)
    before = count_events(api.services)
    future = api.post("/payout-runs", {"occurred_at": "2999-06-01T00:00:00Z"})
    assert future.status_code == 422
    assert "occurred_at" in future.get_json()["errors"]
    future_as_of = api.post("/payout-runs", {"as_of": "2999-06-01T00:00:00Z"})
    assert future_as_of.status_code == 422
    assert "as_of" in future_as_of.get_json()["errors"]
    assert count_events(api.services) == before
    # within the clock-skew allowance, the run still pays nothing still on hold
    skewed = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    run = ok(api.post("/payout-runs", {"occurred_at": skewed}), 201)
    assert run["payouts"] == []
    figures = ok(api.get(f"/partners/{partner['id']}/balances"))["balances"][0]
    assert (figures["pending"], figures["available"], figures["in_payout"]) == (
        "200.00", "0.00", "0.00")


def test_a_plan_revision_may_be_announced_up_to_366_days_ahead_not_in_9999(
    api: Api, partner: dict[str, str]
) -> None:
    plan = partner["plan"]
    before = count_events(api.services)
    for when in ("9999-12-31T00:00:00Z", (datetime.now(UTC) + timedelta(days=367)).isoformat()):
        refused = api.post(f"/plans/{plan}/revisions", {"hold_days": 1, "occurred_at": when})
        assert refused.status_code == 422, refused.get_json()
        assert "occurred_at" in refused.get_json()["errors"]
    assert count_events(api.services) == before
    ahead = (datetime.now(UTC) + timedelta(days=300)).isoformat()
    ok(api.post(f"/plans/{plan}/revisions", {"hold_days": 14, "occurred_at": ahead}), 201)
    later = (datetime.now(UTC) + timedelta(days=310)).isoformat()
    ok(api.post(f"/plans/{plan}/revisions", {"hold_days": 7, "occurred_at": later}), 201)


def test_royalty_periods_and_quarters_after_the_current_month_are_refused(
    api: Api, partner: dict[str, str]
) -> None:
    agreement = ok(api.post("/royalty-agreements", {
        "partner_id": partner["id"], "currency": "USD",
        "schedule": [{"up_to": None, "rate": "0.05"}],
        "minimum_per_quarter": usd("1000.00"), "starts_on": "2025-01-01"}), 201)["id"]
    before = count_events(api.services)
    next_month = (datetime.now(UTC).replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    for period in ("9999-12", next_month):
        response = api.post(f"/royalty-agreements/{agreement}/reports", {
            "period": period, "gross_sales": usd("10.00"), "returns": usd("0.00")})
        assert response.status_code == 422, response.get_json()
        assert "period" in response.get_json()["errors"]
    closed = api.post(f"/royalty-agreements/{agreement}/quarters/9999-Q4/close", {})
    assert closed.status_code == 422
    assert "quarter" in closed.get_json()["errors"]
    far_start = api.post("/royalty-agreements", {
        "partner_id": partner["id"], "currency": "USD",
        "schedule": [{"up_to": None, "rate": "0.05"}], "starts_on": "9999-01-01"})
    assert far_start.status_code == 422
    assert "starts_on" in far_start.get_json()["errors"]
    assert count_events(api.services) == before
    this_month = datetime.now(UTC).strftime("%Y-%m")
    ok(api.post(f"/royalty-agreements/{agreement}/reports", {
        "period": this_month, "gross_sales": usd("10.00"), "returns": usd("0.00")}), 201)


@pytest.mark.parametrize("query", ["as_of=9999-12-31T23:59:59-12:00",
                                   "known_at=0001-01-01T00:00:00%2B14:00",
                                   "as_of=1969-01-01T00:00:00Z"])
def test_balance_reads_refuse_edge_times_with_a_422_not_a_500(
    api: Api, partner: dict[str, str], query: str
) -> None:
    response = api.get(f"/partners/{partner['id']}/balances?{query}", token=partner["token"])
    assert response.status_code == 422, response.get_json()
    assert query.split("=", maxsplit=1)[0] in response.get_json()["errors"]


def test_the_bounds_are_in_the_openapi_document(api: Api) -> None:
    document = api.get("/openapi.json", token=None).get_json()
    schemas = document["components"]["schemas"]
    described = [s["properties"]["occurred_at"].get("description", "")
                 for s in schemas.values()
                 if s.get("properties", {}).get("occurred_at", {}).get("format") == "date-time"]
    assert described and all("1970-01-01" in text for text in described)
