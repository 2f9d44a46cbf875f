"""What auditors read: the log with its chain, one stream's events and state, exports.

Shared by the HTTP audit routes and `partnerledger audit`; every answer is plain JSON.
A stored event that no longer decodes (an altered row) is still listed, with its raw state
and the decoding error, so a tampered store can be read and shown, never crash a read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from adapters.audit_chain import GENESIS, AuditChain, stream_text
from adapters.audit_heads import TreeHead, TreeHeads, signing_key
from adapters.audit_tree import MerkleTree
from api.event_documents import event_document, plain
from api.services import Services
from domain.errors import InvalidInput, InvalidTransition, NotFound
from projections.money import from_minor

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


def stored(notification: Notification) -> dict[str, Any]:
    """The event exactly as stored (state in base64): what its leaf hash covers."""
    return {"position": notification.id, "stream_id": stream_text(notification.originator_id),
            "version": notification.originator_version, "topic": notification.topic,
            "state": base64.b64encode(bytes(notification.state)).decode()}


def log_page(svc: Services, after: int, limit: int, raw: bool = False) -> dict[str, Any]:
    """The global log after a position, each event with its chain link (and, with `raw`,
    the stored bytes the link covers)."""
    notifications = svc.app.recorder.select_notifications(after + 1, limit)
    links = AuditChain(svc.db).links(after, notifications[-1].id) if notifications else {}
    items = []
    for notification in notifications:
        leaf, chain = links.get(notification.id, (None, None))
        item = {**document(svc, notification), "leaf": leaf, "chain": chain}
        if raw:
            item["stored"] = stored(notification)
        items.append(item)
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
        page = log_page(svc, after, limit, raw=True)
        if not page["items"]:
            break
        for item in page["items"]:
            if last is not None and item["position"] > last:
                break
            yield item
            count += 1
            head, head_position = item["chain"], item["position"]
        after = page["items"][-1]["position"]
    closing: dict[str, Any] = {"head": {"position": head_position, "chain": head,
                                        "events": count}}
    key = signing_key(svc.settings)
    tree = MerkleTree(svc.db)
    size = tree.index_of(head_position) if count else None
    if key is not None and first == 1 and size is not None:
        closing["tree_head"] = TreeHeads(svc.db).sign(key, svc.app.clock(), size + 1).to_json()
    yield closing


def write_export(svc: Services, out: IO[str], first: int = 1, last: int | None = None) -> int:
    """Writes the export as JSON lines; returns how many events it holds."""
    events = 0
    for line in export_lines(svc, first, last):
        out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        if "head" in line:
            events = int(line["head"]["events"])
    return events


def tree_head_for(svc: Services, tree_size: int | None) -> TreeHead:
    """A signed head of the given size (the newest recorded one without a size), signing
    one if a key is configured and none is recorded."""
    heads = TreeHeads(svc.db)
    head = heads.latest() if tree_size is None else heads.find(tree_size)
    if head is None:
        key = signing_key(svc.settings)
        if key is None:
            raise InvalidTransition("No tree head is recorded and no signing key is "
                                    "configured: run `partnerledger audit digest` first.")
        head = heads.sign(key, svc.app.clock(), tree_size)
    return head


def inclusion_proof(svc: Services, position: int, tree_size: int | None) -> dict[str, Any]:
    """The audit path of the event at a log position in a tree of `tree_size` events."""
    tree = MerkleTree(svc.db)
    size = tree.size() if tree_size is None else tree_size
    index = tree.index_of(position)
    if index is None:
        raise NotFound(f"No chained event at position {position}.")
    if size > tree.size() or index >= size:
        raise InvalidInput({"tree_size": [f"Must lie between {index + 1} and {tree.size()} "
                                          "for this position."]})
    found = tree.leaf(index)
    assert found is not None
    return {"position": position, "leaf_index": index, "tree_size": size,
            "leaf_hash": found[1].hex(),
            "audit_path": [h.hex() for h in tree.inclusion(index, size)],
            "root": tree.root(size).hex()}


def consistency_proof(svc: Services, first: int, second: int) -> dict[str, Any]:
    """The proof that the log of `first` events is a prefix of the log of `second`."""
    tree = MerkleTree(svc.db)
    size = tree.size()
    if not 1 <= first <= second <= size:
        raise InvalidInput({"second": [f"Need 1 <= first <= second <= {size}."]})
    return {"first": first, "second": second, "first_root": tree.root(first).hex(),
            "second_root": tree.root(second).hex(),
            "proof": [h.hex() for h in tree.consistency(first, second)]}


def statement_proof_lines(svc: Services, partner_id: UUID) -> Iterator[dict[str, Any]]:
    """A partner's statement, each line with its event and the inclusion proof against a
    signed head; only hashes of anyone else's events appear in the proofs."""
    head = tree_head_for(svc, None)
    tree = MerkleTree(svc.db)
    with svc.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT seq, entry_id, kind, amount, currency, occurred_at, "
                       "source_type, source_id FROM statement WHERE partner_id = ? "
                       "ORDER BY seq", (str(partner_id),))
        rows = cursor.fetchall()
    indexes = [tree.index_of(int(row["seq"])) for row in rows]
    covered = [row for row, index in zip(rows, indexes, strict=True)
               if index is not None and index < head.tree_size]
    yield {"format": "partnerledger-statement-proofs", "version": 1,
           "partner_id": str(partner_id), "tree_head": head.to_json(),
           "lines": len(covered), "not_yet_covered": len(rows) - len(covered)}
    for row in covered:
        position = int(row["seq"])
        event = svc.app.recorder.select_notifications(position, 1)[0]
        proof = inclusion_proof(svc, position, head.tree_size)
        yield {"entry": {"entry_id": row["entry_id"], "kind": row["kind"],
                         "partner_id": str(partner_id),
                         "amount": from_minor(int(row["amount"]), row["currency"]).to_json(),
                         "occurred_at": row["occurred_at"],
                         "source": {"type": row["source_type"], "id": row["source_id"]}},
               "event": stored(event),
               "proof": {k: proof[k] for k in ("leaf_index", "tree_size", "leaf_hash",
                                                "audit_path")}}
