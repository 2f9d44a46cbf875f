"""The auth matrix, idempotent replays, the OpenAPI document and the operations routes."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from adapters.clock import utc_now
from tests.conftest import count_events
from tests.e2e.helpers import Api, apply, create_plan, problem_type
from tests.factories import partner_body, plan_body

# (method, path template, body) for every route of this slice; {pid} and {plan} are filled in
COMMANDS = [
    ("POST", "/plans", "plan"),
    ("POST", "/plans/{plan}/revisions", {"hold_days": 10}),
    ("POST", "/partners", "partner"),
    ("POST", "/partners/{pid}/approve", {"plan_id": "{plan}"}),
    ("POST", "/partners/{pid}/reject", {}),
    ("POST", "/partners/{pid}/suspend", {}),
    ("POST", "/partners/{pid}/reactivate", {}),
    ("POST", "/partners/{pid}/terminate", {}),
]
READS = ["/partners", "/partners/{pid}", "/plans/{plan}"]


def fill(template: Any, ids: dict[str, str]) -> Any:
    if template == "plan":
        return plan_body()
    if template == "partner":
        return partner_body()
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    if isinstance(template, str):
        return template.format(**ids)
    return template


@pytest.fixture
def ids(api: Api) -> dict[str, str]:
    plan = create_plan(api)
    pid = apply(api)["id"]
    api.post(f"/partners/{pid}/approve", {"plan_id": plan})
    return {"plan": plan, "pid": pid}


@pytest.mark.parametrize(("method", "path", "body"), COMMANDS)
def test_commands_without_a_token_are_401_and_with_a_bad_one_too(
    api: Api, ids: dict[str, str], method: str, path: str, body: Any
) -> None:
    before = count_events(api.services)
    for token in (None, "pl_not-a-real-token", "garbage"):
        response = api.post(fill(path, ids), fill(body, ids), token=token)
        assert response.status_code == 401
        assert problem_type(response) == "unauthorized"
        assert "Bearer" in response.headers["WWW-Authenticate"]
    assert count_events(api.services) == before


@pytest.mark.parametrize(("method", "path", "body"), COMMANDS)
def test_auditors_and_partners_may_not_run_internal_commands(
    api: Api, ids: dict[str, str], method: str, path: str, body: Any
) -> None:
    partner_token = api.partner_token(ids["pid"])
    before = count_events(api.services)
    for token in (api.auditor, partner_token):
        response = api.post(fill(path, ids), fill(body, ids), token=token)
        assert response.status_code == 403
        assert problem_type(response) == "forbidden"
    assert count_events(api.services) == before


def test_a_forbidden_command_is_403_before_its_body_is_even_parsed(
    api: Api, ids: dict[str, str]
) -> None:
    response = api.client.post("/partners", data="{broken",
                               headers=api.headers(api.auditor, Content_Type="application/json"))
    assert response.status_code == 403


@pytest.mark.parametrize("path", READS)
def test_internal_and_auditor_keys_read_everything(
    api: Api, ids: dict[str, str], path: str
) -> None:
    for token in (api.internal, api.auditor):
        assert api.get(fill(path, ids), token=token).status_code == 200
    assert api.get(fill(path, ids), token=None).status_code == 401


def test_a_partner_key_reads_only_its_own_partner_and_plan(
    api: Api, ids: dict[str, str]
) -> None:
    own = api.partner_token(ids["pid"])
    other_plan = create_plan(api, name="Other")
    other = apply(api)["id"]
    api.post(f"/partners/{other}/approve", {"plan_id": other_plan})
    assert api.get(f"/partners/{ids['pid']}", token=own).status_code == 200
    hidden = api.get(f"/partners/{other}", token=own)
    assert hidden.status_code == 404
    assert problem_type(hidden) == "not-found"
    listed = api.get("/partners", token=own).get_json()["items"]
    assert [p["id"] for p in listed] == [ids["pid"]]
    assert api.get(f"/plans/{ids['plan']}", token=own).status_code == 200
    assert api.get(f"/plans/{other_plan}", token=own).status_code == 404


def test_a_revoked_key_is_401(api: Api) -> None:
    principal, token = api.services.keys.create("internal", None, utc_now())
    assert api.get("/partners", token=token).status_code == 200
    assert api.services.keys.revoke(principal.key_id, utc_now())
    assert api.get("/partners", token=token).status_code == 401


def test_tokens_are_stored_hashed(api: Api) -> None:
    with api.services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT token_hash FROM api_keys")
        stored = [row["token_hash"] for row in cursor.fetchall()]
    assert api.internal not in stored
    assert all(len(h) == 64 for h in stored)


def test_the_same_key_and_body_replays_the_first_response_and_writes_nothing(api: Api) -> None:
    body = partner_body()
    first = api.post("/partners", body, Idempotency_Key="apply-1")
    assert first.status_code == 201
    before = count_events(api.services)
    again = api.post("/partners", body, Idempotency_Key="apply-1")
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_events(api.services) == before


def test_the_same_key_with_another_body_is_a_409(api: Api) -> None:
    api.post("/partners", partner_body(), Idempotency_Key="apply-2")
    before = count_events(api.services)
    other = api.post("/partners", partner_body(), Idempotency_Key="apply-2")
    assert other.status_code == 409
    assert problem_type(other) == "idempotency-key-reused"
    assert count_events(api.services) == before


def test_keys_are_scoped_to_the_api_key_that_used_them(api: Api) -> None:
    _, second_internal = api.services.keys.create("internal", None, utc_now())
    assert api.post("/partners", partner_body(), Idempotency_Key="k").status_code == 201
    response = api.post("/partners", partner_body(), token=second_internal, Idempotency_Key="k")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def test_a_transition_replayed_by_key_does_not_become_a_409(api: Api, ids: dict[str, str]) -> None:
    first = api.post(f"/partners/{ids['pid']}/suspend", {"reason": "x"}, Idempotency_Key="s1")
    again = api.post(f"/partners/{ids['pid']}/suspend", {"reason": "x"}, Idempotency_Key="s1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json()["position"] == first.get_json()["position"]
    plain = api.post(f"/partners/{ids['pid']}/suspend", {"reason": "x"})
    assert plain.status_code == 409


def test_a_refused_request_records_no_key_so_a_corrected_retry_is_not_replayed(
    api: Api,
) -> None:
    bad = api.post("/partners", partner_body(country="XX"), Idempotency_Key="retry")
    assert bad.status_code == 422
    assert api.post("/partners", partner_body(), Idempotency_Key="retry").status_code == 201


def test_concurrent_requests_with_one_key_write_once(api: Api, flask_app: Any) -> None:
    body = partner_body()
    statuses: list[int] = []
    positions: list[int] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        client = flask_app.test_client()
        barrier.wait()
        response = client.post("/partners", json=body, headers={
            "Authorization": f"Bearer {api.internal}", "Idempotency-Key": "race"})
        statuses.append(response.status_code)
        positions.append(response.get_json().get("position"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 4
    assert len(set(positions)) == 1
    listed = api.get("/partners").get_json()["items"]
    assert [p["email"] for p in listed].count(body["email"]) == 1


def test_openapi_describes_every_route(api: Api, flask_app: Any) -> None:
    spec = api.client.get("/openapi.json").get_json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete")}
    served = set()
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint in ("static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui",
                             "docs_assets", "portal", "portal_assets", "favicon"):  # pages
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(m, path) for m in rule.methods if m not in ("HEAD", "OPTIONS")}
    assert served <= documented
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    error_schema = spec["components"]["schemas"]["Problem"]
    assert set(error_schema["properties"]) >= {"type", "title", "status", "detail", "errors"}


def test_health_readiness_and_metrics_need_no_token(api: Api, ids: dict[str, str]) -> None:
    assert api.get("/healthz", token=None).get_json() == {"status": "ok"}
    ready = api.get("/readyz", token=None).get_json()
    assert ready["status"] == "ready"
    assert ready["projections"]["partner_directory"]["lag"] == 0
    metrics = api.get("/metrics", token=None).data.decode()
    assert "partnerledger_http_requests_total" in metrics
    assert 'partnerledger_projection_position{projection="partner_directory"}' in metrics


def test_unknown_routes_are_problem_json_404(api: Api) -> None:
    response = api.get("/nowhere")
    assert response.status_code == 404
    assert problem_type(response) == "not-found"
