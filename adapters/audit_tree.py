"""A Merkle tree over the log (RFC 6962 / RFC 9162 hashing), kept beside the hash chain.

Leaf i is the i-th chained event's leaf hash (as `adapters.audit_links` stores it). Every
perfect, aligned subtree of at least 16 leaves is stored once in `audit_nodes` as it
completes; smaller ones are hashed from their leaves when needed (at most 8 leaves each),
which keeps one node row per 8 events on the write path instead of one per event. So any
root, inclusion proof or consistency proof needs O(log n) stored hashes and a few leaves,
fetched in two queries. Node hash: SHA-256(0x01 || left || right).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from adapters import audit_links
from adapters.sql import Cursor, Database

NODES_TABLE = "audit_nodes"
NODES_COLUMNS = "(level INTEGER NOT NULL, idx BIGINT NOT NULL, hash TEXT NOT NULL, " \
                "PRIMARY KEY (level, idx))"
NODE_ROW = (("level", "integer"), ("idx", "bigint"), ("hash", "text"))
# Subtrees at this level (2**4 = 16 leaves) and above are stored; those below are hashed
# from their leaves. (Stores written before kept every level; the rows below are unused.)
STORED_LEVEL = 4
Key = tuple[int, int]  # (level, index at that level); level 0 are the leaves


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier(size: int) -> list[Key]:
    """The perfect subtrees a tree of `size` leaves ends with: the left siblings any
    later leaf may need."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length())
            if size >> level & 1]


def fetch(cursor: Cursor, chain_table: str, nodes_table: str, keys: set[Key]) -> dict[Key, bytes]:
    """Hashes for the given keys: leaves from the chain table, subtrees below
    `STORED_LEVEL` hashed from their leaves, the others from the nodes table."""
    found: dict[Key, bytes] = {}
    small = [(level, idx) for level, idx in keys if level < STORED_LEVEL]
    leaves = sorted({leaf for level, idx in small
                     for leaf in range(idx << level, (idx + 1) << level)})
    runs: list[list[int]] = []  # the wanted leaves as runs of consecutive indexes
    for leaf in leaves:
        if runs and leaf == runs[-1][1] + 1:
            runs[-1][1] = leaf
        else:
            runs.append([leaf, leaf])
    for low, high in runs:
        for segment in audit_links.holding_leaves(cursor, chain_table, low, high):
            for offset in range(max(low - segment.first_idx, 0),
                                min(high - segment.first_idx + 1, len(segment.positions))):
                found[(0, segment.first_idx + offset)] = segment.leaf_bytes(offset)
    for level, idx in sorted(small):
        hashes = [found.get((0, leaf)) for leaf in range(idx << level, (idx + 1) << level)]
        if all(h is not None for h in hashes):
            found[(level, idx)] = subtree_hash(hashes)  # type: ignore[arg-type]
    nodes = sorted(key for key in keys if key[0] >= STORED_LEVEL)
    for start in range(0, len(nodes), 250):
        pairs = nodes[start:start + 250]
        cursor.execute(f"SELECT level, idx, hash FROM {nodes_table} WHERE "  # noqa: S608
                       + " OR ".join("(level = ? AND idx = ?)" for _ in pairs),
                       [value for key in pairs for value in key])
        found.update({(int(r["level"]), int(r["idx"])): audit_links.hash_bytes(r["hash"])
                      for r in cursor.fetchall()})
    return found


