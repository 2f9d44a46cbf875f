"""Every route's real answers match what /openapi.json documents for them, exactly: types,
required and nullable fields, nested shapes and list items, with no undocumented field."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.audit_heads import TreeHeads
from adapters.clock import utc_now
from tests.e2e.helpers import NOW, Api, at, usd

# Members a documented object may leave out, by schema name: everything else is required.
OPTIONAL = {"Problem": {"errors", "conflicting_deal_id", "current_status",
                        "existing_id", "existing_partner_id", "existing_referral_id",
                        "expected_currency", "points_balance", "attribution_expires_at",
                        "refundable"},
            "ProjectionState": {"failure"},
            "Ready": {"detail", "store_position", "projections"}}


# apispec writes a nullable nested object as anyOf [this, {$ref}]: read it as null only.
NULL_BRANCH = {"type": "object", "nullable": True}


def resolve(node: Any, spec: dict[str, Any]) -> Any:
    """The schema with every $ref inlined and OpenAPI's `nullable` as JSON Schema's null."""
    if isinstance(node, list):
        return [resolve(item, spec) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return resolve(spec["components"]["schemas"][name], spec)
    if node == NULL_BRANCH:
        return {"type": "null"}
    out = {key: resolve(value, spec) for key, value in node.items()}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Conformance:
    """Checks answers against the document and remembers which operations were seen."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.spec: dict[str, Any] = api.client.get("/openapi.json").get_json()
        self.templates = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
                          for path in self.spec["paths"]]
        self.seen: set[tuple[str, str]] = set()

    def template(self, path: str) -> str:
        bare = path.partition("?")[0]
        matches = [t for pattern, t in self.templates if pattern.match(bare)]
        assert matches, path
        return min(matches, key=lambda t: t.count("{"))  # a literal segment beats a parameter

    def check(self, method: str, path: str, response: Any) -> dict[str, Any]:
        template = self.template(path)
        operation = self.spec["paths"][template][method.lower()]
        responses = operation["responses"]
        documented = responses.get(str(response.status_code)) or responses["default"]
        if "$ref" in documented:
            documented = self.spec["components"]["responses"][documented["$ref"].rsplit("/")[-1]]
        if response.status_code < 400:
            assert str(response.status_code) in responses, (method, template, response.status)
            self.seen.add((method.lower(), template))
        content = documented.get("content", {})
        if response.mimetype != "application/json" and response.status_code < 400:
            assert response.mimetype in {c.split(";")[0] for c in content}, (template, content)
            return {}
        media = content.get("application/json") or content.get("application/problem+json")
        assert media is not None, (method, template, response.status_code)
        schema = resolve(media["schema"], self.spec)
        body = response.get_json()
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(body), key=str)
        assert not errors, (method, path, response.status_code,
                            [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]])
        return dict(body) if isinstance(body, dict) else {}

    def get(self, path: str, token: str | None = "internal") -> dict[str, Any]:
        return self.check("GET", path, self.api.get(path, token=token))

    def patch(self, path: str, body: Any) -> dict[str, Any]:
        response = self.api.client.patch(path, json=body,
                                         headers=self.api.headers(self.api.internal))
        return self.check("PATCH", path, response)

    def post(self, path: str, body: Any = None, token: str | None = "internal",
             status: int | None = None) -> dict[str, Any]:
        response = self.api.post(path, body, token=token)
        if status is not None:
            assert response.status_code == status, response.get_json()
        return self.check("POST", path, response)


