"""Refusals on the earning routes: the right problem, and nothing written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import count_events
from tests.e2e.helpers import Api, apply, create_plan, deal_body, problem_type, usd

LONG_AGO = (datetime.now(UTC) - timedelta(days=200)).isoformat()


@pytest.fixture
def partner_id(api: Api) -> str:
    plan = create_plan(api, occurred_at=LONG_AGO)
    pid = apply(api)["id"]
    api.post(f"/partners/{pid}/approve", {"plan_id": plan, "occurred_at": LONG_AGO})
    return str(pid)


@pytest.mark.parametrize(("body", "field", "kind"), [
    ({"estimated_value": usd("100.00", "EUR")}, None, "currency-mismatch"),
    ({"estimated_value": usd("100.001")}, "estimated_value.amount", "validation-error"),
    ({"estimated_value": usd("-1.00")}, "estimated_value.amount", "validation-error"),
    ({"estimated_value": {"amount": 100, "currency": "USD"}}, "estimated_value.amount",
     "validation-error"),
    ({"customer": {"name": "Acme", "domain": "not a domain"}}, "customer.domain",
     "validation-error"),
    ({"customer": {"name": "Acme"}}, "customer.domain", "validation-error"),
])
def test_bad_deal_registrations_are_422_and_write_nothing(
    api: Api, partner_id: str, body: dict[str, Any], field: str | None, kind: str
) -> None:
    before = count_events(api.services)
    response = api.post("/deals", deal_body(partner_id) | body)
    assert response.status_code == 422, response.get_json()
    assert problem_type(response) == kind
    if field:
        assert field in response.get_json()["errors"]
    assert count_events(api.services) == before


def test_a_deal_conflict_is_a_409_naming_the_holder_and_is_recorded_for_audit(
    api: Api, partner_id: str
) -> None:
    first = api.post("/deals", deal_body(partner_id, "www.Acme.example")).get_json()
    plan = create_plan(api, name="other")
    other = apply(api)["id"]
    api.post(f"/partners/{other}/approve", {"plan_id": plan})
    before = count_events(api.services)
    refused = api.post("/deals", deal_body(other, "acme.example"))
    assert refused.status_code == 409
    assert problem_type(refused) == "deal-conflict"
    assert refused.get_json()["conflicting_deal_id"] == first["id"]
    assert count_events(api.services) == before + 1  # the audit record, nothing else
    topics = [n.topic for n in api.services.app.recorder.select_notifications(before + 1, 10)]
    assert topics == ["domain.deals:DomainRegistration.ConflictRecorded"]
    assert api.get(f"/partners/{other}/deals").get_json()["items"] == []


def test_conversions_after_the_window_are_409_attribution_expired(
    api: Api, partner_id: str
) -> None:
    referral = api.post("/referrals", {"partner_id": partner_id, "occurred_at": LONG_AGO,
                                       "lead": {"email": "a@lead.example", "company": "L"}})
    referral_id = referral.get_json()["id"]
    before = count_events(api.services)
    response = api.post(f"/referrals/{referral_id}/convert", {"customer_id": "cust-1"})
    assert response.status_code == 409
    assert problem_type(response) == "attribution-expired"
    assert count_events(api.services) == before
    assert api.get(f"/referrals/{referral_id}").get_json()["status"] == "expired"


def test_duplicate_leads_payments_and_refunds(api: Api, partner_id: str) -> None:
    api.post("/referrals", {"partner_id": partner_id,
                            "lead": {"email": "lead@x.example", "company": "X"}})
    dup = api.post("/referrals", {"partner_id": partner_id,
                                  "lead": {"email": "LEAD@x.example", "company": "X"}})
    assert (dup.status_code, problem_type(dup)) == (409, "duplicate")
    first = api.post("/payments", {"id": "in_1", "customer_id": "c1", "amount": usd("10.00")})
    assert first.status_code == 201
    before = count_events(api.services)
    same = api.post("/payments", {"id": "in_1", "customer_id": "c1", "amount": usd("10.00")})
    assert same.status_code == 200
    assert same.get_json()["id"] == "in_1"
    other = api.post("/payments", {"id": "in_1", "customer_id": "c1", "amount": usd("10.01")})
    assert (other.status_code, problem_type(other)) == (409, "duplicate")
    missing = api.post("/refunds", {"id": "re_1", "payment_id": "in_404", "amount": usd("1")})
    assert missing.status_code == 404
    bad_id = api.post("/payments", {"id": "in 1", "customer_id": "c1", "amount": usd("1")})
    assert bad_id.status_code == 422
    assert count_events(api.services) == before


def test_partner_keys_act_and_read_for_themselves_only(api: Api, partner_id: str) -> None:
    token = api.partner_token(partner_id)
    other = apply(api)["id"]
    forbidden = api.post("/deals", deal_body(other), token=token)
    assert (forbidden.status_code, problem_type(forbidden)) == (403, "forbidden")
    assert api.post("/referrals", {"partner_id": other, "lead": {
        "email": "q@q.example", "company": "Q"}}, token=token).status_code == 403
    assert api.post(f"/partners/{other}/points/redemptions", {"points": 1, "reward": "x"},
                    token=token).status_code == 404
    own = api.post("/deals", deal_body(partner_id), token=token)
    assert own.status_code == 201
    deal_id = own.get_json()["id"]
    for action, body in (("approve", {}), ("reject", {}), ("close-lost", {}),
                         ("close-won", {"amount": usd("1"), "new_customer": True})):
        assert api.post(f"/deals/{deal_id}/{action}", body, token=token).status_code == 403
    for path in ("/payments", "/refunds"):
        assert api.post(path, {}, token=token).status_code == 403
    assert api.get(f"/partners/{other}/standing", token=token).status_code == 404
    assert api.get(f"/partners/{other}/deals", token=token).status_code == 404
    assert api.get(f"/partners/{partner_id}/standing", token=token).status_code == 200
    assert api.get(f"/deals/{deal_id}", token=api.auditor).status_code == 200
    assert api.post("/deals", deal_body(partner_id, "b.example"),
                    token=api.auditor).status_code == 403
    theirs = api.post("/deals", deal_body(str(other), "c.example"))
    assert theirs.status_code == 409  # the other partner is only applied: it cannot register
    assert api.get(f"/deals/{uuid.uuid4()}", token=token).status_code == 404


def test_redemptions_beyond_the_balance_are_409(api: Api, partner_id: str) -> None:
    before = count_events(api.services)
    response = api.post(f"/partners/{partner_id}/points/redemptions",
                        {"points": 1, "reward": "mug"})
    assert (response.status_code, problem_type(response)) == (409, "insufficient-points")
    assert count_events(api.services) == before
    assert api.post(f"/partners/{partner_id}/points/redemptions",
                    {"points": 0, "reward": "mug"}).status_code == 422