def subtree_hash(leaves: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree (a power of two of leaves)."""
    level = list(leaves)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def new_nodes(cursor: Cursor, chain_table: str, start: int,
              leaves: Sequence[bytes], nodes_table: str) -> list[tuple[int, int, str]]:
    """The subtrees that leaves `start`, `start + 1`, ... complete, as rows to store. It only
    reads, so a caller reads before it writes: on PostgreSQL the recorder's cursor is in
    pipeline mode, where a read after a batch of writes on the same cursor can be handed the
    writes' status instead of its rows."""
    known = fetch(cursor, chain_table, nodes_table, set(frontier(start)))
    # a level at a time: the nodes built at this level, the first at index `low`; an odd
    # `low` pairs first with the frontier's subtree to its left, then they pair in order
    rows: list[tuple[int, int, str]] = []
    sha256 = hashlib.sha256
    level, low, nodes = 0, start, list(leaves)
    while len(nodes) > 1 or (nodes and low & 1):
        if low & 1:
            low -= 1
            nodes.insert(0, known[(level, low)])
        nodes = [sha256(b"\x01" + nodes[at] + nodes[at + 1]).digest()
                 for at in range(0, len(nodes) - 1, 2)]
        level, low = level + 1, low >> 1
        if level >= STORED_LEVEL:
            rows += [(level, low + at, node.hex()) for at, node in enumerate(nodes)]
    return rows


def store_nodes(cursor: Cursor, nodes_table: str, rows: Sequence[tuple[int, int, str]]) -> None:
    """Writes subtree rows; derived from the leaves alone, so a row left by an earlier,
    discarded chain is replaced."""
    cursor.insert_rows(nodes_table, NODE_ROW, rows,
                       "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash")


class Hashes:
    """Subtree hashes computed from stored ones; used twice: once to learn which stored
    hashes a computation needs (all answers zero), once with them fetched."""

    def __init__(self, stored: dict[Key, bytes] | None = None) -> None:
        self.stored = stored
        self.wanted: set[Key] = set()

    def mth(self, a: int, b: int) -> bytes:
        """MTH(D[a:b])."""
        n = b - a
        if n & (n - 1) == 0 and a % n == 0:
            key = (n.bit_length() - 1, a // n)
            if self.stored is None:
                self.wanted.add(key)
                return bytes(32)
            return self.stored[key]
        k = split(n)
        return node_hash(self.mth(a, a + k), self.mth(a + k, b))

    def path(self, m: int, a: int, b: int) -> list[bytes]:
        """RFC 6962 PATH(m, D[a:b]) for the leaf at absolute index m."""
        if b - a == 1:
            return []
        k = split(b - a)
        if m < a + k:
            return [*self.path(m, a, a + k), self.mth(a + k, b)]
        return [*self.path(m, a + k, b), self.mth(a, a + k)]

    def subproof(self, m: int, a: int, b: int, whole: bool) -> list[bytes]:
        """RFC 6962 SUBPROOF(m, D[a:b], b)."""
        n = b - a
        if m == n:
            return [] if whole else [self.mth(a, b)]
        k = split(n)
        if m <= k:
            return [*self.subproof(m, a, a + k, whole), self.mth(a + k, b)]
        return [*self.subproof(m - k, a + k, b, False), self.mth(a, a + k)]


class MerkleTree:
    """Roots and proofs over the stored tree."""

    def __init__(self, db: Database, chain_table: str = audit_links.LINKS_TABLE) -> None:
        self.db = db
        self.chain_table = chain_table

    def size(self) -> int:
        """How many leaves the tree has."""
        with self.db.transaction(commit=False) as cursor:
            newest = audit_links.last(cursor, self.chain_table)
        return 0 if newest is None else newest.first_idx + len(newest.positions)

    def _run(self, compute: Callable[[Hashes], list[bytes]]) -> list[bytes]:
        probe = Hashes()
        compute(probe)
        with self.db.transaction(commit=False) as cursor:
            stored = fetch(cursor, self.chain_table, NODES_TABLE, probe.wanted)
        return compute(Hashes(stored))

    def root(self, size: int) -> bytes:
        """MTH of the first `size` leaves (SHA-256 of nothing for an empty tree)."""
        if size == 0:
            return hashlib.sha256(b"").digest()
        return self._run(lambda h: [h.mth(0, size)])[0]

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf `index` in the tree of `size` leaves."""
        if not 0 <= index < size:
            raise ValueError(f"no leaf {index} in a tree of {size}")
        return self._run(lambda h: h.path(index, 0, size))

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of `first` leaves is a prefix of the one of `second`."""
        if not 0 < first <= second:
            raise ValueError(f"no consistency proof from {first} to {second} leaves")
        return self._run(lambda h: h.subproof(first, 0, second, True))

    def index_of(self, position: int) -> int | None:
        """The leaf index of a log position, None when nothing is chained there."""
        with self.db.transaction(commit=False) as cursor:
            segment = audit_links.holding_position(cursor, self.chain_table, position)
        offset = None if segment is None else segment.offset_of(position)
        return None if segment is None or offset is None else segment.first_idx + offset

    def leaf(self, index: int) -> tuple[int, bytes] | None:
        """(position, leaf hash) of a leaf index."""
        with self.db.transaction(commit=False) as cursor:
            segments = audit_links.holding_leaves(cursor, self.chain_table, index, index)
        for segment in segments:
            offset = index - segment.first_idx
            if 0 <= offset < len(segment.positions):
                return segment.positions[offset], segment.leaf_bytes(offset)
        return None
