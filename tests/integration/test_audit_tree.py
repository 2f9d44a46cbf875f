"""The Merkle tree kept beside the chain: roots and proofs as RFC 6962 defines them, checked
by the standalone verifier, on both stores and across many transactions."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from adapters.audit_chain import AuditChain
from adapters.audit_tree import STORED_LEVEL, MerkleTree
from api.demo import load_demo
from api.services import Services
from domain import commands as c
from domain.money import Money
from tests.conftest import count_events
from tools.verify_export import merkle_root, verify_consistency, verify_inclusion


def leaves(svc: Services) -> list[bytes]:
    return [bytes.fromhex(leaf) for leaf, _ in AuditChain(svc.db).links(0, 10**12).values()]


def grow(svc: Services) -> None:
    """The demo, then payments one per transaction and in batches of uneven sizes."""
    assert load_demo(svc.app)
    when = datetime.now(UTC) - timedelta(days=1)
    payments = [c.RecordPayment(when, f"in_tree_{i}", f"cust-{i}", Money.parse("1.00", "USD"))
                for i in range(60)]
    for command in payments[:7]:
        svc.app.execute(command)
    svc.app.execute_batch(payments[7:20])
    svc.app.execute_batch(payments[20:21])
    svc.app.execute_batch(payments[21:])


def test_roots_and_proofs_at_every_size_verify_with_the_standalone_checker(
        services: Services) -> None:
    grow(services)
    tree = MerkleTree(services.db)
    all_leaves = leaves(services)
    size = tree.size()
    assert size == len(all_leaves) == count_events(services) > 80
    rng = random.Random(7)
    roots = {}
    for n in range(1, size + 1):
        roots[n] = tree.root(n)
        assert roots[n] == merkle_root(all_leaves[:n]), n
    for n in [1, 2, 3, 4, 5, 8, 13, 16, 31, 32, 33, size - 1, size]:
        for index in {0, n - 1, rng.randrange(n), n // 2}:
            path = tree.inclusion(index, n)
            assert verify_inclusion(index, n, all_leaves[index], path, roots[n]), (index, n)
            if n > 1:  # a proof for one leaf does not prove another
                other = (index + 1) % n
                assert not verify_inclusion(other, n, all_leaves[other], path, roots[n])
        for m in {1, min(2, n), n // 2 or 1, n - 1 or 1, n, rng.randrange(1, n + 1)}:
            proof = tree.consistency(m, n)
            assert verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            if m < n:
                forged = bytes(32)
                assert not verify_consistency(m, n, forged, roots[n], proof)
                assert not verify_consistency(m, n, roots[m], forged, proof)


def test_the_tree_is_rebuilt_for_events_stored_before_it_existed(services: Services) -> None:
    grow(services)
    tree = MerkleTree(services.db)
    root = tree.root(tree.size())
    with services.db.transaction() as cursor:
        cursor.execute("DELETE FROM audit_nodes")
        cursor.execute("DELETE FROM audit_links")
    AuditChain(services.db).setup()
    assert tree.root(tree.size()) == root
    services.app.execute(c.RecordPayment(None, f"in_{uuid.uuid4().hex}", "cust-x",
                                         Money.parse("2.00", "USD")))
    assert tree.root(tree.size()) == merkle_root(leaves(services))


def test_only_subtrees_of_sixteen_leaves_and_more_are_stored(services: Services) -> None:
    grow(services)
    tree = MerkleTree(services.db)
    size = tree.size()
    assert size > 2 * 16
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT MIN(level) AS low, COUNT(*) AS n FROM audit_nodes")
        row = cursor.fetchone()
    assert row is not None and int(row["low"]) == STORED_LEVEL
    # one stored node per 8 leaves at most, where every level would be one per leaf
    assert int(row["n"]) <= size // 8
    all_leaves = leaves(services)
    for index in (0, 15, 16, size - 1):
        assert verify_inclusion(index, size, all_leaves[index], tree.inclusion(index, size),
                                merkle_root(all_leaves))
