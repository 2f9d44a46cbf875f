"""PATCH /partners/{id}: name, company and country corrected, the history kept."""

from __future__ import annotations

from tests.conftest import count_events
from tests.e2e.helpers import Api, active_partner, apply, at, create_plan, ok, problem_type


def test_a_partner_is_corrected_and_the_directory_follows(api: Api) -> None:
    pid = active_partner(api, create_plan(api, occurred_at=at(10)), at(9))
    changed = ok(api.client.patch(f"/partners/{pid}", json={"name": "Ada Lovelace",
                                                             "country": "FR"},
                                  headers=api.headers(api.internal)))
    assert (changed["name"], changed["company"], changed["country"]) == \
        ("Ada Lovelace", "Ada Ltd", "FR")
    read = ok(api.get(f"/partners/{pid}?min_position={changed['position']}"))
    assert (read["name"], read["country"], read["email"]) == \
        ("Ada Lovelace", "FR", changed["email"])
    listed = ok(api.get("/partners"))["items"]
    assert [p["name"] for p in listed if p["id"] == pid] == ["Ada Lovelace"]
    # the same values again: nothing recorded
    events = count_events(api.services)
    again = api.client.patch(f"/partners/{pid}", json={"name": "Ada Lovelace"},
                             headers=api.headers(api.internal))
    assert again.status_code == 200 and count_events(api.services) == events
    # the audit trail keeps what it was
    history = ok(api.get(f"/audit/streams/{pid}/events", token=api.auditor))["items"]
    [edit] = [e for e in history if e["type"].endswith("DetailsChanged")]
    assert edit["data"]["previous"] == {"name": "Ada Partner", "country": "GB"}


def test_bad_and_forbidden_edits_write_nothing(api: Api) -> None:
    pid = active_partner(api, create_plan(api, occurred_at=at(10)), at(9))
    rejected = apply(api, occurred_at=at(5))["id"]
    ok(api.post(f"/partners/{rejected}/reject", {"reason": "no"}))
    events = count_events(api.services)
    token = api.partner_token(pid)
    for body, token_used, status, kind in [
        ({}, api.internal, 422, "validation-error"),
        ({"country": "XX"}, api.internal, 422, "validation-error"),
        ({"name": ""}, api.internal, 422, "validation-error"),
        ({"email": "new@x.example"}, api.internal, 422, "validation-error"),
        ({"name": "x" * 201}, api.internal, 422, "validation-error"),
        ({"name": "Me"}, token, 403, "forbidden"),
    ]:
        answer = api.client.patch(f"/partners/{pid}", json=body,
                                  headers=api.headers(token_used))
        assert (answer.status_code, problem_type(answer)) == (status, kind), body
    closed = api.client.patch(f"/partners/{rejected}", json={"name": "Again"},
                              headers=api.headers(api.internal))
    assert (closed.status_code, problem_type(closed)) == (409, "invalid-transition")
    missing = api.client.patch("/partners/3f0c2d9e-6b1b-4c56-9a39-0d5d5a1c1b11",
                               json={"name": "Nobody"}, headers=api.headers(api.internal))
    assert (missing.status_code, problem_type(missing)) == (404, "not-found")
    assert count_events(api.services) == events
