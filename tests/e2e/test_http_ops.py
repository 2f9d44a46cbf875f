"""What operators watch: a stopped projection or Kafka partition is loud in /readyz and /metrics."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.inbox import PartitionStop
from projections.commissions import Commissions
from tests.e2e.helpers import Api, apply, create_plan


def metric_lines(api: Api, name: str) -> list[str]:
    text = api.get("/metrics", token=None).get_data(as_text=True)
    return [line for line in text.splitlines() if line.startswith(name)]


def test_a_stopped_projection_names_its_position_in_readyz_and_metrics(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = create_plan(api)
    partner = apply(api)["id"]
    assert api.post(f"/partners/{partner}/approve", {"plan_id": plan}).status_code == 200

    def broken(*_: Any) -> None:
        raise RuntimeError("read model is broken")

    monkeypatch.setattr(Commissions, "apply", broken)
    deal = api.post("/deals", {"partner_id": partner,
                               "customer": {"name": "C", "domain": "c.example"},
                               "estimated_value": {"amount": "1.00", "currency": "USD"}})
    assert deal.status_code == 201  # stored: the log is the truth, the read model lags
    culprit = deal.get_json()["position"]
    ready = api.get("/readyz", token=None)
    assert ready.status_code == 503
    failing = ready.get_json()["projections"]["commissions"]
    assert failing["failing"] is True
    assert failing["failure"]["position"] == failing["position"] + 1 <= culprit
    assert "error" not in failing["failure"]  # handler errors may quote event data
    recorded = api.services.projections.get("commissions").recorded_failure()
    assert recorded is not None
    assert recorded.error == "RuntimeError: read model is broken"
    assert ready.get_json()["projections"]["partner_directory"]["failing"] is False
    # the other read models go on: a stopped one holds nobody back
    assert ready.get_json()["projections"]["ledger"]["lag"] == 0
    below = api.get(f"/partners/{partner}?min_position={failing['position']}")
    assert below.status_code == 200
    beyond = api.get(f"/partners/{partner}?min_position={culprit}")
    assert beyond.status_code == 503
    assert "read model is broken" not in beyond.get_json()["detail"]
    [gauge] = [line for line in metric_lines(api, "partnerledger_projection_failed_position")
               if 'projection="commissions"' in line]
    assert gauge.endswith(f" {float(failing['failure']['position'])}")
    # a payout run needs only the ledger read model, which is current
    assert api.post("/payout-runs", {}).status_code == 201
    monkeypatch.undo()
    assert api.post("/payout-runs", {}).status_code == 201  # catches every read model up
    assert api.get("/readyz", token=None).status_code == 200
    [gauge] = [line for line in metric_lines(api, "partnerledger_projection_failed_position")
               if 'projection="commissions"' in line]
    assert gauge.endswith(" 0.0")


def test_a_stopped_kafka_partition_shows_in_metrics_until_reset(api: Api) -> None:
    assert metric_lines(api, "partnerledger_ingest_stopped_partitions ") == [
        "partnerledger_ingest_stopped_partitions 0.0"]
    inbox = api.services.inbox
    inbox.record_stop(PartitionStop(inbox.group, "partner.inbound", 3, 120, 0, 7,
                                    "2026-11-21T00:00:00+00:00"))
    assert metric_lines(api, "partnerledger_ingest_stopped_partitions ") == [
        "partnerledger_ingest_stopped_partitions 1.0"]
    [offset] = metric_lines(api, "partnerledger_ingest_partition_stopped_offset{")
    assert 'partition="3"' in offset and 'reason="beyond-end"' in offset
    assert offset.endswith(" 120.0")
    with api.services.db.transaction() as cursor:
        for write in inbox.reset_offset("partner.inbound", 3, None, 0,
                                        api.services.app.clock()):
            write.apply(cursor)
    assert metric_lines(api, "partnerledger_ingest_stopped_partitions ") == [
        "partnerledger_ingest_stopped_partitions 0.0"]
    assert metric_lines(api, "partnerledger_ingest_partition_stopped_offset{") == []
