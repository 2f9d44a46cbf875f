"""A property-based fuzz of every documented operation, and a walk of every operation with one
partner's key and another partner's ids.

The fuzz (marker `fuzz`) loads /openapi.json from the WSGI app in process with schemathesis
and, on a populated store, sends each operation a fixed number of generated requests (valid
ones, and ones that break the schema) as each of the internal, auditor and partner roles.
Path parameters come at random, or are the ids of partner A's or partner B's real records.
Every answer is checked:

- no 5xx (a 503 `projection-behind` for a `?min_position=` past the log is documented);
- the body and content type match what /openapi.json documents for that status;
- a request that breaks the schema is refused with a 4xx;
- a refused request (any 4xx), and any GET, leaves the event log where it was (the one
  documented exception: a deal-conflict records the refused attempt for audit);
- a POST with no body at all is refused where /openapi.json calls the body required;
- an answer to partner A's key names none of partner B's records, beyond ids it sent itself.

Failures are collected rather than raised at the first one, so one run lists every distinct
failure (check, operation, status) with the shortest request that shows it and, for a 500,
the application's traceback line. Generation is derandomized and the example database is
off, so CI sends the same requests every run. The request count is recorded per test
(`record_property`) and printed at the end of the module; `PARTNERLEDGER_FUZZ_REPORT=FILE`
writes every finding as JSON lines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import request
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from domain import commands as c
from tests.e2e.api_world import Owner, World, fresh_database, populated_world
from tests.e2e.helpers import usd
from tests.factories import terms

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ROLES = ["internal", "auditor", "partner"]
# Requests per operation and role: (schema-valid, schema-breaking). 43 operations x 3 roles.
# PARTNERLEDGER_FUZZ_EXAMPLES=VALID,INVALID overrides both for a deeper run by hand.
BUDGET = {"sqlite": (16, 8), "postgres": (6, 3)}
if os.environ.get("PARTNERLEDGER_FUZZ_EXAMPLES"):
    _valid, _invalid = (int(n) for n in os.environ["PARTNERLEDGER_FUZZ_EXAMPLES"].split(","))
    BUDGET = {"sqlite": (_valid, _invalid), "postgres": (_valid, _invalid)}
PUBLIC = {"/healthz", "/readyz", "/metrics"}
REPO = str(Path(__file__).resolve().parents[2])
TOTALS: dict[str, int] = {}
# The one refusal that writes: a deal-conflict records the refused attempt for audit
# (SPEC section 3, Deals; README: DomainRegistration.ConflictRecorded).
AUDITED_REFUSAL = ("deal-conflict", "DomainRegistration.ConflictRecorded")


def refusal_wrote(world: World, before: int, problem: str) -> list[str]:
    """The topics a refused request wrote, less the audit record a deal-conflict keeps."""
    written = [n.topic for n in
               world.services.app.recorder.select_notifications(before + 1, 10_000)]
    if problem == AUDITED_REFUSAL[0] and written and \
            all(topic.endswith(AUDITED_REFUSAL[1]) for topic in written):
        return []
    return written


class AppErrors(logging.Handler):
    """Keeps what the app logs as unhandled errors, for the traceback line of a 500."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> str:
        """`file:line in function: Exception: message` of the deepest frame in this project."""
        lines = []
        for record in self.records:
            if not record.exc_info or record.exc_info[1] is None:
                lines.append(record.getMessage())
                continue
            error = record.exc_info[1]
            frames = [f for f in traceback.extract_tb(error.__traceback__)
                      if f.filename.startswith(REPO) and "/.venv/" not in f.filename]
            where = (f"{os.path.relpath(frames[-1].filename, REPO)}:{frames[-1].lineno} "
                     f"in {frames[-1].name}: ") if frames else ""
            lines.append(f"{where}{type(error).__name__}: {error}"[:400])
        self.records.clear()
        return " | ".join(lines)


