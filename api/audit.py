"""What auditors read: the log with its chain, one stream's events and state, exports.

Shared by the HTTP audit routes and `partnerledger audit`; every answer is plain JSON.
A stored event that no longer decodes (an altered row) is still listed, with its raw state
and the decoding error, so a tampered store can be read and shown, never crash a read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from adapters.audit_chain import GENESIS, AuditChain
from api.event_documents import event_document, plain
from api.services import Services
from domain.errors import NotFound

EXPORT_FORMAT = "partnerledger-audit-export"
HIDDEN_STATE = ("_pending_events",)


def jsonable(value: Any) -> Any:
    """An aggregate's state as JSON: known value types as in events, other objects by their
    attributes (without the leading underscore of private ones)."""
    value = plain(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k.lstrip("_"): jsonable(v) for k, v in vars(value).items()
                if k not in HIDDEN_STATE}
    return str(value)


def document(svc: Services, notification: Notification) -> dict[str, Any]:
    """One stored event as the relay sends it; raw if it no longer decodes."""
    try:
        return event_document(notification, svc.app.mapper.to_domain_event(notification))
    except Exception as error:  # an altered row must still be readable
        return {
            "event_id": None, "type": notification.topic.split(":", 1)[-1],
            "stream_id": str(notification.originator_id),
            "version": notification.originator_version, "position": notification.id,
            "occurred_at": None, "recorded_at": None,
            "data": {"undecodable": bytes(notification.state).decode("utf-8", "replace"),
                     "error": f"{type(error).__name__}: {error}"},
        }


def log_page(svc: Services, after: int, limit: int) -> dict[str, Any]:
    """The global log after a position, each event with its chain link."""
    notifications = svc.app.recorder.select_notifications(after + 1, limit)
    links = AuditChain(svc.db).links(after, limit) if notifications else {}
    items = []
    for notification in notifications:
        leaf, chain = links.get(notification.id, (None, None))
        items.append({**document(svc, notification), "leaf": leaf, "chain": chain})
    return {"items": items, "next_after": items[-1]["position"] if items else None,
            "position": svc.app.position()}


def stream_notifications(svc: Services, stream_id: UUID) -> list[Notification]:
    """Every stored event of one aggregate, by version, with its log position."""
    column = "rowid" if svc.db.dialect == "sqlite" else "notification_id"
    key: object = stream_id.hex if svc.db.dialect == "sqlite" else stream_id
    with svc.db.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT {column} AS position, originator_version, topic, state "  # noqa: S608
            f"FROM {svc.db.events_table} WHERE originator_id = ? "
            "ORDER BY originator_version", (key,))
        rows = cursor.fetchall()
    if not rows:
        raise NotFound(f"No stream with id {stream_id}.")
    return [Notification(id=int(r["position"]), originator_id=stream_id,
                         originator_version=int(r["originator_version"]), topic=r["topic"],
                         state=bytes(r["state"])) for r in rows]


def stream_events(svc: Services, stream_id: UUID, after_version: int,
                  limit: int) -> dict[str, Any]:
    """One aggregate's events after a version, oldest first."""
    notifications = [n for n in stream_notifications(svc, stream_id)
                     if n.originator_version > after_version][:limit]
    items = [document(svc, n) for n in notifications]
    return {"stream_id": str(stream_id), "items": items,
            "next_after_version": items[-1]["version"] if len(items) == limit else None}


def stream_state(svc: Services, stream_id: UUID, version: int | None,
                 as_of: datetime | None) -> dict[str, Any]:
    """The aggregate as it was after its `version`th event, or as recorded at `as_of`
    (its newest event recorded then); the newest state without either."""
    notifications = stream_notifications(svc, stream_id)
    newest = notifications[-1].originator_version
    if as_of is not None:
        recorded = [n.originator_version for n in notifications
                    if getattr(svc.app.mapper.to_domain_event(n), "timestamp") <= as_of]  # noqa: B009
        if not recorded:
            raise NotFound(f"Stream {stream_id} had no events recorded by {as_of.isoformat()}.")
        version = recorded[-1]
    if version is not None and version > newest:
        raise NotFound(f"Stream {stream_id} has {newest} events; there is no version {version}.")
    aggregate: Any = svc.app.repository.get(stream_id, version=version)
    return {
        "stream_id": str(stream_id),
        "type": type(aggregate).__qualname__,
        "version": aggregate.version,
        "recorded_at": aggregate.modified_on.isoformat(),
        "state": {k: v for k, v in jsonable(aggregate).items()
                  if k not in ("id", "version", "created_on", "modified_on")},
    }


def export_lines(svc: Services, first: int, last: int | None,
                 batch: int = 1000) -> Iterator[dict[str, Any]]:
    """The export: a header (with the chain value before `first`), each event with its
    link, and a closing line with the head reached."""
    previous = AuditChain(svc.db).link_before(first)
    yield {"format": EXPORT_FORMAT, "version": 1, "from": first, "to": last,
           "previous_chain": previous[1] if previous else GENESIS.hex(),
           "exported_at": svc.app.clock().isoformat()}
    after, count, head = first - 1, 0, (previous[1] if previous else GENESIS.hex())
    head_position = first - 1
    while True:
        limit = batch if last is None else min(batch, last - after)
        if limit <= 0:
            break
        page = log_page(svc, after, limit)
        if not page["items"]:
            break
        for item in page["items"]:
            if last is not None and item["position"] > last:
                break
            yield item
            count += 1
            head, head_position = item["chain"], item["position"]
        after = page["items"][-1]["position"]
    yield {"head": {"position": head_position, "chain": head, "events": count}}


def write_export(svc: Services, out: IO[str], first: int = 1, last: int | None = None) -> int:
    """Writes the export as JSON lines; returns how many events it holds."""
    events = 0
    for line in export_lines(svc, first, last):
        out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        if "head" in line:
            events = int(line["head"]["events"])
    return events
