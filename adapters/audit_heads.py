"""Signed tree heads: the Merkle root of the log at a size, signed with Ed25519 and recorded.

A head is what the operator publishes (and a partner keeps): whoever holds two heads can ask
for a consistency proof, and whoever holds one can check any event's inclusion proof
against it, without trusting the server. The signing key is a 32-byte Ed25519 seed, given in
hex by PARTNERLEDGER_AUDIT_SIGNING_KEY or in a file named by
PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE (`partnerledger audit keygen` writes one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.audit_tree import MerkleTree
from adapters.settings import ConfigurationError, Settings
from adapters.sql import Database

HEADS_TABLE = (
    "CREATE TABLE IF NOT EXISTS audit_heads (tree_size BIGINT NOT NULL, root TEXT NOT NULL, "
    "signed_at TEXT NOT NULL, public_key TEXT NOT NULL, signature TEXT NOT NULL, "
    "PRIMARY KEY (tree_size, public_key))"
)


@dataclass(frozen=True)
class TreeHead:
    """A signed statement: the first `tree_size` events of the log have Merkle root `root`."""

    tree_size: int
    root: str
    signed_at: str
    public_key: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def head_message(tree_size: int, root: str, signed_at: str) -> bytes:
    """The bytes a head's signature covers (tools/verify_export.py builds the same)."""
    return f"partnerledger-tree-head\n{tree_size}\n{root}\n{signed_at}\n".encode()


def signing_key(settings: Settings) -> Ed25519PrivateKey | None:
    """The configured signing key, None when none is configured."""
    text = settings.audit_signing_key.strip()
    if not text and settings.audit_signing_key_file:
        try:
            text = Path(settings.audit_signing_key_file).read_text().strip()
        except OSError as error:
            raise ConfigurationError(
                f"PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE: {error.strerror}") from None
    if not text:
        return None
    try:
        seed = bytes.fromhex(text)
        if len(seed) != 32:
            raise ValueError
    except ValueError:
        message = ("The audit signing key must be 32 bytes in hex (64 characters); "
                   "`partnerledger audit keygen` makes one.")
        raise ConfigurationError(message) from None
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_key_hex() -> str:
    """A fresh signing key's seed, in hex."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption()).hex()


def public_of_seed(seed_hex: str) -> str:
    """The public key of a seed, in hex."""
    return public_hex(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)))


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


class TreeHeads:
    """Signs and records heads; lists the recorded ones."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.tree = MerkleTree(db)

    def setup(self) -> None:
        self.db.create_tables([HEADS_TABLE])

    def sign(self, key: Ed25519PrivateKey, now: datetime, size: int | None = None) -> TreeHead:
        """Signs the head of the tree as it is now (or at `size`) and records it; a size
        already signed with this key answers the recorded head."""
        size = self.tree.size() if size is None else size
        public = public_hex(key)
        found = self.find(size, public)
        if found is not None:
            return found
        root = self.tree.root(size).hex()
        signed_at = now.isoformat()
        signature = key.sign(head_message(size, root, signed_at)).hex()
        head = TreeHead(size, root, signed_at, public, signature)
        with self.db.transaction() as cursor:
            cursor.execute("INSERT INTO audit_heads (tree_size, root, signed_at, public_key, "
                           "signature) VALUES (?, ?, ?, ?, ?)",
                           (size, root, signed_at, public, signature))
        return head

    def find(self, size: int, public_key: str | None = None) -> TreeHead | None:
        """The recorded head of a size (by a key, when given)."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute("SELECT tree_size, root, signed_at, public_key, signature "
                           "FROM audit_heads WHERE tree_size = ? "
                           "AND (? = '' OR public_key = ?) ORDER BY signed_at DESC LIMIT 1",
                           (size, public_key or "", public_key or ""))
            row = cursor.fetchone()
        return None if row is None else self._head(row)

    def latest(self) -> TreeHead | None:
        """The newest recorded head."""
        heads = self.recent(1)
        return heads[0] if heads else None

    def recent(self, limit: int) -> list[TreeHead]:
        """Recorded heads, largest first."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute("SELECT tree_size, root, signed_at, public_key, signature "
                           "FROM audit_heads ORDER BY tree_size DESC, signed_at DESC LIMIT ?",
                           (limit,))
            return [self._head(row) for row in cursor.fetchall()]

    @staticmethod
    def _head(row: Any) -> TreeHead:
        return TreeHead(int(row["tree_size"]), row["root"], row["signed_at"],
                        row["public_key"], row["signature"])