@dataclass
class Finding:
    check: str
    role: str
    method: str
    path: str
    status: int
    detail: str
    request: str
    traceback: str = ""
    count: int = 1

    def key(self) -> tuple[str, ...]:
        return (self.check, self.method, self.path, str(self.status), self.traceback or
                self.detail[:80])

    def __str__(self) -> str:
        text = (f"[{self.check}] {self.method} {self.path} -> {self.status} as {self.role} "
                f"(x{self.count}): {self.detail}\n    {self.request}")
        if self.traceback:
            text += f"\n    app: {self.traceback}"
        return text


class Findings:
    """Distinct failures, each with the shortest request that showed it."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, ...], Finding] = {}

    def add(self, finding: Finding) -> None:
        known = self.by_key.get(finding.key())
        if known is None:
            self.by_key[finding.key()] = finding
            return
        finding.count = known.count + 1
        if len(finding.request) < len(known.request):
            self.by_key[finding.key()] = finding
        else:
            known.count += 1

    def report(self) -> str:
        return "\n".join(str(f) for f in sorted(self.by_key.values(), key=Finding.key))


def problem_type(body: Any) -> str:
    return str(body.get("type", "")).rsplit("/", 1)[-1] if isinstance(body, dict) else ""


def request_text(case: Any, token: str, role: str) -> str:
    """A curl line for the case, with the role's name in place of its secret token."""
    try:
        text = case.as_curl_command()
    except Exception as error:  # a case curl cannot spell is still a finding
        text = f"{case.method} {case.formatted_path} {case.query} {case.body!r} ({error})"
    return str(text).replace(token, f"<{role} token>").replace(
        "Authorization: [Filtered]", f"Authorization: Bearer <{role} token>")


def ids_in(case: Any) -> str:
    return json.dumps([case.path_parameters, case.query, case.body], default=str)


class Fuzzer:
    """Sends generated cases through the WSGI app and checks each answer."""

    def __init__(self, world: World, role: str, findings: Findings) -> None:
        self.world = world
        self.role = role
        self.token = world.tokens[role]
        self.findings = findings
        self.requests = 0
        self.statuses: dict[str, int] = {}
        self.samples: dict[str, str] = {}
        self.errors = AppErrors()
        # for a partner key, every record of partner B is a secret
        self.secrets = world.b.secrets() if role == "partner" else set()

    def record(self, check: str, case: Any, status: int, detail: str,
               app_traceback: str = "") -> None:
        self.findings.add(Finding(check, self.role, case.method.upper(), case.path, status,
                                  " ".join(detail.split())[:600],
                                  request_text(case, self.token, self.role), app_traceback))

    def exercise(self, case: Any) -> None:
        before = self.world.position()
        self.requests += 1
        try:
            response = case.call()
        except Exception as error:  # the app or transport raised: that is a finding too
            self.record("transport", case, 0, f"{type(error).__name__}: {error}")
            return
        after = self.world.position()
        status = response.status_code
        label = f"{case.method.upper()} {case.path} {status}"
        self.statuses[label] = self.statuses.get(label, 0) + 1
        sample = f"{request_text(case, self.token, self.role)} => {response.text[:300]}"
        if len(sample) < len(self.samples.get(label, sample + " ")):
            self.samples[label] = sample
        app_traceback = self.errors.take()
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            body = None
        # 5xx: only a documented 503 for a min_position past the log is not a server error
        if status >= 500 and not (status == 503 and problem_type(body) == "projection-behind"
                                  and "min_position" in (case.query or {})):
            self.record("not_a_server_error", case, status,
                        f"{problem_type(body)}: {response.text[:300]}", app_traceback)
        written = refusal_wrote(self.world, before, problem_type(body)) \
            if after != before and (400 <= status < 500 or case.method.upper() == "GET") else []
        if written:
            self.record("refusal_writes_nothing", case, status,
                        f"log moved {before} -> {after} ({', '.join(written)}) on "
                        f"{problem_type(body) or status}")
        if self.secrets:
            sent = ids_in(case)
            named = [s for s in self.secrets if s in response.text and s not in sent]
            if named:
                self.record("partner_privacy", case, status,
                            f"partner A's key was told of partner B's {named}: "
                            f"{response.text[:300]}")
        checks = [response_schema_conformance, content_type_conformance,
                  status_code_conformance]
        if case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE:
            checks.append(negative_data_rejection)
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.record_failure(case, status, failure)
        except Failure as failure:
            self.record_failure(case, status, failure)

    def probe_missing_body(self, operation: Any, spec: dict[str, Any]) -> None:
        """A POST with no body at all (no Content-Type), on partner A's records. The README
        reads it as `{}`; the document must then not call the body required."""
        documented = spec["paths"][operation.path]["post"].get("requestBody", {})
        path = operation.path
        for name in path_names(path):
            path = path.replace("{" + name + "}", self.world.a.path_parameters()[name])
        before = self.world.position()
        self.requests += 1
        response = self.world.client.post(path, headers=self.world.headers(self.token))
        body = response.get_json(silent=True)
        request = (f"curl -X POST -H 'Authorization: Bearer <{self.role} token>' "
                   f"http://localhost{path}")
        status, app_traceback = response.status_code, self.errors.take()

        def add(check: str, detail: str) -> None:
            self.findings.add(Finding(check, self.role, "POST", operation.path, status,
                                      detail, request, app_traceback))

        if status < 300 and documented.get("required"):
            add("missing_body_conformance", "an empty POST was accepted, but /openapi.json "
                "declares the request body required")
        if status >= 500:
            add("not_a_server_error", str(body)[:300])
        if status >= 400 and refusal_wrote(self.world, before, problem_type(body)):
            add("refusal_writes_nothing", str(body)[:300])

    def record_failure(self, case: Any, status: int, failure: Failure) -> None:
        name = failure.checks[0] if failure.checks else type(failure).__name__
        self.record(name, case, status, f"{failure.title}: {failure.message}")


