"""A populated store behind the Flask app, for the API fuzz and the cross-partner walk.

Two partners, A and B, each on a plan of their own, each with deals in every state, referrals,
a referred customer with payments and a refund, paid and failed payouts in payout runs of
their own, a points redemption and a royalty agreement with reports and a closed quarter; a
third partner C shares A's plan and a fourth, D, has only applied. Every id of B's records is
kept so that a partner-A answer can be searched for any of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from adapters.clock import utc_now
from adapters.settings import Settings
from api.bootstrap import build_services
from api.http.app import create_app
from api.services import Services
from tests.conftest import RUN_ID, drop_schema, postgres_or_skip
from tests.e2e.helpers import at, usd


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty store: a SQLite file, or a new PostgreSQL schema (dropped afterwards).
    PostgreSQL without a URL skips, and fails under CI, as the shared fixtures do."""
    if kind == "sqlite":
        directory = tmp_path / uuid.uuid4().hex[:8]
        directory.mkdir()
        yield f"sqlite:///{directory}/partnerledger.db"
        return
    base = postgres_or_skip()
    schema = f"pl_fuzz_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}schema={schema}"
    finally:
        drop_schema(base, schema)


@dataclass
class Owner:
    """The ids of one partner's records, by the path parameter that names them."""

    partner_id: str
    plan_id: str
    deal_id: str = ""
    referral_id: str = ""
    payment_id: str = ""
    refund_id: str = ""
    run_id: str = ""
    payout_id: str = ""
    agreement_id: str = ""
    customer_id: str = ""
    deal_domain: str = ""
    lead_email: str = ""
    held_domain: str = ""  # an open deal's customer domain, protected for this partner
    held_lead: str = ""  # a pending referral's lead email, held for this partner
    other_ids: list[str] = field(default_factory=list)

    def path_parameters(self) -> dict[str, str]:
        return {"partner_id": self.partner_id, "plan_id": self.plan_id,
                "deal_id": self.deal_id, "referral_id": self.referral_id,
                "payment_id": self.payment_id, "refund_id": self.refund_id,
                "run_id": self.run_id, "payout_id": self.payout_id,
                "agreement_id": self.agreement_id, "quarter": "2025-Q1",
                "stream_id": self.partner_id, "entry_id": self.payout_id}

    def secrets(self) -> set[str]:
        """Every id of this partner's records: none may reach another partner's key."""
        values = {self.partner_id, self.plan_id, self.deal_id, self.referral_id,
                  self.payment_id, self.refund_id, self.run_id, self.payout_id,
                  self.agreement_id, self.customer_id, *self.other_ids}
        return {value for value in values if value}


@dataclass
class World:
    """The app over a populated store, with a token per role."""

    services: Services
    app: Flask
    client: FlaskClient
    internal: str
    auditor: str
    a: Owner
    b: Owner
    tokens: dict[str, str]

    def position(self) -> int:
        """The event log's position: a refused request must leave it where it was."""
        return int(self.services.app.recorder.max_notification_id() or 0)

    def headers(self, token: str | None) -> dict[str, str]:
        return {} if token is None else {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Any, token: str | None = None,
             expect: int | tuple[int, ...] = (200, 201)) -> dict[str, Any]:
        response = self.client.post(path, json=body,
                                    headers=self.headers(token or self.internal))
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, (path, body, response.status_code,
                                                   response.get_data(as_text=True))
        return dict(response.get_json() or {})

    def get(self, path: str, token: str | None = None) -> dict[str, Any]:
        response = self.client.get(path, headers=self.headers(token or self.internal))
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        return dict(response.get_json())


def plan_body(name: str) -> dict[str, Any]:
    return {"name": name, "currency": "USD", "deal_rate": "0.15", "referral_rate": "0.20",
            "referral_months": 12, "hold_days": 0, "min_payout": usd("10.00"),
            "points_per_conversion": 100, "occurred_at": at(400),
            "tiers": [{"name": "silver", "threshold": usd("1000"), "bonus_rate": "0.02"}]}


def partner_body(name: str) -> dict[str, Any]:
    return {"name": f"Partner {name}", "email": f"{name}-{uuid.uuid4().hex[:8]}@partner.example",
            "company": f"{name} Ltd", "type": "reseller", "country": "DE",
            "occurred_at": at(380)}


