#!/usr/bin/env python3
"""Checks partnerledger's audit evidence offline, with the Python standard library only.

  python3 verify_export.py export LOG.jsonl [--key PUBLIC_KEY_HEX]
  python3 verify_export.py statement STATEMENT.jsonl [--key PUBLIC_KEY_HEX]
  python3 verify_export.py heads HEAD1.json HEAD2.json PROOF.json [--key PUBLIC_KEY_HEX]

- An export (`partnerledger audit export`): every event's leaf hash is recomputed from its
  stored bytes, the hash chain from the value before the first line, the Merkle root of the
  whole log when the export starts at the beginning, and the signature on its tree head.
- A statement export (GET /partners/{id}/statement/proofs): each line's event is hashed, its
  inclusion proof checked against the signed tree head, and the line's amount, kind and
  source read back from the hashed event itself, so a changed amount does not pass.
- Two tree heads and a consistency proof (GET /audit/proofs/consistency): both heads signed
  by the key, and the smaller tree a prefix of the larger one.

Hashing is RFC 6962 / RFC 9162 (leaf SHA-256(0x00 || entry), node SHA-256(0x01 || l || r));
signatures are Ed25519 (RFC 8032), verified here in pure Python. Pass `--key` to require a
particular signing key (the one the operator publishes); without it the key in the head is
reported, not trusted. Exit status 0: all checks passed; 1: something did not verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

# --- RFC 6962 hashing -------------------------------------------------------------------


def leaf_hash(position: int, stream_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The leaf of one stored event, as the server computes it."""
    head = f"{position}\n{UUID(str(stream_id))}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(b"\x00" + head + state).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH over all leaves (RFC 6962 section 2.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # bottom-up over the same shape as the recursive definition: carry a lone last node up
    while len(level) > 1:
        nxt = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes],
                     root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if first < 1 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# --- Ed25519 verification (RFC 8032 section 6) ------------------------------------------

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
Q = 2**252 + 27742317777372353535851937790883648493
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def _add(a: Point, b: Point) -> Point:
    x = (a[1] - a[0]) * (b[1] - b[0]) % P
    y = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    d = 2 * a[2] * b[2] % P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s: int, p: Point) -> Point:
    q: Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(raw: bytes) -> Point | None:
    if len(raw) != 32:
        return None
    y = int.from_bytes(raw, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
assert _GX is not None
G: Point = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is the holder of `public`'s signature on `message`."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


# --- tree heads ---------------------------------------------------------------------------


def head_message(head: dict[str, Any]) -> bytes:
    """The bytes a tree head's signature covers."""
    return (f"partnerledger-tree-head\n{int(head['tree_size'])}\n{head['root']}\n"
            f"{head['signed_at']}\n").encode()


class Failed(Exception):
    """A check did not pass."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Failed(what)


def check_head(head: dict[str, Any], key: str | None) -> None:
    """The head is signed by its key (and that key is `key` when given)."""
    check(key is None or head.get("public_key") == key,
          f"tree head of size {head.get('tree_size')} is signed by another key")
    try:
        valid = ed25519_verify(bytes.fromhex(head["public_key"]), head_message(head),
                               bytes.fromhex(head["signature"]))
    except (KeyError, ValueError, TypeError):
        valid = False
    check(valid, f"tree head of size {head.get('tree_size')}: bad signature")


def stored_state(event: dict[str, Any]) -> bytes:
    return base64.b64decode(event["state"], validate=True)


def event_leaf(event: dict[str, Any]) -> bytes:
    return leaf_hash(int(event["position"]), event["stream_id"], int(event["version"]),
                     event["topic"], stored_state(event))


def read_lines(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def check_export(path: str, key: str | None) -> str:
    """Checks an audit export; returns a one-line summary."""
    lines = read_lines(path)
    check(len(lines) >= 2 and lines[0].get("format") == "partnerledger-audit-export",
          "not an audit export (no header line)")
    header, closing, events = lines[0], lines[-1], lines[1:-1]
    check("head" in closing, "the export is cut short: no closing line")
    previous = bytes.fromhex(header["previous_chain"])
    leaves: list[bytes] = []
    last_position = int(header["from"]) - 1
    for line in events:
        stored = line.get("stored") or {}
        position = int(line["position"])
        check(position > last_position, f"position {position}: out of order")
        check(stored.get("position") == position, f"position {position}: stored copy differs")
        leaf = event_leaf(stored)
        check(leaf.hex() == line["leaf"], f"position {position}: the event was altered")
        previous = hashlib.sha256(previous + leaf).digest()
        check(previous.hex() == line["chain"], f"position {position}: the chain is broken")
        leaves.append(leaf)
        last_position = position
    head = closing["head"]
    check(int(head["events"]) == len(events), "events are missing from the export")
    check(head["chain"] == previous.hex(), "the closing chain value does not match")
    summary = f"export: {len(events)} events, chain verified"
    tree_head = closing.get("tree_head")
    if tree_head is not None and int(header["from"]) == 1:
        check(int(tree_head["tree_size"]) == len(leaves), "tree head does not cover the export")
        check(merkle_root(leaves).hex() == tree_head["root"], "Merkle root does not match")
        check_head(tree_head, key)
        summary += f", root {tree_head['root'][:16]}... signed by {tree_head['public_key'][:16]}..."
    elif key is not None:
        raise Failed("a key was given but the export carries no signed tree head")
    return summary


def money_in(state: dict[str, Any]) -> tuple[Decimal, str] | None:
    """The amount an accrual, reversal, payout or adjustment event carries."""
    amount = state.get("amount")
    if isinstance(amount, dict) and "_data_" in amount:
        amount = amount["_data_"]
    if isinstance(amount, dict) and "amount" in amount:
        return Decimal(str(amount["amount"])), str(amount["currency"])
    return None


def uuid_in(value: Any) -> str | None:
    """A UUID as the event stores it (plain, or transcoded as {"_type_", "_data_"})."""
    if isinstance(value, dict):
        value = value.get("_data_")
    try:
        return str(UUID(str(value))) if value is not None else None
    except ValueError:
        return None


def check_statement(path: str, key: str | None) -> str:
    """Checks a partner's statement export; returns a one-line summary."""
    lines = read_lines(path)
    check(len(lines) >= 1 and lines[0].get("format") == "partnerledger-statement-proofs",
          "not a statement export (no header line)")
    head = lines[0]["tree_head"]
    check_head(head, key)
    root, size = bytes.fromhex(head["root"]), int(head["tree_size"])
    check(len(lines) - 1 == int(lines[0]["lines"]), "lines are missing from the statement")
    count = 0
    payouts: dict[str, Decimal] = {}
    for line in lines[1:]:
        event, proof, entry = line["event"], line["proof"], line["entry"]
        leaf = event_leaf(event)
        check(leaf.hex() == proof["leaf_hash"], f"entry {entry.get('entry_id')}: event altered")
        check(int(proof["tree_size"]) == size, f"entry {entry.get('entry_id')}: other tree")
        path_ok = verify_inclusion(int(proof["leaf_index"]), size, leaf,
                                   [bytes.fromhex(h) for h in proof["audit_path"]], root)
        check(path_ok, f"entry {entry.get('entry_id')}: inclusion proof does not verify")
        state = json.loads(stored_state(event))
        found = money_in(state)
        shown = entry["amount"]
        if found is None and entry["kind"] == "payout_failed":
            # the failure names the payout; its amount is the payout line's
            found = (payouts.get(str(entry["entry_id"]), Decimal("NaN")), shown["currency"])
        check(found is not None and abs(found[0]) == abs(Decimal(shown["amount"]))
              and found[1] == shown["currency"],
              f"entry {entry.get('entry_id')}: the amount differs from the recorded event")
        if entry["kind"] == "payout":
            payouts[str(entry["entry_id"])] = abs(Decimal(shown["amount"]))
        partner = str(UUID(entry["partner_id"]))
        account = str(uuid5(NAMESPACE_URL, f"partnerledger:account:{partner}"))
        owner = uuid_in(state.get("partner_id"))
        check(owner == partner or (owner is None and str(UUID(event["stream_id"])) == account),
              f"entry {entry.get('entry_id')}: belongs to another partner")
        count += 1
    return f"statement: {count} lines, each included in the tree of {size} events"


def check_heads(first: dict[str, Any], second: dict[str, Any], proof: dict[str, Any],
                key: str | None) -> str:
    """Checks that two signed heads are consistent; returns a one-line summary."""
    check_head(first, key)
    check_head(second, key)
    small, large = sorted((first, second), key=lambda h: int(h["tree_size"]))
    check(int(proof["first"]) == int(small["tree_size"])
          and int(proof["second"]) == int(large["tree_size"]), "proof is for other sizes")
    ok = verify_consistency(int(small["tree_size"]), int(large["tree_size"]),
                            bytes.fromhex(small["root"]), bytes.fromhex(large["root"]),
                            [bytes.fromhex(h) for h in proof["proof"]])
    check(ok, "the heads are not consistent: the larger log does not extend the smaller")
    return f"heads: {small['tree_size']} events is a prefix of {large['tree_size']}"


def main(argv: Iterable[str]) -> int:
    args = list(argv)
    key = None
    if "--key" in args:
        at = args.index("--key")
        key = args[at + 1].lower()
        del args[at:at + 2]
    try:
        if len(args) == 2 and args[0] == "export":
            print(check_export(args[1], key))
        elif len(args) == 2 and args[0] == "statement":
            print(check_statement(args[1], key))
        elif len(args) == 4 and args[0] == "heads":
            heads = [json.load(open(p, encoding="utf-8")) for p in args[1:]]  # noqa: SIM115
            print(check_heads(heads[0], heads[1], heads[2], key))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Failed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"FAILED: unreadable input: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