def path_names(template: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", template)


DECIMAL_KEYS = {"amount", "deal_rate", "referral_rate", "bonus_rate", "rate", "up_to"}


def decimal_like(key: str, value: str) -> str:
    """A decimal string derived from a generated one (the document types these as strings)."""
    try:
        float(value)
        return value
    except ValueError:
        seed = sum(map(ord, value)) + len(value)
        return f"0.{seed % 100:02d}" if key.endswith("rate") else f"{seed % 10000}.{seed % 100:02d}"


def with_owner(owner: Owner, world: World) -> Callable[[Any], Any]:
    """Points a generated request at one owner's records: references in the body name them,
    amounts are decimals in the plans' currency, countries real, and a `min_position` one the
    log has reached, so that valid requests get past validation to the business rules."""
    references = {"partner_id": owner.partner_id, "plan_id": owner.plan_id,
                  "payment_id": owner.payment_id, "customer_id": owner.customer_id,
                  "currency": "USD", "country": "DE"}

    def point(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: point(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [point(key, item) for item in value]
        if isinstance(value, str) and key in references:
            return references[key]
        if isinstance(value, str) and key in DECIMAL_KEYS:
            return decimal_like(key, value)
        return value

    def patch(case: Any) -> Any:
        if isinstance(case.body, dict):
            case.body = point("", case.body)
        if case.query and isinstance(case.query.get("min_position"), int):
            case.query = {**case.query,
                          "min_position": min(case.query["min_position"], world.position())}
        return case

    return patch


def strategies(operation: Any, world: World, token: str) -> tuple[Any, Any]:
    """(schema-valid, schema-breaking) cases: random ids, or partner A's, or partner B's."""
    headers = {"Authorization": f"Bearer {token}"}
    names = path_names(operation.path)
    valid = [operation.as_strategy(headers=headers)]
    for owner in (world.a, world.b):
        fixed = {name: owner.path_parameters()[name] for name in names}
        valid.append(operation.as_strategy(headers=headers, path_parameters=fixed or None)
                     .map(with_owner(owner, world)))
    fixed_a = {name: world.a.path_parameters()[name] for name in names}
    invalid = st.one_of(
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers,
                              path_parameters=fixed_a or None))
    return st.one_of(valid), invalid


def fuzz_operation(fuzzer: Fuzzer, strategy: Any, examples: int) -> None:
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(case=strategy)
    def run(case: Any) -> None:
        fuzzer.exercise(case)

    # nothing of an operation without parameters or body can break its schema
    with contextlib.suppress(Unsatisfiable):
        run()


def operation_order(operation: Any) -> tuple[int, int, str]:
    """Reads first, then commands, the ones that end a partner last."""
    ending = any(word in operation.path for word in ("terminate", "reject", "suspend"))
    return (operation.method.upper() != "GET", ending, operation.label)


@pytest.fixture(scope="module", autouse=True)
def request_totals(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if TOTALS:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        line = (f"API fuzz: {sum(TOTALS.values())} requests "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(TOTALS.items()))})")
        if reporter is not None:
            reporter.write_line(line)


def write_report(name: str, findings: Findings) -> None:
    target = os.environ.get("PARTNERLEDGER_FUZZ_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            for finding in findings.by_key.values():
                out.write(json.dumps({"test": name, **asdict(finding)}) + "\n")


@pytest.mark.fuzz
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("store", STORES)
def test_fuzz_every_operation(store: str, role: str, tmp_path: Path,
                              record_property: Callable[[str, object], None]) -> None:
    valid_examples, invalid_examples = BUDGET[store]
    findings = Findings()
    started = time.monotonic()
    with fresh_database(store, tmp_path) as url, populated_world(url) as world:
        schema = schemathesis.openapi.from_wsgi("/openapi.json", world.app)
        spec = world.client.get("/openapi.json").get_json()
        operations = sorted((result.ok() for result in schema.get_all_operations()
                             if isinstance(result, Ok)), key=operation_order)
        assert len(operations) >= 40, [op.label for op in operations]
        fuzzer = Fuzzer(world, role, findings)
        logger = logging.getLogger("api.http.errors")
        logger.addHandler(fuzzer.errors)
        try:
            for operation in operations:
                if operation.method.upper() == "POST":
                    fuzzer.probe_missing_body(operation, spec)  # before the fuzz moves A on
                valid, invalid = strategies(operation, world, fuzzer.token)
                fuzz_operation(fuzzer, valid, valid_examples)
                fuzz_operation(fuzzer, invalid, invalid_examples)
        finally:
            logger.removeHandler(fuzzer.errors)
    elapsed = time.monotonic() - started
    TOTALS[f"{store}/{role}"] = fuzzer.requests
    record_property("requests", fuzzer.requests)
    record_property("seconds", round(elapsed, 1))
    write_report(f"{store}/{role}", findings)
    if os.environ.get("PARTNERLEDGER_FUZZ_STATUSES"):
        with open(os.environ["PARTNERLEDGER_FUZZ_STATUSES"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": f"{store}/{role}", "seconds": round(elapsed, 1),
                                  "statuses": fuzzer.statuses,
                                  "samples": fuzzer.samples}) + "\n")
    assert not findings.by_key, (
        f"{len(findings.by_key)} distinct failures in {fuzzer.requests} requests "
        f"as {role} on {store}:\n{findings.report()}")


# --- Partner A's key against partner B's records: every operation, deterministically ---------

# Operations a partner key may call with no other partner's id in the request: shared or
# its own answers. Each must still name nothing of partner B. The probes are public; the
# directory lists the key's own partner only.
# reads every key may make; their answers are still checked for B's ids (the leaderboard
# shows B's place and figures, never its id or name)
SHARED = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("get", "/partners"),
          ("get", "/leaderboard"), ("get", "/plans"), ("get", "/deals"), ("get", "/referrals"),
          ("get", "/payouts"), ("get", "/royalty-agreements"), ("get", "/payments")}


