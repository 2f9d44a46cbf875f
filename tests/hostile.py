"""A hostile-input run against a running server: `python -m tests.hostile [URL]`.

What a hostile partner and a careless client would send: business times at the ends of the
calendar from a partner token, a 30 MB body, JSON nested 5,000 deep, 5,000-digit integers,
odd HTTP verbs, a payout run dated ahead. Afterwards the service must still be ready, its read
models current, and nothing paid early. Reads the demo tokens from `var/demo-tokens.env`
(written by `make run`) unless INTERNAL_TOKEN and PARTNER_TOKEN are set. Prints one line per
check and exits non-zero when any fails. Sends traffic to the given URL only (default
http://127.0.0.1:8080): point it at a server of your own.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EDGE_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
              "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z")
ODD_VERBS = ("FOO", "PROPFIND", "BREW", "get")
DEMO_PARTNER = "2e451bd7-1b42-5cd6-b640-b99e958c664a"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Run:
    url: str
    internal: str
    partner: str
    partner_id: str = DEMO_PARTNER
    results: list[tuple[bool, str]] = field(default_factory=list)

    def request(self, method: str, path: str, body: bytes | None = None,
                token: str | None = None, content_type: str | None = "application/json",
                timeout: float = 30) -> Answer:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                          timeout=timeout)
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None and content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          data, time.perf_counter() - started)
        except (ConnectionError, http.client.HTTPException, OSError) as error:
            # the server may answer and close before a huge body is sent whole
            return Answer(-1, {}, str(error).encode(), time.perf_counter() - started)
        finally:
            conn.close()

    def post(self, path: str, body: Any, token: str) -> Answer:
        return self.request("POST", path, json.dumps(body).encode(), token)

    def check(self, ok: bool, what: str) -> bool:
        self.results.append((ok, what))
        print(f"{'ok  ' if ok else 'FAIL'}  {what}", flush=True)
        return ok

    def problem(self, answer: Answer, status: int, what: str) -> bool:
        is_problem = answer.headers.get("content-type", "").startswith(
            "application/problem+json")
        return self.check(answer.status == status and is_problem,
                          f"{what}: {answer.status} problem+json={is_problem}")

    # the attacks -----------------------------------------------------------------------------

    def edge_dates(self) -> None:
        for when in EDGE_TIMES:
            deal = self.post("/deals", {
                "partner_id": self.partner_id, "occurred_at": when,
                "customer": {"name": "Edge", "domain": f"edge-{when[:4]}.example"},
                "estimated_value": {"amount": "1.00", "currency": "USD"}}, self.partner)
            self.problem(deal, 422, f"partner deal dated {when}")
            referral = self.post("/referrals", {
                "partner_id": self.partner_id, "occurred_at": when,
                "lead": {"email": f"edge-{when[:4]}@lead.example", "company": "E"}},
                self.partner)
            self.problem(referral, 422, f"partner referral dated {when}")
            payment = self.post("/payments", {
                "id": f"in_edge_{when[:4]}", "customer_id": "cust-edge", "occurred_at": when,
                "amount": {"amount": "1.00", "currency": "USD"}}, self.internal)
            self.problem(payment, 422, f"payment dated {when}")

    def big_and_deep(self) -> None:
        big = b'{"partner_id": "' + b"x" * (30 * 1024 * 1024) + b'"}'
        answer = self.request("POST", "/deals", big, self.partner)
        self.check(answer.status in (413, -1),
                   f"30 MB body refused ({answer.status}) in {answer.seconds:.2f}s")
        if answer.status == 413:
            self.problem(answer, 413, "30 MB body")
        deep = b"[" * 5000 + b"]" * 5000
        self.problem(self.request("POST", "/deals", deep, self.partner), 400, "5,000-deep JSON")
        digits = b'{"points": ' + b"9" * 5000 + b', "reward": "r"}'
        self.problem(self.request("POST", f"/partners/{self.partner_id}/points/redemptions",
                                  digits, self.partner), 400, "5,000-digit integer")
        no_type = self.request("POST", f"/partners/{self.partner_id}/suspend",
                               b'{"reason": "x"}', self.internal, content_type=None)
        self.problem(no_type, 415, "body without Content-Type")
        healthy = self.request("GET", "/healthz", timeout=5)
        self.check(healthy.status == 200 and healthy.seconds < 2,
                   f"/healthz answers in {healthy.seconds:.2f}s after the big bodies")

    def odd_verbs(self) -> None:
        for verb in ODD_VERBS:
            answer = self.request(verb, "/partners", None, self.internal)
            kind = answer.headers.get("content-type", "")
            self.check(answer.status in (400, 405, 501)
                       and kind.startswith("application/problem+json"),
                       f"{verb} /partners: {answer.status} {kind}")
        metrics = self.request("GET", "/metrics").body.decode()
        methods = set(re.findall(r'method="([^"]*)"', metrics))
        known = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER"}
        self.check(methods <= known, f"/metrics method labels {sorted(methods)}")

    def future_payout_run(self) -> None:
        before = self.request("GET", f"/partners/{self.partner_id}/balances",
                              token=self.internal).json()
        run = self.post("/payout-runs", {"occurred_at": "2999-06-01T00:00:00Z"}, self.internal)
        self.problem(run, 422, "payout run dated 2999")
        run = self.post("/payout-runs", {"as_of": "2999-06-01T00:00:00Z"}, self.internal)
        self.problem(run, 422, "payout run as of 2999")
        after = self.request("GET", f"/partners/{self.partner_id}/balances",
                             token=self.internal).json()
        strip = ("position", "as_of", "known_at")
        self.check({k: v for k, v in before.items() if k not in strip}
                   == {k: v for k, v in after.items() if k not in strip},
                   "balances unchanged by the refused runs: nothing paid early")

    def still_ready(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            ready = self.request("GET", "/readyz")
            report = ready.json() or {}
            lags = [p.get("lag") for p in report.get("projections", {}).values()]
            if ready.status == 200 and all(lag == 0 for lag in lags):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.check(ready.status == 200, f"/readyz {ready.status} {report.get('status')}")
        self.check(all(lag == 0 for lag in lags), f"read models current (lags {lags})")

    def all(self) -> bool:
        self.edge_dates()
        self.big_and_deep()
        self.odd_verbs()
        self.future_payout_run()
        self.still_ready()
        return all(ok for ok, _ in self.results)


def demo_tokens(path: Path | None = None) -> tuple[str, str]:
    """INTERNAL_TOKEN and PARTNER_TOKEN from the environment or the tokens file `make run`
    wrote (one per store, var/demo-tokens-*.env: the newest unless `path` names one)."""
    found = {k: v for k, v in os.environ.items() if k in ("INTERNAL_TOKEN", "PARTNER_TOKEN")}
    if path is None:
        files = sorted(Path("var").glob("demo-tokens*.env"), key=lambda f: f.stat().st_mtime)
        path = files[-1] if files else None
    if len(found) < 2 and path is not None and path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            found.setdefault(name, value)
    return found["INTERNAL_TOKEN"], found["PARTNER_TOKEN"]


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    host = urlsplit(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        print("refusing to send hostile traffic anywhere but this machine", file=sys.stderr)
        return 2
    socket.setdefaulttimeout(30)
    internal, partner = demo_tokens()
    return 0 if Run(url, internal, partner).all() else 1


if __name__ == "__main__":
    sys.exit(main())
