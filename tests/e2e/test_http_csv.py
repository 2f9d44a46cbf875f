"""CSV exports: the statement, payouts and the leaderboard, row for row the JSON's figures."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.e2e.helpers import Api, active_partner, at, create_plan, ok, problem_type, usd


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def every_item(api: Api, path: str, token: str = "internal") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        joiner = "&" if "?" in path else "?"
        page = ok(api.get(f"{path}{joiner}limit=2{cursor}", token=token))
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


@pytest.fixture
def earner(api: Api, monkeypatch: pytest.MonkeyPatch) -> str:
    """A partner with seven payments, a refund and two payouts, one of whose references a
    spreadsheet would read as a formula; exports fetch three rows at a time."""
    for module in ("api.http.routes.payouts", "api.http.routes.program"):
        monkeypatch.setattr(f"{module}.EXPORT_PAGE", 3)
    plan = create_plan(api, hold_days=0, occurred_at=at(300),
                       min_payout={"amount": "10.00", "currency": "USD"})
    pid = active_partner(api, plan, at(300))
    referral = ok(api.post("/referrals", {"partner_id": pid, "occurred_at": at(200),
                                          "lead": {"email": "x@lead.example", "company": "X"}}),
                  201)["id"]
    ok(api.post(f"/referrals/{referral}/convert", {"customer_id": "cust-x",
                                                    "occurred_at": at(199)}))
    for n in range(7):
        ok(api.post("/payments", {"id": f"in_{n}", "customer_id": "cust-x",
                                  "amount": usd(f"{100 + n}.50"), "occurred_at": at(150 - n)}),
           201)
    ok(api.post("/refunds", {"id": "re_1", "payment_id": "in_1", "amount": usd("50.00"),
                             "occurred_at": at(100)}), 201)
    for reference in ("=HYPERLINK(\"http://x.example\")", "wire-1"):
        [payout] = ok(api.post("/payout-runs", {}), 201)["payouts"]
        ok(api.post(f"/payouts/{payout['id']}/confirm", {"reference": reference}))
        ok(api.post("/payments", {"id": f"in_{reference[:3]}", "customer_id": "cust-x",
                                  "amount": usd("200.00"), "occurred_at": at(50)}), 201)
    return str(pid)


def test_the_statement_as_csv_is_the_json_row_for_row(api: Api, earner: str) -> None:
    items = every_item(api, f"/partners/{earner}/statement")
    assert len(items) > 10
    for response in (api.get(f"/partners/{earner}/statement?format=csv"),
                     api.get(f"/partners/{earner}/statement", Accept="text/csv")):
        rows = rows_of(response)
        assert [r["entry_id"] for r in rows] == [i["entry_id"] for i in items]
        for row, item in zip(rows, items, strict=True):
            assert row == {
                "entry_id": item["entry_id"], "kind": item["kind"],
                "amount": item["amount"]["amount"], "currency": item["amount"]["currency"],
                "occurred_at": item["occurred_at"], "recorded_at": item["recorded_at"],
                "source_type": item["source"]["type"] or "",
                "source_id": item["source"]["id"] or "",
                "plan_version": "" if item["plan_version"] is None else str(item["plan_version"]),
                "running_balance": item["running_balance"]["amount"]}
    assert {r["kind"] for r in rows} >= {"accrual", "reversal", "payout"}
    # from a cursor: the rest of the rows
    page = ok(api.get(f"/partners/{earner}/statement?limit=4"))
    rest = rows_of(api.get(f"/partners/{earner}/statement?format=csv&cursor="
                           f"{page['next_cursor']}"))
    assert [r["entry_id"] for r in rest] == [i["entry_id"] for i in items[4:]]
    # JSON when asked for, whatever Accept says
    assert api.get(f"/partners/{earner}/statement?format=json",
                   Accept="text/csv").mimetype == "application/json"


def test_payouts_as_csv_and_text_that_would_be_a_formula(api: Api, earner: str) -> None:
    items = every_item(api, f"/partners/{earner}/payouts")
    rows = rows_of(api.get(f"/partners/{earner}/payouts?format=csv"))
    assert [(r["id"], r["amount"], r["currency"], r["status"], r["run_id"]) for r in rows] == [
        (i["id"], i["amount"]["amount"], i["amount"]["currency"], i["status"], i["run_id"])
        for i in items]
    assert items[0]["reference"].startswith("=HYPERLINK")
    assert rows[0]["reference"] == "'" + items[0]["reference"]
    assert rows[1]["reference"] == "wire-1"


def test_a_partner_exports_its_own_rows_only(api: Api, earner: str) -> None:
    token = api.partner_token(earner)
    mine = rows_of(api.get(f"/partners/{earner}/statement?format=csv", token=token))
    assert len(mine) == len(every_item(api, f"/partners/{earner}/statement"))
    other = active_partner(api, create_plan(api, occurred_at=at(10)), at(5))
    for path in (f"/partners/{other}/statement?format=csv", f"/partners/{other}/payouts",
                 f"/partners/{other}/payouts?format=csv"):
        refused = api.get(path, token=token)
        assert (refused.status_code, problem_type(refused)) == (404, "not-found")


def test_the_leaderboard_as_csv(api: Api, earner: str) -> None:
    for n in range(4):
        pid = active_partner(api, create_plan(api, occurred_at=at(90)), at(80))
        deal = ok(api.post("/deals", {"partner_id": pid, "occurred_at": at(70),
                                      "customer": {"name": f"C{n}", "domain": f"c{n}.example"},
                                      "estimated_value": usd("10.00")}), 201)["id"]
        ok(api.post(f"/deals/{deal}/approve", {"occurred_at": at(69)}))
        ok(api.post(f"/deals/{deal}/close-won", {"amount": usd(f"{n + 1}00.00"),
                                                  "new_customer": True, "occurred_at": at(68)}))
    board = every_item(api, "/leaderboard")
    assert len(board) == 5
    rows = rows_of(api.get("/leaderboard?format=csv"))
    assert rows == [{"rank": str(i["rank"]), "partner_id": i["partner_id"], "name": i["name"],
                     "sourced_revenue": i["sourced_revenue"]["amount"],
                     "new_business": i["new_business"]["amount"], "currency": "USD"}
                    for i in board]
    hidden = rows_of(api.get("/leaderboard", Accept="text/csv",
                             token=api.partner_token(earner)))
    assert [(r["partner_id"], r["name"]) for r in hidden if r["partner_id"] != earner] == \
        [("", "")] * 4
    assert [r["sourced_revenue"] for r in hidden] == [r["sourced_revenue"] for r in rows]
    assert rows_of(api.get("/leaderboard?format=csv&currency=EUR")) == []


@pytest.mark.parametrize("path", ["/leaderboard", "/partners/{pid}/statement",
                                  "/partners/{pid}/payouts"])
def test_an_unknown_format_is_422(api: Api, earner: str, path: str) -> None:
    answer = api.get(path.format(pid=earner) + "?format=xml")
    assert (answer.status_code, problem_type(answer)) == (422, "validation-error")


def test_the_statement_filtered_by_kind(api: Api, earner: str) -> None:
    everything = every_item(api, f"/partners/{earner}/statement")
    for kind in ("accrual", "reversal", "payout", "adjustment"):
        lines = every_item(api, f"/partners/{earner}/statement?kind={kind}")
        assert lines == [line for line in everything if line["kind"] == kind]
        rows = rows_of(api.get(f"/partners/{earner}/statement?kind={kind}&format=csv"))
        assert [r["entry_id"] for r in rows] == [line["entry_id"] for line in lines]
    assert api.get(f"/partners/{earner}/statement?kind=bonus").status_code == 422
