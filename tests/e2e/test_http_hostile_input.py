"""Inputs that must be refused with a 4xx and write nothing, never crash into a 500."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from api.services import Services
from domain import commands as c
from domain.partners import EmailClaim
from domain.plans import Plan
from projections.partner_directory import PartnerDirectory
from tests.conftest import count_events
from tests.e2e.helpers import Api, apply, create_plan, problem_type
from tests.factories import partner_body, plan_body, terms


@pytest.mark.parametrize("text", ["a\u0000b", "\ud800", "ok\udfffok"])
@pytest.mark.parametrize("field", ["name", "company", "email"])
def test_unstorable_text_is_a_422(api: Api, text: str, field: str) -> None:
    response = api.post("/partners", partner_body(**{field: text}))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert count_events(api.services) == 0


def test_unstorable_text_in_nested_fields_and_queries_is_a_422(api: Api) -> None:
    tiers = [{"name": "g\u0000", "threshold": {"amount": "1", "currency": "USD"},
              "bonus_rate": "0.1"}]
    response = api.post("/plans", plan_body(tiers=tiers))
    assert response.status_code == 422
    assert "tiers.0.name" in response.get_json()["errors"]
    assert api.get("/partners?tier=%00").status_code == 422
    assert count_events(api.services) == 0


@pytest.mark.parametrize("amount", ["1" * 16, "1" * 27, "0." + "0" * 13 + "1"])
def test_absurdly_long_amounts_are_a_422(api: Api, amount: str) -> None:
    response = api.post("/plans", plan_body(min_payout={"amount": amount, "currency": "USD"}))
    assert response.status_code == 422
    assert "min_payout.amount" in response.get_json()["errors"]


def test_a_forged_cursor_is_a_422(api: Api) -> None:
    huge = base64.urlsafe_b64encode(b"seq:99999999999999999999").decode().rstrip("=")
    assert api.get(f"/partners?cursor={huge}").status_code == 422
    assert api.get("/partners?cursor=" + "A" * 5000).status_code == 422


def test_small_rates_come_back_in_plain_digits_and_negative_zero_is_zero(api: Api) -> None:
    plan = api.post("/plans", plan_body(deal_rate="0.0000001", referral_rate="-0",
                                        min_payout={"amount": "-0.00", "currency": "USD"}))
    body = plan.get_json()
    assert (body["deal_rate"], body["referral_rate"]) == ("0.0000001", "0")
    assert body["min_payout"] == {"amount": "0.00", "currency": "USD"}
    again = api.post(f"/plans/{body['id']}/revisions", {"deal_rate": body["deal_rate"]})
    assert again.status_code == 201


def test_a_client_id_equal_to_an_email_claim_id_is_a_409_not_a_500(api: Api) -> None:
    email = f"{uuid.uuid4().hex}@claims.example"
    claim_id = str(EmailClaim.id_for(email))
    assert api.post("/plans", plan_body(id=claim_id)).status_code == 201
    response = api.post("/partners", partner_body(email=email))
    assert response.status_code == 409
    assert problem_type(response) == "duplicate"
    own = f"{uuid.uuid4().hex}@claims.example"
    self_collision = api.post("/partners", partner_body(email=own,
                                                        id=str(EmailClaim.id_for(own))))
    assert self_collision.status_code == 409
    assert api.post("/partners", partner_body(email=own)).status_code == 201


def test_a_failing_projection_makes_min_position_reads_503_not_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("read model is broken")

    partner = apply(api)
    monkeypatch.setattr(PartnerDirectory, "apply", broken)
    created = api.post("/partners", partner_body())
    assert created.status_code == 201  # the command is saved; the read model lags
    response = api.get(f"/partners?min_position={created.get_json()['position']}")
    assert response.status_code == 503
    assert problem_type(response) == "projection-behind"
    assert api.get("/readyz", token=None).status_code == 503
    monkeypatch.undo()
    assert api.get(f"/partners/{partner['id']}").status_code == 200
    assert api.get(f"/partners?min_position={created.get_json()['position']}").status_code == 200
    assert api.get("/readyz", token=None).status_code == 200


def test_min_position_past_the_end_of_the_log_answers_at_once(api: Api) -> None:
    create_plan(api)
    response = api.get("/partners?min_position=1000000")
    assert response.status_code == 503
    assert "has not been written yet" in response.get_json()["detail"]


def test_a_lost_commit_acknowledgement_does_not_apply_a_command_twice(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = uuid.uuid4()
    services.app.execute(c.CreatePlan(None, plan, terms()))
    recorder = services.app.recorder
    real_insert = recorder.insert_events

    def commit_then_retry(stored_events: Any, **kwargs: Any) -> Any:
        real_insert(stored_events, **kwargs)           # commits, but the answer is "lost"
        return real_insert(stored_events, **kwargs)   # the store's retry: IntegrityError

    monkeypatch.setattr(recorder, "insert_events", commit_then_retry)
    outcome = services.app.execute(c.RevisePlan(None, plan, {"hold_days": 7}))
    monkeypatch.undo()
    stored = services.app.get_aggregate(Plan, plan)
    assert [v.number for v in stored.versions] == [1, 2]
    assert outcome.position == services.app.position()
