"""The standalone verifier's own primitives: Ed25519 against the cryptography package,
Merkle roots against RFC 6962's recursive definition."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.audit_tree import Hashes
from tools.verify_export import ed25519_verify, merkle_root, node


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, as written."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(mth(leaves[:k]), mth(leaves[k:]))


def test_ed25519_signatures_of_the_cryptography_package_verify_and_forgeries_do_not() -> None:
    for i in range(5):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes_raw()
        message = f"partnerledger-tree-head\n{i}\n".encode()
        signature = key.sign(message)
        assert ed25519_verify(public, message, signature)
        assert not ed25519_verify(public, message + b"x", signature)
        assert not ed25519_verify(public, message, signature[:-1] + bytes([signature[-1] ^ 1]))
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        assert not ed25519_verify(other, message, signature)


def test_the_bottom_up_root_is_the_recursive_one() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(70)]
    for n in range(1, 71):
        stored = {(0, i): leaf for i, leaf in enumerate(leaves[:n])}
        level = 0
        while True:  # every perfect aligned subtree, as the store keeps them
            level += 1
            width = 1 << level
            if width > n:
                break
            for i in range(n // width):
                stored[(level, i)] = node(stored[(level - 1, 2 * i)],
                                          stored[(level - 1, 2 * i + 1)])
        assert merkle_root(leaves[:n]) == mth(leaves[:n]) == Hashes(stored).mth(0, n)
