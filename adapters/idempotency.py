"""Idempotency records: the first response to a key, stored with the events it wrote."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.sql import Database, SideWrite

IDEMPOTENCY_TABLE = (
    "CREATE TABLE IF NOT EXISTS idempotency_keys ("
    "principal TEXT NOT NULL, idempotency_key TEXT NOT NULL, request_hash TEXT NOT NULL, "
    "status INTEGER NOT NULL, body TEXT NOT NULL, events TEXT NOT NULL, "
    "created_at TEXT NOT NULL, PRIMARY KEY (principal, idempotency_key))"
)


@dataclass(frozen=True)
class StoredResponse:
    """A response recorded under an idempotency key."""

    request_hash: str
    status: int
    body: dict[str, Any]
    events: list[tuple[UUID, int]]


def request_hash(method: str, path: str, body: bytes) -> str:
    """Identifies a request: the same key may only ever be used for one of these."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


class IdempotencyStore:
    """Looks up and records responses by (principal, key)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def setup(self) -> None:
        """Creates the table if missing."""
        self.db.create_tables([IDEMPOTENCY_TABLE])

    def find(self, principal: str, key: str) -> StoredResponse | None:
        """The recorded response for a key, if any."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT request_hash, status, body, events FROM idempotency_keys "
                "WHERE principal = ? AND idempotency_key = ?",
                (principal, key),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        events = [(UUID(i), int(v)) for i, v in json.loads(row["events"])]
        return StoredResponse(row["request_hash"], int(row["status"]), json.loads(row["body"]),
                              events)

    def record(
        self,
        principal: str,
        key: str,
        response: StoredResponse,
        now: datetime,
    ) -> SideWrite:
        """The row that records a response, to be written with the command's events."""
        return SideWrite(
            "INSERT INTO idempotency_keys (principal, idempotency_key, request_hash, status, "
            "body, events, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                principal, key, response.request_hash, response.status,
                json.dumps(response.body, sort_keys=True),
                json.dumps([[str(i), v] for i, v in response.events]),
                now.isoformat(),
            ),
        )

    def position_of(self, response: StoredResponse) -> int | None:
        """The log position of the recorded command's last event."""
        positions = [self.db.notification_id(i, v) for i, v in response.events]
        known = [p for p in positions if p is not None]
        return max(known) if known else None