def cross_partner_body(method: str, template: str, b: Owner) -> Any:
    """A body that would be valid if partner A were allowed to act on partner B's records."""
    bodies: dict[str, Any] = {
        "/plans": {"name": "Mine", "currency": "USD", "deal_rate": "0.1",
                   "referral_rate": "0.1", "referral_months": 12, "min_payout": usd("10.00")},
        "/plans/{plan_id}/revisions": {"referral_rate": "0.30"},
        "/partners": {"name": "N", "email": "n@n.example", "company": "C", "type": "referral",
                      "country": "GB"},
        "/partners/{partner_id}/approve": {"plan_id": b.plan_id},
        "/partners/{partner_id}/adjustments": {"amount": usd("5.00"), "reason": "bonus"},
        "/partners/{partner_id}/plan": {"plan_id": b.plan_id},
        "/partners/{partner_id}/reject": {"reason": "no"},
        "/partners/{partner_id}/suspend": {"reason": "no"},
        "/partners/{partner_id}/reactivate": {},
        "/partners/{partner_id}/terminate": {"reason": "no"},
        "/deals": {"partner_id": b.partner_id,
                   "customer": {"name": "Z", "domain": "fresh-zed.example"},
                   "estimated_value": usd("10.00")},
        "/deals/{deal_id}/approve": {},
        "/deals/{deal_id}/reject": {"reason": "no"},
        "/deals/{deal_id}/close-won": {"amount": usd("10.00"), "new_customer": True},
        "/deals/{deal_id}/close-lost": {"reason": "no"},
        "/referrals": {"partner_id": b.partner_id,
                       "lead": {"email": "fresh@zed-lead.example", "company": "Z"}},
        "/referrals/{referral_id}/convert": {"customer_id": "cust-zed"},
        "/payments": {"id": "in_zed", "customer_id": b.customer_id, "amount": usd("10.00")},
        "/refunds": {"id": "re_zed", "payment_id": b.payment_id, "amount": usd("1.00")},
        "/partners/{partner_id}/points/redemptions": {"points": 1, "reward": "mug"},
        "/payout-runs": {},
        "/payouts/{payout_id}/confirm": {"reference": "tx-zed"},
        "/payouts/{payout_id}/fail": {"reason": "no"},
        "/royalty-agreements": {"partner_id": b.partner_id, "currency": "USD",
                                "starts_on": "2025-01-01",
                                "schedule": [{"up_to": None, "rate": "0.05"}]},
        "/royalty-agreements/{agreement_id}/reports": {
            "period": "2025-03", "gross_sales": usd("10.00"), "returns": usd("0.00")},
        "/royalty-agreements/{agreement_id}/quarters/{quarter}/close": {},
    }
    if method != "post":
        return None
    assert template in bodies, f"no cross-partner body for POST {template}: add one"
    return bodies[template]


