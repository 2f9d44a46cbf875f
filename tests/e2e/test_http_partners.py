"""The partner and plan routes over HTTP, on both stores."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from adapters.settings import Settings
from api.bootstrap import build_services
from domain import commands as c
from tests.conftest import count_events
from tests.e2e.helpers import Api, apply, create_plan, problem_type
from tests.factories import partner_body, plan_body


def test_a_partner_applies_is_approved_and_reads_back_at_the_command_position(api: Api) -> None:
    plan_id = create_plan(api)
    partner = apply(api, email="Ops@Northwind.example")
    assert partner["status"] == "applied"
    assert partner["email"] == "ops@northwind.example"
    assert partner["tier"] == "registered"
    approved = api.post(f"/partners/{partner['id']}/approve", {"plan_id": plan_id})
    assert approved.status_code == 200
    body = approved.get_json()
    assert (body["status"], body["plan_id"]) == ("active", plan_id)
    assert body["position"] > partner["position"]
    # single process: the read right after the command already reflects it
    read = api.get(f"/partners/{partner['id']}").get_json()
    assert read["status"] == "active"
    assert read["position"] >= body["position"]
    assert {k: read[k] for k in ("id", "name", "email", "company", "type", "country", "status",
                                 "tier", "plan_id")} == \
        {k: body[k] for k in ("id", "name", "email", "company", "type", "country", "status",
                              "tier", "plan_id")}


def test_the_full_lifecycle_over_http(api: Api) -> None:
    plan_id = create_plan(api)
    pid = apply(api)["id"]
    steps = [("approve", {"plan_id": plan_id}, "active"), ("suspend", {"reason": "review"},
             "suspended"), ("reactivate", None, "active"), ("suspend", {}, "suspended"),
             ("terminate", {"reason": "contract ended"}, "terminated")]
    for action, body, status in steps:
        response = api.post(f"/partners/{pid}/{action}", body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
    final = api.get(f"/partners/{pid}").get_json()
    assert (final["status"], final["status_reason"], final["version"]) == \
        ("terminated", "contract ended", 6)


@pytest.mark.parametrize(("path_action", "body"), [
    ("approve", None), ("reject", {}), ("suspend", {}), ("reactivate", {}), ("terminate", {})])
def test_illegal_transitions_are_409_and_write_nothing(
    api: Api, path_action: str, body: dict[str, Any] | None
) -> None:
    plan_id = create_plan(api)
    pid = apply(api)["id"]
    api.post(f"/partners/{pid}/reject", {"reason": "not a fit"})
    before = count_events(api.services)
    response = api.post(f"/partners/{pid}/{path_action}",
                        {"plan_id": plan_id} if path_action == "approve" else body)
    assert response.status_code == 409
    assert problem_type(response) == "invalid-transition"
    assert response.get_json()["current_status"] == "rejected"
    assert count_events(api.services) == before


def test_a_second_open_application_with_one_email_is_a_409_duplicate(api: Api) -> None:
    first = apply(api, email="dup@acme.example")
    before = count_events(api.services)
    response = api.post("/partners", partner_body(email="DUP@acme.example"))
    assert response.status_code == 409
    assert problem_type(response) == "duplicate"
    assert count_events(api.services) == before
    api.post(f"/partners/{first['id']}/reject", {})
    assert api.post("/partners", partner_body(email="dup@acme.example")).status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    (partner_body(type="influencer"), "type"),
    (partner_body(country="XX"), "country"),
    (partner_body(country="gb"), "country"),
    (partner_body(email="not-an-email"), "email"),
    (partner_body(name=""), "name"),
    (partner_body(id="not-a-uuid"), "id"),
    (partner_body(occurred_at="2026-01-01T00:00:00"), "occurred_at"),
    (partner_body(unexpected="field"), "unexpected"),
    ({k: v for k, v in partner_body().items() if k != "company"}, "company"),
])
def test_schema_violations_are_422_with_field_messages(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = count_events(api.services)
    response = api.post("/partners", body)
    assert response.status_code == 422
    assert problem_type(response) == "validation-error"
    assert field in response.get_json()["errors"]
    assert count_events(api.services) == before


@pytest.mark.parametrize(("overrides", "field"), [
    ({"deal_rate": 0.15}, "deal_rate"),
    ({"deal_rate": "1.5"}, "deal_rate"),
    ({"currency": "usd"}, "currency"),
    ({"min_payout": {"amount": "50.001", "currency": "USD"}}, "min_payout.amount"),
    ({"min_payout": {"amount": 50, "currency": "USD"}}, "min_payout.amount"),
    ({"referral_months": "12"}, "referral_months"),
    ({"hold_days": -1}, "hold_days"),
])
def test_plan_field_errors_are_422(api: Api, overrides: dict[str, Any], field: str) -> None:
    response = api.post("/plans", plan_body(**overrides))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    assert count_events(api.services) == 0


def test_plan_rules_beyond_field_shapes_are_422_too(api: Api) -> None:
    descending = plan_body(tiers=[
        {"name": "gold", "threshold": {"amount": "50000", "currency": "USD"}, "bonus_rate": "0.05"},
        {"name": "silver", "threshold": {"amount": "10000", "currency": "USD"},
         "bonus_rate": "0.02"}])
    response = api.post("/plans", descending)
    assert response.status_code == 422
    assert "tiers" in response.get_json()["errors"]
    wrong_currency = api.post("/plans", plan_body(min_payout={"amount": "5", "currency": "EUR"}))
    assert wrong_currency.status_code == 422
    assert count_events(api.services) == 0


def test_plan_revisions_add_versions_and_keep_history(api: Api) -> None:
    plan_id = create_plan(api, occurred_at="2026-01-01T00:00:00Z")
    revised = api.post(f"/plans/{plan_id}/revisions",
                       {"deal_rate": "0.18", "occurred_at": "2026-04-01T00:00:00+00:00"})
    assert revised.status_code == 201
    body = revised.get_json()
    assert (body["version"], body["deal_rate"], body["referral_rate"]) == (2, "0.18", "0.20")
    assert [v["deal_rate"] for v in body["versions"]] == ["0.15", "0.18"]
    earlier = api.post(f"/plans/{plan_id}/revisions",
                       {"deal_rate": "0.2", "occurred_at": "2026-02-01T00:00:00Z"})
    assert earlier.status_code == 422
    assert "occurred_at" in earlier.get_json()["errors"]
    assert api.post(f"/plans/{plan_id}/revisions", {}).status_code == 422
    assert api.post(f"/plans/{plan_id}/revisions", {"currency": "EUR"}).status_code == 422
    assert api.post(f"/plans/{uuid.uuid4()}/revisions", {"hold_days": 1}).status_code == 404
    read = api.get(f"/plans/{plan_id}").get_json()
    assert len(read["versions"]) == 2


def test_malformed_json_is_400_and_unknown_ids_are_404(api: Api) -> None:
    response = api.client.post("/partners", data="{not json",
                               headers=api.headers(api.internal, Content_Type="application/json"))
    assert response.status_code == 400
    assert problem_type(response) == "malformed-json"
    missing = api.get(f"/partners/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert problem_type(missing) == "not-found"
    assert api.post(f"/partners/{uuid.uuid4()}/suspend", {}).status_code == 404
    assert api.get("/partners/not-a-uuid").status_code == 404
    plan_id = create_plan(api)
    assert api.post(f"/partners/{uuid.uuid4()}/approve", {"plan_id": plan_id}).status_code == 404


def test_approval_on_an_unknown_plan_is_404(api: Api) -> None:
    pid = apply(api)["id"]
    response = api.post(f"/partners/{pid}/approve", {"plan_id": str(uuid.uuid4())})
    assert response.status_code == 404


def test_client_supplied_ids_are_used_and_reuse_is_a_409(api: Api) -> None:
    wanted = str(uuid.uuid4())
    assert apply(api, id=wanted)["id"] == wanted
    again = api.post("/partners", partner_body(id=wanted))
    assert again.status_code == 409
    assert problem_type(again) == "duplicate"


def test_directory_filters_and_pages(api: Api) -> None:
    plan_id = create_plan(api)
    ids = [apply(api, name=f"P{n}")["id"] for n in range(7)]
    for pid in ids[:4]:
        api.post(f"/partners/{pid}/approve", {"plan_id": plan_id})
    api.post(f"/partners/{ids[0]}/suspend", {})
    seen: list[str] = []
    cursor = None
    while True:
        query = "/partners?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query).get_json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    active = api.get("/partners?status=active").get_json()["items"]
    assert [p["id"] for p in active] == ids[1:4]
    assert [p["id"] for p in api.get("/partners?status=suspended").get_json()["items"]] == ids[:1]
    assert len(api.get("/partners?tier=registered").get_json()["items"]) == 7
    assert api.get("/partners?tier=gold").get_json()["items"] == []
    assert api.get("/partners?status=sleeping").status_code == 422
    assert api.get("/partners?limit=0").status_code == 422
    assert api.get("/partners?cursor=bogus").status_code == 422


def test_min_position_waits_for_writes_made_by_another_process(
    api: Api, database_url: str
) -> None:
    other = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        pid = uuid.uuid4()
        outcome = other.app.execute(c.ApplyPartner(None, pid, "Elsewhere", "e@else.example",
                                                   "Else", "agency", "NL"))
    finally:
        other.close()
    assert api.get(f"/partners/{pid}").status_code == 404  # not projected yet
    waited = api.get(f"/partners/{pid}?min_position={outcome.position}")
    assert waited.status_code == 200
    assert waited.get_json()["position"] >= outcome.position
    beyond = api.get(f"/partners/{pid}?min_position={outcome.position + 1000}")
    assert beyond.status_code == 503
    assert problem_type(beyond) == "projection-behind"
    assert beyond.headers["Retry-After"] == "1"


def test_every_read_and_command_reports_a_position(api: Api) -> None:
    plan_id = create_plan(api)
    pid = apply(api)["id"]
    for path in ("/partners", f"/partners/{pid}", f"/plans/{plan_id}"):
        assert isinstance(api.get(path).get_json()["position"], int), path