def populate(doc: Conformance) -> dict[str, str]:
    """A store with every kind of record, every answer checked on the way."""
    api = doc.api
    plan = doc.post("/plans", {
        "name": "Standard", "currency": "USD", "deal_rate": "0.15", "referral_rate": "0.20",
        "referral_months": 12, "hold_days": 0, "min_payout": usd("10.00"),
        "points_per_conversion": 100, "occurred_at": at(400),
        "tiers": [{"name": "silver", "threshold": usd("1000"), "bonus_rate": "0.02"}]},
        status=201)["id"]
    doc.post(f"/plans/{plan}/revisions", {"referral_rate": "0.25", "occurred_at": at(390)},
             status=201)
    ids: dict[str, str] = {"plan": plan}
    for name in ("earner", "suspended", "applied", "rejected", "terminated"):
        ids[name] = doc.post("/partners", {
            "name": name, "email": f"{name}-{NOW.timestamp()}@{name}.example",
            "company": "Co", "type": "reseller", "country": "DE", "occurred_at": at(380)},
            status=201)["id"]
    for name in ("earner", "suspended", "terminated"):
        doc.post(f"/partners/{ids[name]}/approve", {"plan_id": plan, "occurred_at": at(380)})
    doc.post(f"/partners/{ids['rejected']}/reject", {"reason": "no"})
    doc.post(f"/partners/{ids['suspended']}/suspend", {"reason": "review", "occurred_at": at(5)})
    doc.patch(f"/partners/{ids['suspended']}", {"company": "Renamed Ltd"})
    doc.post(f"/partners/{ids['suspended']}/plan", {"plan_id": ids["plan"]})  # already on it
    doc.post(f"/partners/{ids['earner']}/adjustments", {"amount": usd("12.50"),
                                                         "reason": "launch bonus"}, status=201)
    doc.post(f"/partners/{ids['earner']}/adjustments", {"amount": usd("-2.50"),
                                                         "reason": "fee"}, status=201)
    doc.patch(f"/partners/{ids['suspended']}", {})  # 422
    doc.post(f"/partners/{ids['terminated']}/suspend", {"occurred_at": at(6)})
    doc.post(f"/partners/{ids['terminated']}/reactivate", {"occurred_at": at(5)})
    doc.post(f"/partners/{ids['terminated']}/terminate", {"occurred_at": at(4)})

    earner = ids["earner"]
    token = api.partner_token(earner)
    ids["deal"] = doc.post("/deals", {
        "partner_id": earner, "customer": {"name": "Acme", "domain": "acme.example"},
        "estimated_value": usd("5000.00"), "occurred_at": at(300)}, token=token,
        status=201)["id"]
    doc.post(f"/deals/{ids['deal']}/approve", {"occurred_at": at(299)})
    doc.post(f"/deals/{ids['deal']}/close-won", {"amount": usd("4000.00"),
                                                 "new_customer": True, "occurred_at": at(298)})
    for domain, outcome in (("lost.example", "close-lost"), ("nope.example", "reject")):
        deal = doc.post("/deals", {"partner_id": earner,
                                   "customer": {"name": "X", "domain": domain},
                                   "estimated_value": usd("10.00")}, status=201)["id"]
        doc.post(f"/deals/{deal}/{outcome}", {"reason": "budget"})
    doc.post("/deals", {"partner_id": earner, "customer": {"name": "O", "domain": "open.example"},
                        "estimated_value": usd("10.00")}, status=201)
    ids["referral"] = doc.post("/referrals", {
        "partner_id": earner, "lead": {"email": "cto@lead.example", "company": "Lead"},
        "occurred_at": at(300)}, token=token, status=201)["id"]
    doc.post(f"/referrals/{ids['referral']}/convert", {"customer_id": "cust-1",
                                                       "occurred_at": at(299)})
    doc.post("/referrals", {"partner_id": earner, "lead": {"email": "x@earner.example",
                                                           "company": "Self"}}, status=201)
    doc.post("/payments", {"id": "in_1", "customer_id": "cust-1", "amount": usd("1000.00"),
                           "occurred_at": at(200)}, status=201)
    doc.post("/payments", {"id": "in_1", "customer_id": "cust-1", "amount": usd("1000.00"),
                           "occurred_at": at(200)}, status=200)  # a repeat changes nothing
    doc.post("/payments", {"id": "in_x", "customer_id": "cust-x", "amount": usd("10.00")},
             status=201)
    doc.post("/refunds", {"id": "re_1", "payment_id": "in_1", "amount": usd("100.00"),
                          "occurred_at": at(150)}, status=201)
    doc.post(f"/partners/{earner}/points/redemptions", {"points": 40, "reward": "mug"},
             token=token, status=201)
    run = doc.post("/payout-runs", {}, status=201)
    ids["run"] = run["id"]
    ids["payout"] = run["payouts"][0]["id"]
    doc.post(f"/payouts/{ids['payout']}/confirm", {"reference": "tx-1"})
    doc.post("/payments", {"id": "in_2", "customer_id": "cust-1", "amount": usd("500.00"),
                           "occurred_at": at(100)}, status=201)
    failed = doc.post("/payout-runs", {}, status=201)["payouts"][0]["id"]
    doc.post(f"/payouts/{failed}/fail", {"reason": "bounced"})
    ids["agreement"] = doc.post("/royalty-agreements", {
        "partner_id": earner, "currency": "USD", "starts_on": "2025-01-01",
        "schedule": [{"up_to": "100000.00", "rate": "0.05"}, {"up_to": None, "rate": "0.08"}],
        "minimum_per_quarter": usd("2000.00"), "occurred_at": at(400)}, status=201)["id"]
    for gross in ("10000.00", "12000.00"):  # the second is a restatement
        doc.post(f"/royalty-agreements/{ids['agreement']}/reports",
                 {"period": "2025-02", "gross_sales": usd(gross), "returns": usd("500.00")},
                 status=201)
    doc.post(f"/royalty-agreements/{ids['agreement']}/quarters/2025-Q1/close", {})
    return ids