def unknown_twin(value: str) -> str:
    """An id of the same kind that names nothing."""
    try:
        uuid.UUID(value)
        return str(uuid.uuid4())
    except ValueError:
        return f"{value.split('_', maxsplit=1)[0]}_unknown_{uuid.uuid4().hex[:6]}"


def substitute(value: Any, mapping: dict[str, str]) -> Any:
    text = json.dumps(value)
    for old, new in mapping.items():
        text = text.replace(old, new)
    return json.loads(text)


def normalised(text: str, ids: list[str]) -> str:
    for value in ids:
        text = text.replace(value, "<ID>")
    return re.sub(r'"position": ?\d+', '"position": 0', text)


@pytest.mark.parametrize("store", STORES)
def test_partner_a_learns_nothing_of_partner_b_on_any_operation(store: str,
                                                                 tmp_path: Path) -> None:
    """Every documented operation, with partner A's key and partner B's ids in every path
    parameter and body reference: a 404 for B's records (exactly as for ids that name
    nothing), a 403 for commands a partner key may not run, nothing written, and no id of
    B's records in any answer beyond the ones the request itself carried."""
    problems: list[str] = []
    with fresh_database(store, tmp_path) as url, populated_world(url) as world:
        spec = world.client.get("/openapi.json").get_json()
        token = world.tokens["partner"]
        b = world.b
        secrets = b.secrets()
        walked = 0
        seen: list[str] = []
        for template, operations in spec["paths"].items():
            for method in operations:
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                walked += 1
                path = template
                for name in path_names(template):
                    path = path.replace("{" + name + "}", b.path_parameters()[name])
                body = cross_partner_body(method, template, b)
                sent = [s for s in secrets if s in path or s in json.dumps(body)]
                before = world.position()
                response = world.client.open(path, method=method.upper(), json=body,
                                             headers=world.headers(token))
                label = f"{method.upper()} {template} -> {response.status_code}"
                seen.append(label)
                if refusal_wrote(world, before, problem_type(response.get_json(silent=True))):
                    problems.append(f"{label}: wrote to the log ({before} -> "
                                    f"{world.position()})")
                text = response.get_data(as_text=True)
                named = [s for s in secrets if s in text and s not in sent]
                if named:
                    problems.append(f"{label}: names B's {named}: {text[:300]}")
                if (method, template) in SHARED:
                    if response.status_code != 200:
                        problems.append(f"{label}: a shared read should answer 200")
                    continue
                if not sent:
                    # a staff-only command with nothing of B's in it: the role decides
                    if response.status_code != 403:
                        problems.append(f"{label}: expected 403 for a staff-only operation: "
                                        f"{text[:200]}")
                    continue
                if response.status_code not in (403, 404):
                    problems.append(f"{label}: expected 403 or 404: {text[:300]}")
                    continue
                # the same request with ids that name nothing must read exactly the same
                twins = {value: unknown_twin(value) for value in sent}
                twin_path = substitute(path, twins)
                twin_body = substitute(body, twins)
                before = world.position()
                twin = world.client.open(twin_path, method=method.upper(), json=twin_body,
                                         headers=world.headers(token))
                if world.position() != before:
                    problems.append(f"{label}: its unknown-id twin wrote to the log")
                if (twin.status_code != response.status_code or
                        normalised(twin.get_data(as_text=True), list(twins.values())) !=
                        normalised(text, list(twins))):
                    problems.append(f"{label}: tells B's records from missing ones: "
                                    f"{text[:200]} vs unknown ids {twin.status_code} "
                                    f"{twin.get_data(as_text=True)[:200]}")
        assert walked >= 40
        if os.environ.get("PARTNERLEDGER_FUZZ_STATUSES"):
            with open(os.environ["PARTNERLEDGER_FUZZ_STATUSES"], "a", encoding="utf-8") as out:
                out.write(json.dumps({"test": f"{store}/walk", "statuses": seen}) + "\n")
        problems += own_requests_touching_b(world)
        problems += refused_without_a_key(world, spec)
    assert not problems, "\n".join(problems)


