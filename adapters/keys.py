"""API keys: bearer tokens stored as SHA-256 hashes, each with a role and maybe a partner."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from adapters.clock import utc_now
from adapters.sql import Database
from domain.errors import InvalidInput

ROLES = ("internal", "auditor", "partner")
TOKEN_PREFIX = "pl_"  # noqa: S105 - a prefix, not a secret

KEYS_TABLE = (
    "CREATE TABLE IF NOT EXISTS api_keys ("
    "key_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, "
    "partner_id TEXT, created_at TEXT NOT NULL, revoked_at TEXT, expires_at TEXT, "
    "last_used_at TEXT)"
)
# columns added since the table first shipped
LATER_COLUMNS = {"expires_at": "TEXT", "last_used_at": "TEXT"}
# A key's last use is written at most this often, so reads do not become writes.
LAST_USED_EVERY = timedelta(minutes=1)
# The longest life a key may be given.
MAX_LIFETIME = timedelta(days=3650)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, its role and, for partner keys, the partner."""

    key_id: str
    role: str
    partner_id: UUID | None = None


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


class KeyStore:
    """Creates and checks API keys."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def setup(self) -> None:
        """Creates the keys table if missing, and the columns later versions added."""
        self.db.create_tables([KEYS_TABLE])
        self.db.add_missing_columns("api_keys", LATER_COLUMNS)

    def create(self, role: str, partner_id: UUID | None, now: datetime,
               expires_in: timedelta | None = None) -> tuple[Principal, str]:
        """A new key, valid for `expires_in` when given; the token is returned once and only
        its hash is kept."""
        if role not in ROLES:
            raise InvalidInput.field("role", f"Must be one of {', '.join(ROLES)}.")
        if (role == "partner") != (partner_id is not None):
            raise InvalidInput.field(
                "partner_id", "A partner key needs a partner id; other roles take none."
            )
        if expires_in is not None and not timedelta(0) < expires_in <= MAX_LIFETIME:
            raise InvalidInput.field("expires_in", "Must be more than 0 and at most 3650 days.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(uuid4().hex, role, partner_id)
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_keys (key_id, token_hash, role, partner_id, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    principal.key_id, token_hash(token), role,
                    str(partner_id) if partner_id else None, now.isoformat(),
                    (now + expires_in).isoformat() if expires_in is not None else None,
                ),
            )
        return principal, token

    def authenticate(self, token: str, now: datetime | None = None) -> Principal | None:
        """The principal a token stands for, or None for an unknown, revoked or expired
        token. Notes the key's use (at most once a minute)."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = now or utc_now()
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT key_id, role, partner_id, expires_at, last_used_at FROM api_keys "
                "WHERE token_hash = ? AND revoked_at IS NULL",
                (token_hash(token),),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        if row["expires_at"] and datetime.fromisoformat(row["expires_at"]) <= now:
            return None
        last = row["last_used_at"]
        if last is None or datetime.fromisoformat(last) + LAST_USED_EVERY <= now:
            self._note_use(str(row["key_id"]), now)
        partner = row["partner_id"]
        return Principal(row["key_id"], row["role"], UUID(partner) if partner else None)

    def _note_use(self, key_id: str, now: datetime) -> None:
        # Bookkeeping only: a busy store must not turn it into a failed request.
        try:
            with self.db.transaction() as cursor:
                cursor.execute("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?",
                               (now.isoformat(), key_id))
        except Exception:
            log.warning("could not note the use of key %s", key_id, exc_info=True)

    def listing(self, now: datetime) -> list[dict[str, Any]]:
        """Every key, oldest first: id, role, partner, created, expires, last used, status;
        never the token or its hash."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute("SELECT key_id, role, partner_id, created_at, expires_at, "
                           "last_used_at, revoked_at FROM api_keys ORDER BY created_at, key_id")
            rows = cursor.fetchall()
        keys = []
        for row in rows:
            status = "active"
            if row["revoked_at"]:
                status = "revoked"
            elif row["expires_at"] and datetime.fromisoformat(row["expires_at"]) <= now:
                status = "expired"
            keys.append({"key_id": row["key_id"], "role": row["role"],
                         "partner_id": row["partner_id"], "created_at": row["created_at"],
                         "expires_at": row["expires_at"], "last_used_at": row["last_used_at"],
                         "revoked_at": row["revoked_at"], "status": status})
        return keys

    def revoke(self, key_id: str, now: datetime) -> bool:
        """Revokes a key; False when there is no such active key."""
        with self.db.transaction() as cursor:
            cursor.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (now.isoformat(), key_id),
            )
            return cursor.rowcount == 1