def test_every_route_answers_as_documented(api: Api) -> None:
    doc = Conformance(api)
    ids = populate(doc)
    partner_token = api.partner_token(ids["earner"])
    for name in ("earner", "suspended", "applied", "rejected", "terminated"):
        pid = ids[name]
        for path in (f"/partners/{pid}", f"/partners/{pid}/standing",
                     f"/partners/{pid}/balances", f"/partners/{pid}/statement",
                     f"/partners/{pid}/payouts", f"/partners/{pid}/deals",
                     f"/partners/{pid}/referrals"):
            doc.get(path)
    earner = ids["earner"]
    paged = doc.get(f"/partners/{earner}/statement?limit=2")
    line = paged["items"][0]["entry_id"]
    doc.get(f"/partners/{earner}/statement/{line}/explain")
    doc.get(f"/partners/{earner}/statement/{line}/explain", token=partner_token)
    doc.get(f"/partners/{earner}/statement/no-such-line/explain")  # 404
    assert paged["next_cursor"] is not None
    doc.get(f"/partners/{earner}/balances?as_of={at(250).replace('+', '%2B')}")
    for path in ("/partners", "/partners?status=active&limit=1", f"/plans/{ids['plan']}",
                 f"/deals/{ids['deal']}", f"/referrals/{ids['referral']}",
                 "/payments/in_1", "/payments/in_x", "/refunds/re_1",
                 f"/payout-runs/{ids['run']}", f"/payouts/{ids['payout']}",
                 f"/royalty-agreements/{ids['agreement']}", f"/partners/{earner}/deals?status=won",
                 f"/partners/{earner}/referrals?status=converted"):
        doc.get(path)
        if not path.startswith(("/payments", "/refunds", "/payout-runs")):
            doc.get(path, token=partner_token)
    for path in ("/healthz", "/readyz", "/metrics"):
        doc.get(path, token=None)
    for path in ("/leaderboard", "/leaderboard?period=all&limit=1", "/program/summary",
                 f"/program/summary?period={at(150)[:7]}", "/leaderboard?period=1969"):
        doc.get(path)
    doc.get("/leaderboard", token=partner_token)
    for path in ("/plans", "/deals?status=won", "/referrals", "/payouts", "/payout-runs",
                 "/royalty-agreements", "/payments?limit=1", "/plans?currency=EUR"):
        doc.get(path)
        doc.get(path, token=partner_token)  # its own rows; 403 for payout runs
    doc.get("/program/summary", token=partner_token)  # 403
    for path in ("/audit/log?after=3&limit=5", f"/audit/streams/{earner}/events?limit=2",
                 f"/audit/streams/{earner}/state?version=2", f"/audit/streams/{earner}/state",
                 "/audit/verify", "/audit/proofs/inclusion?position=3",
                 "/audit/proofs/consistency?first=2&second=5", "/audit/heads"):
        doc.get(path, token=api.auditor)
        doc.get(path, token=partner_token)  # 403
    doc.get(f"/partners/{earner}/statement/proofs", token=partner_token)  # 409: no head yet
    TreeHeads(api.services.db).sign(Ed25519PrivateKey.generate(), utc_now())
    doc.get(f"/partners/{earner}/statement/proofs", token=partner_token)

    operations = {(method, path) for path, ops in doc.spec["paths"].items()
                  for method in ops if method in {"get", "post", "put", "patch", "delete"}}
    assert operations - doc.seen == set()


