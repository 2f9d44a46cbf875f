"""A write that loses a race reports the conflict itself, whatever moment the database's
reply reaches the driver."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from api.services import Services
from domain.partners import Partner
from tests.conftest import count_events

NOW = datetime(2026, 3, 1, tzinfo=UTC)

# the pipeline is PostgreSQL's: the store fixtures, on that store only
on_postgres = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def partner(name: str) -> Partner:
    return Partner(id=uuid.uuid4(), name=name, email=f"{name}@race.example", company="Co",
                   type="agency", country="US", occurred_at=NOW)


@pytest.mark.postgres
@on_postgres
def test_a_conflict_met_before_the_insert_s_sync_is_reported_as_itself(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In pipeline mode the driver raises a statement's error when it happens to read its
    result: with a racing writer that can be at a later statement of the insert, before the
    insert's own sync, with results still unread behind it (four concurrent payout runs hit
    it). Forced here: a duplicate row, answered before the insert queues its NOTIFY."""
    svc = services
    recorder: Any = svc.app.recorder
    notify = recorder._notify_channel

    def duplicate_then_notify(curs: Any) -> None:
        row = (str(uuid.uuid4()), 1, "command", "{}")
        for _ in range(2):
            curs.execute("INSERT INTO provenance (originator_id, originator_version, "
                         "command_id, source) VALUES (%s, %s, %s, %s)", row)
        time.sleep(0.2)  # the server answers meanwhile, as a winner's commit lets it
        notify(curs)  # the driver reads the duplicate's error here, with NOTIFY queued behind

    before = count_events(svc)
    monkeypatch.setattr(recorder, "_notify_channel", duplicate_then_notify)
    with pytest.raises(IntegrityError):  # not "pipeline aborted", retried as a lost connection
        svc.app.events.put(partner("p").collect_events())
    monkeypatch.undo()
    assert count_events(svc) == before
    svc.app.events.put(partner("q").collect_events())  # and the store writes on
    assert count_events(svc) == before + 1
