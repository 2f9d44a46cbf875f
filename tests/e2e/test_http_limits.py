"""The HTTP edge bounds of SPEC section 5, through the Flask app: every refusal is problem+json
and writes nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from api.http.limits import MAX_BODY_BYTES
from tests.conftest import count_events
from tests.e2e.helpers import Api, apply, create_plan, problem_type
from tests.factories import partner_body

JSON = "application/json"


def raw_post(api: Api, path: str, data: bytes | str, content_type: str | None = JSON,
             token: str | None = "internal", **kwargs: Any) -> Any:
    headers = api.headers(api.internal if token == "internal" else token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post(path, data=data, headers=headers, **kwargs)


class UnreadableStream:
    """A 60 MB request body that counts every attempt to read it."""

    size = 60 * 1024 * 1024

    def __init__(self) -> None:
        self.position = 0
        self.reads = 0

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self.size + offset if whence == 2 else offset
        return self.position

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the body of a refused request was read")

    readline = read


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# bodies ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "internal"])
def test_a_body_over_one_mib_is_a_413_before_it_is_read_or_authenticated(
    api: Api, token: str | None
) -> None:
    stream = UnreadableStream()
    headers = {"Content-Type": JSON}
    if token:
        headers["Authorization"] = f"Bearer {api.internal}"
    response = api.client.post("/partners", input_stream=stream, headers=headers)
    assert response.status_code == 413
    assert problem_type(response) == "content-too-large"
    assert response.headers["Connection"] == "close"
    assert stream.reads == 0
    assert count_events(api.services) == 0


def test_a_chunked_body_is_cut_off_at_one_mib(api: Api) -> None:
    body = json.dumps(partner_body(name="n" * (2 * MAX_BODY_BYTES))).encode()
    response = api.client.post(
        "/partners", input_stream=io.BytesIO(body),
        headers={"Content-Type": JSON, "Transfer-Encoding": "chunked",
                 "Authorization": f"Bearer {api.internal}"},
        environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert problem_type(response) == "content-too-large"
    assert count_events(api.services) == 0


def test_a_body_of_exactly_one_mib_is_read(api: Api) -> None:
    text = json.dumps(partner_body())
    padded = text + " " * (MAX_BODY_BYTES - len(text))
    assert len(padded) == MAX_BODY_BYTES
    assert raw_post(api, "/partners", padded).status_code == 201


# JSON shape -----------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_deeper_than_64_levels_is_a_400(api: Api, depth: int) -> None:
    document = "[" * depth + "]" * depth
    response = raw_post(api, "/partners", document)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert problem_type(response) == "malformed-json"
    assert "nested deeper than 64" in response.get_json()["detail"]
    assert count_events(api.services) == 0


def test_json_nested_64_levels_is_parsed_and_validated(api: Api) -> None:
    deep_in_a_field = raw_post(api, "/partners", json.dumps(partner_body(name=nested(63))))
    assert deep_in_a_field.status_code == 422  # the document is 64 deep: a schema matter
    too_deep = raw_post(api, "/partners", json.dumps(partner_body(name=nested(64))))
    assert too_deep.status_code == 400
    assert count_events(api.services) == 0


@pytest.mark.parametrize("literal", ["9" * 41, "-" + "9" * 41, "9" * 4301, "1" * 100_000,
                                     "1." + "0" * 40, "1e" + "9" * 40, "1e999", "NaN",
                                     "Infinity", "-Infinity"])
def test_numbers_beyond_40_digits_or_not_finite_are_a_400(api: Api, literal: str) -> None:
    pid = apply(api)["id"]
    before = count_events(api.services)
    response = raw_post(api, f"/partners/{pid}/points/redemptions",
                        '{"points": ' + literal + ', "reward": "mug"}')
    assert response.status_code == 400, response.get_data(as_text=True)
    assert problem_type(response) == "malformed-json"
    detail = response.get_json()["detail"]
    assert "40 digits" in detail or "out of range" in detail or "not a JSON number" in detail
    assert count_events(api.services) == before


def test_a_40_digit_number_reaches_validation(api: Api) -> None:
    pid = apply(api)["id"]
    response = raw_post(api, f"/partners/{pid}/points/redemptions",
                        '{"points": ' + "9" * 40 + ', "reward": "mug"}')
    assert response.status_code in (409, 422)


def test_invalid_json_and_invalid_utf8_are_a_400(api: Api) -> None:
    for data in (b'{"name": ', b'{"name": "\xff"}', b"[1,]"):
        response = raw_post(api, "/partners", data)
        assert response.status_code == 400
        assert problem_type(response) == "malformed-json"
    assert count_events(api.services) == 0


# media type -----------------------------------------------------------------------------------

def test_a_body_without_content_type_is_a_415_not_a_silently_dropped_reason(api: Api) -> None:
    plan = create_plan(api)
    pid = apply(api)["id"]
    assert api.post(f"/partners/{pid}/approve", {"plan_id": plan}).status_code == 200
    before = count_events(api.services)
    response = raw_post(api, f"/partners/{pid}/suspend", '{"reason": "fraud review"}',
                        content_type=None)
    assert response.status_code == 415
    assert problem_type(response) == "unsupported-media-type"
    assert count_events(api.services) == before
    assert api.get(f"/partners/{pid}").get_json()["status"] == "active"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_payments_in_any_other_media_type_are_a_415_not_missing_fields(
    api: Api, content_type: str | None
) -> None:
    body = json.dumps({"id": "in_1", "customer_id": "c1",
                       "amount": {"amount": "10.00", "currency": "USD"}})
    response = raw_post(api, "/payments", body, content_type=content_type)
    assert response.status_code == 415
    assert "errors" not in response.get_json()
    assert count_events(api.services) == 0


def test_json_with_a_charset_is_accepted(api: Api) -> None:
    response = raw_post(api, "/partners", json.dumps(partner_body()),
                        content_type="application/json; charset=utf-8")
    assert response.status_code == 201


def test_an_empty_post_without_content_type_is_an_empty_object(api: Api) -> None:
    plan = create_plan(api)
    pid = apply(api)["id"]
    api.post(f"/partners/{pid}/approve", {"plan_id": plan})
    api.post(f"/partners/{pid}/suspend", {"reason": "review"})
    response = api.client.post(f"/partners/{pid}/reactivate",
                               headers=api.headers(api.internal))  # curl -X POST
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "active"


# query parameters -----------------------------------------------------------------------------

def test_unknown_query_parameters_are_a_422_naming_them(api: Api) -> None:
    pid = apply(api)["id"]
    for path, name in [("/partners?limit=5&colour=red", "colour"),
                       (f"/partners/{pid}?min_position=0&expand=all", "expand"),
                       (f"/partners/{pid}/standing?x=1", "x"),
                       ("/healthz?verbose=1", "verbose"),
                       ("/metrics?name[]=1", "name[]")]:
        response = api.get(path)
        assert response.status_code == 422, path
        assert problem_type(response) == "validation-error"
        assert name in response.get_json()["errors"], path
    assert api.get("/partners?limit=5&status=applied").status_code == 200
    assert api.get(f"/partners/{pid}?min_position=0").status_code == 200


def test_an_unknown_query_parameter_on_a_command_writes_nothing(api: Api) -> None:
    response = api.post("/partners?dry_run=1", partner_body())
    assert response.status_code == 422
    assert "dry_run" in response.get_json()["errors"]
    assert count_events(api.services) == 0


# the server's own errors ----------------------------------------------------------------------

def test_a_405_carries_allow_and_is_problem_json(api: Api) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = api.client.open("/partners", method=method,
                                   headers=api.headers(api.internal))
        assert response.status_code == 405
        assert problem_type(response) == "method-not-allowed"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert {"GET", "POST"} <= allowed
    assert count_events(api.services) == 0


def test_404_and_500_are_problem_json(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = api.get("/no/such/route")
    assert missing.status_code == 404
    assert problem_type(missing) == "not-found"

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(api.client.application.view_functions, "ops.healthz", broken)
    failed = api.get("/healthz", token=None)
    assert failed.status_code == 500
    assert problem_type(failed) == "internal-error"
    assert set(failed.get_json()) >= {"type", "title", "status", "detail"}


# metrics --------------------------------------------------------------------------------------

def test_metrics_labels_come_from_a_fixed_set(api: Api) -> None:
    for verb in ("FOO", "BREW", "PROPFIND", "X" * 200):
        assert api.client.open("/partners", method=verb).status_code == 405
    for path in ("/a", "/b/c", "/" + "z" * 300):
        assert api.get(path).status_code == 404
    assert api.get("/partners").status_code == 200
    text = api.get("/metrics", token=None).get_data(as_text=True)
    lines = [line for line in text.splitlines() if line.startswith("partnerledger_http_")]
    methods = {line.split('method="')[1].split('"')[0] for line in lines}
    routes = {line.split('route="')[1].split('"')[0] for line in lines}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert "OTHER" in methods
    assert "unmatched" in routes
    assert not any(r.startswith(("/a", "/b", "/z")) for r in routes)
    assert "/partners" in routes