def test_refusals_answer_as_documented(api: Api) -> None:
    doc = Conformance(api)
    ids = populate(doc)
    earner = ids["earner"]
    refusals = [
        ("/deals", {"partner_id": earner, "customer": {"name": "A", "domain": "open.example"},
                    "estimated_value": usd("1.00")}, 409),
        (f"/partners/{earner}/approve", {"plan_id": ids["plan"]}, 409),
        ("/referrals", {"partner_id": earner, "lead": {"email": "cto@lead.example",
                                                       "company": "L"}}, 409),
        (f"/partners/{earner}/points/redemptions", {"points": 10**6, "reward": "car"}, 409),
        ("/refunds", {"id": "re_9", "payment_id": "in_1", "amount": usd("100000.00")}, 409),
        ("/payments", {"id": "in_1", "customer_id": "cust-1", "amount": usd("1.00")}, 409),
        ("/deals", {"partner_id": earner, "customer": {"name": "A", "domain": "eur.example"},
                    "estimated_value": {"amount": "1.00", "currency": "EUR"}}, 422),
        ("/deals", {"partner_id": earner}, 422),
        (f"/partners/{ids['applied']}/terminate", {}, 409),
    ]
    for path, body, status in refusals:
        problem = doc.post(path, body, status=status)
        assert set(problem) >= {"type", "title", "status", "detail"}
    assert doc.post(refusals[0][0], refusals[0][1])["conflicting_deal_id"]
    doc.get(f"/deals/{ids['plan']}")  # 404
    doc.get("/partners", token=None)  # 401


def test_every_documented_success_shape_is_closed_and_fully_required(api: Api) -> None:
    spec = api.client.get("/openapi.json").get_json()
    names = set(spec["components"]["schemas"])

    def walk(node: Any, where: str, seen: set[str]) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where, seen)
            return
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            assert name in names, name
            if name not in seen:
                seen.add(name)
                schema = spec["components"]["schemas"][name]
                properties = set(schema.get("properties", {}))
                if properties:
                    missing = properties - set(schema.get("required", [])) - \
                        OPTIONAL.get(name, set())
                    assert not missing, f"{where}: {name} leaves {sorted(missing)} optional"
                    assert schema.get("additionalProperties") is False, (where, name)
                walk(schema, f"{where} > {name}", seen)
            return
        if node.get("type") == "object" and "properties" not in node and node != NULL_BRANCH:
            extra = node.get("additionalProperties")
            assert isinstance(extra, dict) and extra, f"{where}: an object of unknown shape"
        for value in node.values():
            walk(value, where, seen)

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    for media in copy.deepcopy(response).get("content", {}).values():
                        if "schema" in media:
                            walk(media["schema"], f"{method.upper()} {path} {status}", set())
