"""Royalty agreements over HTTP, paid through the same ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import count_events
from tests.e2e.helpers import Api, active_partner, create_plan, ok, problem_type, usd

LONG_AGO = (datetime.now(UTC) - timedelta(days=400)).isoformat()
SCHEDULE = [{"up_to": "100000.00", "rate": "0.05"}, {"up_to": None, "rate": "0.08"}]


@pytest.fixture
def licensor(api: Api) -> str:
    plan = create_plan(api, occurred_at=LONG_AGO)
    return active_partner(api, plan, LONG_AGO)


def agreement(api: Api, pid: str, **extra: Any) -> dict[str, Any]:
    body = {"partner_id": pid, "currency": "USD", "schedule": SCHEDULE,
            "minimum_per_quarter": usd("2000.00"), "starts_on": "2025-01-01",
            "occurred_at": LONG_AGO, **extra}
    return ok(api.post("/royalty-agreements", body), 201)


def test_reports_restatements_and_a_quarter_top_up_reach_balances_and_statement(
    api: Api, licensor: str
) -> None:
    signed = agreement(api, licensor)
    aid = signed["id"]

    def report(period: str, gross: str, returns: str = "0.00") -> dict[str, Any]:
        return ok(api.post(f"/royalty-agreements/{aid}/reports", {
            "period": period, "gross_sales": usd(gross), "returns": usd(returns),
            "occurred_at": LONG_AGO}), 201)

    report("2025-01", "60000.00")
    report("2025-02", "70000.00", "10000.00")
    body = report("2025-01", "40000.00")  # restated down: the year is back to 5,000.00
    assert body["years"] == [{"year": 1, "net_sales": usd("100000.00"),
                              "royalty": usd("5000.00")}]
    assert [r["royalty"] for r in body["reports"]] == [usd("1400.00"), usd("3600.00")]
    report("2025-04", "10000.00")  # 100,000 reached: 8% -> 800.00
    closed = ok(api.post(f"/royalty-agreements/{aid}/quarters/2025-Q2/close",
                         {"occurred_at": LONG_AGO}))
    assert closed["quarters"] == [{"quarter": "2025-Q2", "top_up": usd("1200.00"),
                                   "closed": True}]
    before = count_events(api.services)
    again = ok(api.post(f"/royalty-agreements/{aid}/quarters/2025-Q2/close", {}))
    assert again["quarters"] == closed["quarters"]
    assert count_events(api.services) == before
    balances = ok(api.get(f"/partners/{licensor}/balances"))["balances"][0]
    # 3,000 + 3,600 + 800 + 1,200 earned; 1,600 reversed by the restatement
    assert (balances["earned"], balances["reversed"], balances["available"]) == \
        ("8600.00", "1600.00", "7000.00")
    statement = ok(api.get(f"/partners/{licensor}/statement"))["items"]
    assert [(i["kind"], i["source"]["type"], i["amount"]["amount"]) for i in statement] == [
        ("accrual", "royalty_report", "3000.00"), ("accrual", "royalty_report", "3600.00"),
        ("reversal", "royalty_report", "-1600.00"), ("accrual", "royalty_report", "800.00"),
        ("accrual", "royalty_quarter", "1200.00")]
    assert statement[0]["source"]["id"].startswith(aid)
    read = ok(api.get(f"/royalty-agreements/{aid}", token=api.partner_token(licensor)))
    assert read["id"] == aid


@pytest.mark.parametrize(("body", "field", "kind"), [
    ({"schedule": [{"up_to": "100", "rate": "0.1"}, {"up_to": "50", "rate": "0.2"},
                   {"up_to": None, "rate": "0.3"}]}, "schedule.1.up_to", "validation-error"),
    ({"schedule": [{"up_to": None, "rate": "-0.1"}]}, "schedule.0.rate", "validation-error"),
    ({"schedule": []}, "schedule", "validation-error"),
    ({"currency": "EUR"}, None, "currency-mismatch"),
    ({"minimum_per_quarter": usd("-1.00")}, "minimum_per_quarter.amount", "validation-error"),
])
def test_bad_agreements_are_refused(
    api: Api, licensor: str, body: dict[str, Any], field: str | None, kind: str
) -> None:
    before = count_events(api.services)
    response = api.post("/royalty-agreements", {
        "partner_id": licensor, "currency": "USD", "schedule": SCHEDULE,
        "starts_on": "2025-01-01", **body})
    assert response.status_code == 422, response.get_json()
    assert problem_type(response) == kind
    if field:
        assert field in response.get_json()["errors"], response.get_json()
    assert count_events(api.services) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"period": "2024-12"}, "period"),
    ({"period": "2025-13"}, "period"),
    ({"gross_sales": usd("-5.00")}, "gross_sales.amount"),
    ({"returns": usd("20.00")}, "returns"),
    ({"gross_sales": usd("10.00", "EUR")}, "gross_sales"),
])
def test_bad_reports_are_422_and_write_nothing(
    api: Api, licensor: str, body: dict[str, Any], field: str
) -> None:
    aid = agreement(api, licensor)["id"]
    before = count_events(api.services)
    response = api.post(f"/royalty-agreements/{aid}/reports", {
        "period": "2025-03", "gross_sales": usd("10.00"), "returns": usd("0.00"), **body})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count_events(api.services) == before
    bad_quarter = api.post(f"/royalty-agreements/{aid}/quarters/2025-Q9/close", {})
    assert bad_quarter.status_code == 422