def own_requests_touching_b(world: World) -> list[str]:
    """Partner A acting for itself on a customer domain or lead that B holds: a 409 that
    names none of B's records or dates, and nothing written."""
    problems = []
    token, a, b = world.tokens["partner"], world.a, world.b
    for path, body in (
            ("/deals", {"partner_id": a.partner_id,
                        "customer": {"name": "B's", "domain": f"www.{b.held_domain.upper()}"},
                        "estimated_value": usd("10.00")}),
            ("/referrals", {"partner_id": a.partner_id,
                            "lead": {"email": b.held_lead.upper(), "company": "B's"}})):
        before = world.position()
        response = world.client.post(path, json=body, headers=world.headers(token))
        text = response.get_data(as_text=True)
        if response.status_code != 409:
            problems.append(f"POST {path} on B's {body}: expected 409, got "
                            f"{response.status_code} {text[:200]}")
        if refusal_wrote(world, before, problem_type(response.get_json(silent=True))):
            problems.append(f"POST {path} on B's holding: wrote to the log")
        named = [s for s in b.secrets() if s in text]
        if named:
            problems.append(f"POST {path} on B's holding names B's {named}: {text[:300]}")
    return problems


def refused_without_a_key(world: World, spec: dict[str, Any]) -> list[str]:
    """Every operation but the public probes: 401 without a key or with a made-up one,
    problem+json, nothing written."""
    problems = []
    for template, operations in spec["paths"].items():
        if template in PUBLIC:
            continue
        for method in operations:
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            path = template
            for name in path_names(template):
                path = path.replace("{" + name + "}", world.a.path_parameters()[name])
            body = cross_partner_body(method, template, world.a)
            for headers in ({}, {"Authorization": "Bearer not-a-key"},
                            {"Authorization": f"Basic {world.internal}"}):
                before = world.position()
                response = world.client.open(path, method=method.upper(), json=body,
                                             headers=headers)
                if (response.status_code != 401 or
                        response.mimetype != "application/problem+json" or
                        world.position() != before):
                    problems.append(f"{method.upper()} {template} with {sorted(headers)}: "
                                    f"{response.status_code} {response.mimetype}, log "
                                    f"{before} -> {world.position()}")
    return problems


