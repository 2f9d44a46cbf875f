"""The standalone verifier, run as a partner would (no site-packages: standard library only),
against genuine evidence and against what a hostile server might hand out instead."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.audit_chain import AuditChain
from adapters.audit_heads import TreeHeads, head_message, new_key_hex, public_of_seed
from adapters.audit_tree import MerkleTree
from api import audit
from api.demo import DEMO_PARTNER_ID, load_demo
from api.services import Services
from domain import commands as c
from tools.verify_export import merkle_root

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "tools" / "verify_export.py"
SEED = new_key_hex()
PUBLIC = public_of_seed(SEED)


@pytest.fixture
def books(services: Services) -> Iterator[Services]:
    """The demo's books, with a signing key configured."""
    services.settings = dataclasses.replace(services.settings, audit_signing_key=SEED)
    assert load_demo(services.app)
    run = services.app.execute(c.RunPayouts(None, uuid.uuid4(), None, (DEMO_PARTNER_ID,)))
    assert run.aggregate is not None
    payouts = [p["id"] for p in vars(run.aggregate)["payouts"]
               if p["partner_id"] == DEMO_PARTNER_ID]
    assert payouts
    services.app.execute(c.FailPayout(None, payouts[0], "bounced"))
    services.projections.catch_up()
    yield services


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", str(VERIFIER), *args, "--key", PUBLIC],
                          capture_output=True, text=True, timeout=120, check=False)


def write(path: Path, lines: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def export(svc: Services) -> list[dict[str, Any]]:
    out = io.StringIO()
    audit.write_export(svc, out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def restate(stored: dict[str, Any], old: str, new: str) -> None:
    state = base64.b64decode(stored["state"]).decode()
    assert old in state
    stored["state"] = base64.b64encode(state.replace(old, new, 1).encode()).decode()


def test_a_genuine_export_verifies_and_a_doctored_one_does_not(books: Services,
                                                               tmp_path: Path) -> None:
    lines = export(books)
    assert lines[-1]["tree_head"]["public_key"] == PUBLIC
    good = verify("export", write(tmp_path / "good.jsonl", lines))
    assert good.returncode == 0 and "chain verified" in good.stdout, good.stderr

    amount = json.loads(json.dumps(lines))
    target = next(line for line in amount[1:-1] if "499.00" in
                  base64.b64decode(line["stored"]["state"]).decode())
    restate(target["stored"], "499.00", "4990.00")
    changed = verify("export", write(tmp_path / "amount.jsonl", amount))
    assert changed.returncode == 1 and "altered" in changed.stderr

    dropped = lines[:5] + lines[6:]
    assert verify("export", write(tmp_path / "dropped.jsonl", dropped)).returncode == 1


def statement(svc: Services) -> list[dict[str, Any]]:
    return list(audit.statement_proof_lines(svc, DEMO_PARTNER_ID))


def test_a_partner_checks_its_statement_alone_and_forgeries_fail(books: Services,
                                                                  tmp_path: Path) -> None:
    lines = statement(books)
    assert lines[0]["lines"] == len(lines) - 1 >= 3
    assert {line["entry"]["kind"] for line in lines[1:]} >= {"accrual", "payout",
                                                             "payout_failed"}
    # nothing of other partners: only hashes in the proofs, only this partner's events
    account = str(uuid.uuid5(uuid.NAMESPACE_URL, f"partnerledger:account:{DEMO_PARTNER_ID}"))
    for line in lines[1:]:
        state = base64.b64decode(line["event"]["state"]).decode()
        assert line["event"]["stream_id"] == account or DEMO_PARTNER_ID.hex in state
    good = verify("statement", write(tmp_path / "good.jsonl", lines))
    assert good.returncode == 0, good.stderr

    amount = json.loads(json.dumps(lines))
    amount[1]["entry"]["amount"]["amount"] = "1000000.00"
    assert verify("statement", write(tmp_path / "a.jsonl", amount)).returncode == 1

    both = json.loads(json.dumps(lines))
    shown = both[1]["entry"]["amount"]["amount"]
    restate(both[1]["event"], shown, "1000000.00")
    both[1]["entry"]["amount"]["amount"] = "1000000.00"
    assert verify("statement", write(tmp_path / "b.jsonl", both)).returncode == 1

    assert verify("statement", write(tmp_path / "c.jsonl", lines[:2] + lines[3:])).returncode == 1

    swapped = json.loads(json.dumps(lines))
    swapped[1]["proof"], swapped[2]["proof"] = swapped[2]["proof"], swapped[1]["proof"]
    assert verify("statement", write(tmp_path / "d.jsonl", swapped)).returncode == 1

    other = json.loads(json.dumps(lines))
    stranger = Ed25519PrivateKey.generate()
    head = other[0]["tree_head"]
    head["public_key"] = stranger.public_key().public_bytes_raw().hex()
    head["signature"] = stranger.sign(head_message(head["tree_size"], head["root"],
                                                   head["signed_at"])).hex()
    refused = verify("statement", write(tmp_path / "e.jsonl", other))
    assert refused.returncode == 1 and "another key" in refused.stderr


def test_two_heads_are_consistent_and_a_rewritten_history_is_not(books: Services,
                                                                   tmp_path: Path) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED))
    heads = TreeHeads(books.db)
    tree = MerkleTree(books.db)
    small = heads.sign(key, books.app.clock(), 11).to_json()
    large = heads.sign(key, books.app.clock()).to_json()
    proof = audit.consistency_proof(books, 11, large["tree_size"])
    files = []
    for name, value in (("h1", small), ("h2", large), ("p", proof)):
        (tmp_path / f"{name}.json").write_text(json.dumps(value))
        files.append(str(tmp_path / f"{name}.json"))
    good = verify("heads", *files)
    assert good.returncode == 0, good.stderr

    # a server that rewrote event 3 and signed the new tree with its own key
    leaves = [bytes.fromhex(leaf) for leaf, _ in AuditChain(books.db).links(0, 10**12).values()]
    leaves[3] = bytes(32)
    forged_root = merkle_root(leaves).hex()
    forged = {**large, "root": forged_root}
    forged["signature"] = key.sign(head_message(forged["tree_size"], forged_root,
                                                forged["signed_at"])).hex()
    Path(files[1]).write_text(json.dumps(forged))
    bad = verify("heads", *files)
    assert bad.returncode == 1 and "not consistent" in bad.stderr
    assert tree.size() == large["tree_size"]
