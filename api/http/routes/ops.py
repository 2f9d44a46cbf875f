"""Operations: liveness, readiness and metrics. No token needed."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from api.http.commanding import services
from api.http.schemas.ops import HealthSchema, ReadySchema

blp = Blueprint("ops", __name__, description="Health and metrics (no token needed)")


@blp.route("/healthz", methods=["GET"])
@blp.doc(security=[])
@blp.response(200, HealthSchema)
def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.doc(security=[])
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="The store or a projection is failing.")
def readyz() -> tuple[dict[str, Any], int]:
    """The store answers and every projection runs: 200 ready, else 503 with the reason."""
    svc = services()
    report: dict[str, Any] = {"status": "ready", "projections": {}}
    try:
        store = svc.app.position()
        report["store_position"] = store
        for runner in svc.projections.runners:
            position = runner.position()
            failure = runner.recorded_failure()
            report["projections"][runner.name] = {
                "position": position,
                "lag": store - position,
                "failing": failure is not None,
            }
            if failure is not None:
                # the error text stays in the log and the CLI: it may quote event data
                report["projections"][runner.name]["failure"] = {
                    "position": failure.position, "event_type": failure.event_type,
                    "failed_at": failure.failed_at}
    except Exception as error:
        return {"status": "unavailable", "detail": str(error)}, 503
    if any(p["failing"] for p in report["projections"].values()):
        report["status"] = "degraded"
        return report, 503
    return report, 200


@blp.route("/metrics", methods=["GET"])
@blp.doc(security=[], responses={"200": {
    "description": "Prometheus exposition format.",
    "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics() -> Response:
    """Prometheus exposition format."""
    svc = services()
    registry = current_app.extensions["partnerledger_metrics"]
    registry.store_position.set(svc.app.position())
    for runner in svc.projections.runners:
        registry.projection_position.labels(runner.name).set(runner.position())
        failure = runner.recorded_failure()
        registry.projection_failed_at.labels(runner.name).set(
            0 if failure is None else failure.position)
    # Labels come from the operator's own configuration (groups, topics) and partition numbers.
    stops = svc.inbox.stopped_partitions()
    registry.ingest_stopped.set(len(stops))
    registry.ingest_stopped_offset.clear()
    for stop in stops:
        registry.ingest_stopped_offset.labels(
            stop.group, stop.topic, str(stop.partition), stop.reason).set(stop.stored_offset)
    # Prometheus' text format, not JSON: a finished response, which flask-smorest passes through
    return registry.render()  # type: ignore[no-any-return]
