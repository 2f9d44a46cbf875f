"""Audit over HTTP and the CLI: the log with its chain, streams, past state, verification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from api.audit import jsonable
from api.demo import DEMO_PARTNER_ID, load_demo
from api.services import Services
from tests.conftest import count_events
from tests.e2e.helpers import Api, cli, ok, problem_type


def loaded(api: Api) -> int:
    assert load_demo(api.services.app)
    return count_events(api.services)


def replayed(svc: Services, stream_id: UUID, version: int) -> dict[str, Any]:
    """The aggregate rebuilt by hand from its first `version` events, no snapshot used."""
    aggregate = None
    for stored in svc.db.select_streams([stream_id]):
        if stored.originator_version > version:
            break
        aggregate = svc.app.mapper.to_domain_event(stored).mutate(aggregate)
    return {k: v for k, v in jsonable(aggregate).items()
            if k not in ("id", "version", "created_on", "modified_on")}


def test_the_log_pages_through_every_event_in_order_with_its_chain(api: Api) -> None:
    total = loaded(api)
    positions, chains, after = [], [], 0
    while True:
        page = ok(api.get(f"/audit/log?after={after}&limit=7", token=api.auditor))
        positions += [item["position"] for item in page["items"]]
        chains += [item["chain"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert positions == list(range(1, total + 1))
    assert all(chains) and len(set(chains)) == total
    verified = ok(api.get("/audit/verify", token=api.auditor))
    assert verified == {"ok": True, "checked": total, "head_position": total,
                        "head": chains[-1], "first_bad": None}


def test_state_at_every_version_of_every_stream_equals_a_replay(api: Api) -> None:
    loaded(api)
    svc = api.services
    streams = {n.originator_id for n in svc.app.recorder.select_notifications(1, 10_000)}
    checked = 0
    for stream_id in streams:
        events = ok(api.get(f"/audit/streams/{stream_id}/events", token=api.auditor))["items"]
        assert [e["version"] for e in events] == list(range(1, len(events) + 1))
        for event in events:
            version = event["version"]
            state = ok(api.get(f"/audit/streams/{stream_id}/state?version={version}",
                               token=api.auditor))
            assert state["version"] == version
            assert state["state"] == json.loads(json.dumps(replayed(svc, stream_id, version)))
            at = event["recorded_at"].replace("+", "%2B")
            as_of = ok(api.get(f"/audit/streams/{stream_id}/state?as_of={at}",
                               token=api.auditor))
            # events recorded in the same instant read as one step
            assert as_of["version"] >= version
            assert as_of["recorded_at"] == state["recorded_at"] or as_of["version"] > version
            checked += 1
    assert checked == count_events(svc)


def test_audit_routes_are_for_auditors_and_internal_keys_only(api: Api) -> None:
    loaded(api)
    partner = api.partner_token(str(DEMO_PARTNER_ID))
    for path in ("/audit/log", "/audit/verify", f"/audit/streams/{DEMO_PARTNER_ID}/events",
                 f"/audit/streams/{DEMO_PARTNER_ID}/state"):
        assert problem_type(api.get(path, token=partner)) == "forbidden"
        assert api.get(path, token=None).status_code == 401
        ok(api.get(path))
    missing = "00000000-0000-4000-8000-000000000000"
    assert problem_type(api.get(f"/audit/streams/{missing}/events")) == "not-found"
    assert problem_type(api.get(f"/audit/streams/{DEMO_PARTNER_ID}/state?version=999")) \
        == "not-found"
    both = api.get(f"/audit/streams/{DEMO_PARTNER_ID}/state?version=1"
                   "&as_of=2026-01-01T00:00:00Z")
    assert problem_type(both) == "validation-error"
    early = api.get(f"/audit/streams/{DEMO_PARTNER_ID}/state?as_of=1970-01-01T00:00:00Z")
    assert problem_type(early) == "not-found"


def test_verify_names_a_tampered_position_over_http_and_the_cli(api: Api,
                                                               database_url: str,
                                                               tmp_path: Path) -> None:
    total = loaded(api)
    clean = cli(database_url, "audit", "verify")
    assert clean.returncode == 0 and f"ok: {total} events" in clean.stdout
    out = tmp_path / "log.jsonl"
    exported = cli(database_url, "audit", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == total + 2 and lines[0]["format"] == "partnerledger-audit-export"
    assert lines[-1]["head"]["chain"] == ok(api.get("/audit/verify"))["head"]

    svc = api.services
    column = "rowid" if svc.db.dialect == "sqlite" else "notification_id"
    with svc.db.transaction() as cursor:
        cursor.execute(f"DELETE FROM {svc.db.events_table} WHERE {column} = ?", (6,))
    found = ok(api.get("/audit/verify"))
    assert not found["ok"] and found["first_bad"]["position"] == 6
    assert found["first_bad"]["problem"] == "removed" and found["checked"] == 5
    tampered = cli(database_url, "audit", "verify")
    assert tampered.returncode == 1 and "position 6" in tampered.stderr


def test_projections_rebuild_verify_from_the_command_line(api: Api, database_url: str) -> None:
    loaded(api)
    api.services.projections.catch_up()
    clean = cli(database_url, "projections", "rebuild", "--verify")
    assert clean.returncode == 0, clean.stderr
    assert "ledger: verified at position" in clean.stdout and "events/s" not in clean.stdout
    assert "/s, ETA" in clean.stderr  # progress with rate and ETA, on stderr
    with api.services.db.transaction() as cursor:
        cursor.execute("UPDATE partner_directory SET name = 'Someone Else' WHERE partner_id = ?",
                       (str(DEMO_PARTNER_ID),))
    found = cli(database_url, "projections", "rebuild", "partner_directory", "--verify")
    assert found.returncode == 1
    assert "DIFFERENT partner_directory key" in found.stdout and "column name" in found.stdout
    fixed = cli(database_url, "projections", "rebuild", "partner_directory")
    assert fixed.returncode == 0 and "rebuilt and swapped in" in fixed.stdout
    assert cli(database_url, "projections", "rebuild", "--verify").returncode == 0
