"""API keys: bearer tokens stored as SHA-256 hashes, each with a role and maybe a partner."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from adapters.sql import Database
from domain.errors import InvalidInput

ROLES = ("internal", "auditor", "partner")
TOKEN_PREFIX = "pl_"  # noqa: S105 - a prefix, not a secret

KEYS_TABLE = (
    "CREATE TABLE IF NOT EXISTS api_keys ("
    "key_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, "
    "partner_id TEXT, created_at TEXT NOT NULL, revoked_at TEXT)"
)


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
        """Creates the keys table if missing."""
        self.db.create_tables([KEYS_TABLE])

    def create(self, role: str, partner_id: UUID | None, now: datetime) -> tuple[Principal, str]:
        """A new key; the token is returned once and only its hash is kept."""
        if role not in ROLES:
            raise InvalidInput.field("role", f"Must be one of {', '.join(ROLES)}.")
        if (role == "partner") != (partner_id is not None):
            raise InvalidInput.field(
                "partner_id", "A partner key needs a partner id; other roles take none."
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(uuid4().hex, role, partner_id)
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_keys (key_id, token_hash, role, partner_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    principal.key_id, token_hash(token), role,
                    str(partner_id) if partner_id else None, now.isoformat(),
                ),
            )
        return principal, token

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token stands for, or None for an unknown or revoked token."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT key_id, role, partner_id FROM api_keys "
                "WHERE token_hash = ? AND revoked_at IS NULL",
                (token_hash(token),),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        partner = row["partner_id"]
        return Principal(row["key_id"], row["role"], UUID(partner) if partner else None)

    def revoke(self, key_id: str, now: datetime) -> bool:
        """Revokes a key; False when there is no such active key."""
        with self.db.transaction() as cursor:
            cursor.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (now.isoformat(), key_id),
            )
            return cursor.rowcount == 1
