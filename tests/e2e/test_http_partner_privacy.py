"""A partner key learns nothing about other partners, and stops working once its partner is
rejected or terminated, in every process."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.settings import Settings
from api.bootstrap import build_services
from domain import commands as c
from domain.partners import EmailClaim
from tests.conftest import count_events
from tests.e2e.helpers import (
    Api,
    active_partner,
    apply,
    create_plan,
    deal_body,
    ok,
    problem_type,
)

LONG_AGO = (datetime.now(UTC) - timedelta(days=200)).isoformat()


def referral_body(pid: str, email: str) -> dict[str, Any]:
    return {"partner_id": pid, "lead": {"email": email, "company": "Lead Co"}}


@pytest.fixture
def two_partners(api: Api) -> tuple[str, str]:
    plan = create_plan(api, occurred_at=LONG_AGO)
    return active_partner(api, plan, LONG_AGO), active_partner(api, plan, LONG_AGO)


def assert_tells_nothing_of(body: dict[str, Any], *secrets: str) -> None:
    text = json.dumps(body)
    for secret in secrets:
        assert secret not in text, (secret, body)


def test_a_deal_conflict_tells_another_partner_nothing_of_the_holder(
    api: Api, two_partners: tuple[str, str]
) -> None:
    holder, other = two_partners
    held = ok(api.post("/deals", deal_body(holder, "acme.example"),
                       token=api.partner_token(holder)), 201)

    refused = api.post("/deals", deal_body(other, "www.ACME.example"),
                       token=api.partner_token(other))
    assert refused.status_code == 409
    assert problem_type(refused) == "deal-conflict"
    body = refused.get_json()
    assert "conflicting_deal_id" not in body
    assert "acme.example" in body["detail"]
    assert_tells_nothing_of(body, held["id"], holder, held["protected_until"],
                            held["protected_until"][:10])

    # its own registration is fine to name, and staff see the holder
    again = api.post("/deals", deal_body(holder, "acme.example"),
                     token=api.partner_token(holder)).get_json()
    assert again["conflicting_deal_id"] == held["id"]
    for token in (api.internal,):
        staff = api.post("/deals", deal_body(other, "acme.example"), token=token).get_json()
        assert staff["conflicting_deal_id"] == held["id"]
        assert held["id"] in staff["detail"]


def test_a_duplicate_lead_tells_another_partner_nothing_of_the_holder(
    api: Api, two_partners: tuple[str, str]
) -> None:
    holder, other = two_partners
    held = ok(api.post("/referrals", referral_body(holder, "cto@lead.example"),
                       token=api.partner_token(holder)), 201)

    refused = api.post("/referrals", referral_body(other, "CTO@lead.example"),
                       token=api.partner_token(other))
    assert refused.status_code == 409
    assert problem_type(refused) == "duplicate"
    body = refused.get_json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert_tells_nothing_of(body, held["id"], holder, held["attribution_expires_at"],
                            held["attribution_expires_at"][:10])

    own = api.post("/referrals", referral_body(holder, "cto@lead.example"),
                   token=api.partner_token(holder)).get_json()
    assert own["existing_referral_id"] == held["id"]
    staff = api.post("/referrals", referral_body(other, "cto@lead.example")).get_json()
    assert staff["existing_referral_id"] == held["id"]


def test_another_partners_resources_look_exactly_like_missing_ones(
    api: Api, two_partners: tuple[str, str]
) -> None:
    holder, other = two_partners
    deal = ok(api.post("/deals", deal_body(holder, "acme.example")), 201)["id"]
    referral = ok(api.post("/referrals", referral_body(holder, "a@lead.example")), 201)["id"]
    agreement = ok(api.post("/royalty-agreements", {
        "partner_id": holder, "currency": "USD", "starts_on": "2025-01-01",
        "schedule": [{"up_to": None, "rate": "0.05"}]}), 201)["id"]
    other_plan = create_plan(api, name="Other plan")
    token = api.partner_token(other)
    paths = [f"/deals/{deal}", f"/referrals/{referral}", f"/royalty-agreements/{agreement}",
             f"/plans/{other_plan}", f"/partners/{holder}", f"/partners/{holder}/standing",
             f"/partners/{holder}/balances", f"/partners/{holder}/statement",
             f"/partners/{holder}/payouts", f"/partners/{holder}/deals",
             f"/partners/{holder}/referrals"]
    for path in paths:
        existing = api.get(path, token=token)
        real_id = next(part for part in path.split("/") if len(part) == 36)
        missing_id = str(uuid.uuid4())
        missing = api.get(path.replace(real_id, missing_id), token=token)
        assert existing.status_code == missing.status_code == 404, path
        assert json.dumps(existing.get_json()).replace(real_id, "ID") == \
            json.dumps(missing.get_json()).replace(missing_id, "ID"), path


def test_a_rejected_partners_key_stops_working_at_once(api: Api) -> None:
    pid = str(apply(api)["id"])
    token = api.partner_token(pid)
    assert api.get(f"/partners/{pid}", token=token).status_code == 200
    ok(api.post(f"/partners/{pid}/reject", {"reason": "not a fit"}))
    refused = api.get(f"/partners/{pid}", token=token)
    assert refused.status_code == 401
    assert problem_type(refused) == "unauthorized"
    assert api.post("/deals", deal_body(pid, "acme.example"), token=token).status_code == 401


def test_a_terminated_partners_key_stops_working_a_suspended_ones_does_not(api: Api) -> None:
    plan = create_plan(api)
    pid = active_partner(api, plan, LONG_AGO)
    token = api.partner_token(pid)
    ok(api.post(f"/partners/{pid}/suspend", {"reason": "review"}))
    assert api.get(f"/partners/{pid}/standing", token=token).status_code == 200
    ok(api.post(f"/partners/{pid}/reactivate", {}))
    assert api.get(f"/partners/{pid}/standing", token=token).status_code == 200
    ok(api.post(f"/partners/{pid}/terminate", {"reason": "contract ended"}))
    for path in (f"/partners/{pid}", f"/partners/{pid}/standing", f"/partners/{pid}/statement",
                 "/partners"):
        assert api.get(path, token=token).status_code == 401, path
    # staff keep reading the terminated partner
    assert api.get(f"/partners/{pid}").get_json()["status"] == "terminated"


def test_a_termination_recorded_by_another_process_closes_the_key_here(
    api: Api, database_url: str
) -> None:
    plan = create_plan(api)
    pid = active_partner(api, plan, LONG_AGO)
    token = api.partner_token(pid)
    assert api.get(f"/partners/{pid}", token=token).status_code == 200
    # the Kafka ingestion worker runs its own services on the same store
    worker = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        outcome = worker.app.execute(c.TerminatePartner(None, uuid.UUID(pid), "from billing"))
        assert outcome.error is None
    finally:
        worker.close()
    assert api.get(f"/partners/{pid}", token=token).status_code == 401


def test_a_partner_key_cannot_probe_derived_ids_for_other_partners_records(
    api: Api, two_partners: tuple[str, str]
) -> None:
    holder, other = two_partners
    token = api.partner_token(other)
    holder_email = api.get(f"/partners/{holder}").get_json()["email"]
    before = count_events(api.services)
    for probe in (EmailClaim.id_for(holder_email), EmailClaim.id_for("nobody@x.example")):
        for path, body in (("/deals", deal_body(other, "probe.example")),
                           ("/referrals", referral_body(other, "probe@lead.example"))):
            answer = api.post(path, {**body, "id": str(probe)}, token=token)
            assert answer.status_code == 422, answer.get_json()
            assert "id" in answer.get_json()["errors"]
    assert count_events(api.services) == before
    own = ok(api.post("/deals", {**deal_body(other, "mine.example"), "id": str(uuid.uuid4())},
                      token=token), 201)
    assert own["partner_id"] == other
    staff = api.post("/deals", {**deal_body(holder, "staff.example"),
                                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "crm:deal:1"))})
    assert staff.status_code == 201  # internal services may derive their ids