# --- The harness itself: every check fires on a fault planted in front of the real app ------

@pytest.mark.fuzz
def test_the_fuzz_reports_planted_faults(tmp_path: Path) -> None:
    """A fuzz that finds nothing must be one that would have: faults planted around real
    routes (a crash, a wrong shape, a wrong content type, a refusal that writes, a leak of
    partner B's id) each come back as a finding of its own check."""
    findings = Findings()
    with fresh_database("sqlite", tmp_path) as url, populated_world(url) as world:
        b_partner = world.b.partner_id

        def crash() -> None:
            if request.path == "/healthz":
                raise RuntimeError("planted crash")

        def tamper(response: Any) -> Any:
            rule = request.url_rule.rule if request.url_rule else ""
            if rule == "/partners/<uuid:partner_id>" and response.status_code == 200:
                body = response.get_json()
                body.pop("status")
                response.set_data(json.dumps(body))
            elif rule == "/metrics":
                response.content_type = "application/xml"
            elif rule.endswith("/revisions") and response.status_code >= 400:
                world.services.app.execute(c.CreatePlan(None, uuid.uuid4(), terms()))
            elif rule == "/deals/<uuid:deal_id>" and response.status_code == 404:
                body = response.get_json()
                body["detail"] += f" (see {b_partner})"
                response.set_data(json.dumps(body))
            return response

        # setup hooks cannot be registered once the app has served: add them to the lists
        world.app.before_request_funcs.setdefault(None, []).insert(0, crash)
        world.app.after_request_funcs.setdefault(None, []).append(tamper)
        schema = schemathesis.openapi.from_wsgi("/openapi.json", world.app)
        fuzzer = Fuzzer(world, "partner", findings)
        logger = logging.getLogger("api.http.errors")
        logger.addHandler(fuzzer.errors)
        try:
            for label in ("GET /healthz", "GET /partners/{partner_id}", "GET /metrics",
                          "POST /plans/{plan_id}/revisions", "GET /deals/{deal_id}"):
                operation = schema.find_operation_by_label(label)
                assert operation is not None, label
                valid, _ = strategies(operation, world, fuzzer.token)
                fuzz_operation(fuzzer, valid, 8)
        finally:
            logger.removeHandler(fuzzer.errors)
    found = {(f.check, f.method, f.path) for f in findings.by_key.values()}
    assert {("not_a_server_error", "GET", "/healthz"),
            ("response_schema_conformance", "GET", "/partners/{partner_id}"),
            ("content_type_conformance", "GET", "/metrics"),
            ("refusal_writes_nothing", "POST", "/plans/{plan_id}/revisions"),
            ("partner_privacy", "GET", "/deals/{deal_id}")} <= found, findings.report()
    crash_report = next(f for f in findings.by_key.values() if f.path == "/healthz")
    assert "test_api_fuzz.py" in crash_report.traceback, crash_report
    assert "RuntimeError: planted crash" in crash_report.traceback, crash_report
    assert "<partner token>" in crash_report.request and world.tokens["partner"] not in \
        crash_report.request