def populate_owner(world: World, name: str, plan_id: str) -> Owner:
    """One approved partner with a record of every kind (the payout run is made by the caller)."""
    pid = world.post("/partners", partner_body(name), expect=201)["id"]
    world.post(f"/partners/{pid}/approve", {"plan_id": plan_id, "occurred_at": at(380)})
    token = world.services.keys.create("partner", uuid.UUID(pid), utc_now())[1]
    owner = Owner(partner_id=pid, plan_id=plan_id, customer_id=f"cust-{name}",
                  deal_domain=f"{name}-customer.example", lead_email=f"cto@{name}-lead.example")
    owner.deal_id = world.post("/deals", {
        "partner_id": pid, "customer": {"name": f"{name} Customer", "domain": owner.deal_domain},
        "estimated_value": usd("5000.00"), "occurred_at": at(300)}, token=token,
        expect=201)["id"]
    world.post(f"/deals/{owner.deal_id}/approve", {"occurred_at": at(299)})
    world.post(f"/deals/{owner.deal_id}/close-won", {"amount": usd("4000.00"),
                                                     "new_customer": True,
                                                     "occurred_at": at(298)})
    for suffix, outcome in (("lost", "close-lost"), ("nope", "reject"), ("open", None)):
        deal = world.post("/deals", {
            "partner_id": pid, "customer": {"name": "X", "domain": f"{name}-{suffix}.example"},
            "estimated_value": usd("10.00")}, token=token, expect=201)["id"]
        owner.other_ids.append(deal)
        if outcome:
            world.post(f"/deals/{deal}/{outcome}", {"reason": "budget"})
    owner.referral_id = world.post("/referrals", {
        "partner_id": pid, "lead": {"email": owner.lead_email, "company": f"{name} Lead"},
        "occurred_at": at(300)}, token=token, expect=201)["id"]
    world.post(f"/referrals/{owner.referral_id}/convert", {"customer_id": owner.customer_id,
                                                           "occurred_at": at(299)})
    owner.held_domain = f"{name}-open.example"
    owner.held_lead = f"pending@{name}-lead.example"
    owner.other_ids.append(world.post("/referrals", {
        "partner_id": pid, "lead": {"email": owner.held_lead, "company": "P"}},
        token=token, expect=201)["id"])
    owner.payment_id = f"in_{name}_1"
    world.post("/payments", {"id": owner.payment_id, "customer_id": owner.customer_id,
                             "amount": usd("1000.00"), "occurred_at": at(200)}, expect=201)
    owner.refund_id = f"re_{name}_1"
    world.post("/refunds", {"id": owner.refund_id, "payment_id": owner.payment_id,
                            "amount": usd("100.00"), "occurred_at": at(150)}, expect=201)
    world.post(f"/partners/{pid}/points/redemptions", {"points": 40, "reward": "mug"},
               token=token, expect=201)
    owner.agreement_id = world.post("/royalty-agreements", {
        "partner_id": pid, "currency": "USD", "starts_on": "2025-01-01",
        "schedule": [{"up_to": "100000.00", "rate": "0.05"}, {"up_to": None, "rate": "0.08"}],
        "minimum_per_quarter": usd("2000.00"), "occurred_at": at(400)}, expect=201)["id"]
    world.post(f"/royalty-agreements/{owner.agreement_id}/reports",
               {"period": "2025-02", "gross_sales": usd("10000.00"), "returns": usd("500.00")},
               expect=201)
    world.post(f"/royalty-agreements/{owner.agreement_id}/quarters/2025-Q1/close", {})
    return owner


def pay_out(world: World, owner: Owner, fail_another: bool) -> None:
    """A payout run holding this owner's payout alone, confirmed; then, if asked, a second
    one, failed (its amount returns to the partner's balance, so do that last)."""
    run = world.post("/payout-runs", {}, expect=201)
    mine = [p for p in run["payouts"] if p["partner_id"] == owner.partner_id]
    assert len(run["payouts"]) == len(mine) == 1, run
    owner.run_id, owner.payout_id = run["id"], mine[0]["id"]
    world.post(f"/payouts/{owner.payout_id}/confirm", {"reference": f"tx-{owner.partner_id}"})
    if not fail_another:
        return
    world.post("/payments", {"id": f"{owner.payment_id}_2", "customer_id": owner.customer_id,
                             "amount": usd("500.00"), "occurred_at": at(100)}, expect=201)
    owner.other_ids.append(f"{owner.payment_id}_2")
    second = world.post("/payout-runs", {}, expect=201)
    assert [p["partner_id"] for p in second["payouts"]] == [owner.partner_id], second
    owner.other_ids += [second["id"], second["payouts"][0]["id"]]
    world.post(f"/payouts/{second['payouts'][0]['id']}/fail", {"reason": "bounced"})


@contextmanager
def populated_world(database_url: str) -> Iterator[World]:
    """The services on `database_url` (no background follower), the app, and the records."""
    services = build_services(Settings(database_url=database_url, follow_interval=0,
                                       min_position_timeout=0.2))
    try:
        app = create_app({"TESTING": True, "FOLLOW": False}, services=services)
        internal = services.keys.create("internal", None, utc_now())[1]
        auditor = services.keys.create("auditor", None, utc_now())[1]
        world = World(services, app, app.test_client(), internal, auditor,
                      a=Owner("", ""), b=Owner("", ""), tokens={})
        plan_a = world.post("/plans", plan_body("Plan A"), expect=201)["id"]
        plan_b = world.post("/plans", plan_body("Plan B"), expect=201)["id"]
        world.post(f"/plans/{plan_a}/revisions", {"referral_rate": "0.25",
                                                   "occurred_at": at(390)}, expect=201)
        # B first: its payout run holds B's payout only; A's runs come after
        world.b = populate_owner(world, "bee", plan_b)
        pay_out(world, world.b, fail_another=False)
        world.a = populate_owner(world, "ay", plan_a)
        pay_out(world, world.a, fail_another=True)
        c_id = world.post("/partners", partner_body("sea"), expect=201)["id"]
        world.post(f"/partners/{c_id}/approve", {"plan_id": plan_a, "occurred_at": at(380)})
        world.post("/partners", partner_body("dee"), expect=201)
        partner_a = services.keys.create("partner", uuid.UUID(world.a.partner_id), utc_now())[1]
        world.tokens = {"internal": internal, "auditor": auditor, "partner": partner_a}
        yield world
    finally:
        services.close()


def leaked(body: str, secrets: set[str]) -> list[str]:
    """Which of the secrets the answer names."""
    return sorted(secret for secret in secrets if secret in body)


def compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
