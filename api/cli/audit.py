"""`partnerledger audit`: verify the hash chain, export the log with it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from adapters.audit_chain import AuditChain
from adapters.audit_heads import TreeHeads, new_key_hex, public_of_seed, signing_key
from api import audit as audit_reads
from api import bootstrap
from api.operator_errors import operator_message


@click.group()
def audit() -> None:
    """Tamper evidence: the hash chain, the Merkle tree's signed heads, exports."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(as_json: bool) -> None:
    """Recomputes the chain; exits 1 naming the first position altered, removed or reordered."""
    svc = bootstrap.services_from_env()
    try:
        result = AuditChain(svc.db).verify()
    finally:
        svc.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), sort_keys=True))
    elif result.finding is None:
        click.echo(f"ok: {result.checked} events, head {result.head} at position "
                   f"{result.head_position}")
    else:
        finding = result.finding
        click.echo(f"TAMPERED at position {finding.position}: {finding.problem} "
                   f"({finding.detail}); {result.checked} events before it verify", err=True)
    if result.finding is not None:
        sys.exit(1)


@audit.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--from", "first", type=click.IntRange(min=1), default=1, show_default=True,
              help="First log position.")
@click.option("--to", "last", type=click.IntRange(min=1), default=None,
              help="Last log position. Default: the end of the log.")
def audit_export(out: Path, first: int, last: int | None) -> None:
    """Writes the log (or a stretch of it) with its chain, as JSON lines."""
    if last is not None and last < first:
        raise click.BadParameter("--to must not be before --from", param_hint="--to")
    svc = bootstrap.services_from_env()
    try:
        with out.open("w") as handle:
            events = audit_reads.write_export(svc, handle, first, last)
    finally:
        svc.close()
    click.echo(f"exported {events} events to {out}")


@audit.command("keygen")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def audit_keygen(out: Path) -> None:
    """Writes a new Ed25519 signing key (hex seed, mode 600); prints its public key."""
    if out.exists():
        raise click.ClickException(f"{out} exists; not overwriting a signing key")
    seed = new_key_hex()
    out.touch(mode=0o600)
    out.write_text(seed + "\n")
    click.echo(f"public key: {public_of_seed(seed)}")
    click.echo(f"set PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE={out} to sign tree heads with it")


@audit.command("digest")
@click.option("--publish", is_flag=True,
              help="Also publish the head to the heads topic (PARTNERLEDGER_HEADS_TOPIC).")
def audit_digest(publish: bool) -> None:
    """Signs and records the head of the log's Merkle tree (size, root, time); prints it, and
    with --publish sends it to Kafka, where partners and auditors can keep every head."""
    svc = bootstrap.services_from_env()
    try:
        key = signing_key(svc.settings)
        if key is None:
            raise click.ClickException(
                "no signing key: set PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE (see audit keygen)")
        head = TreeHeads(svc.db).sign(key, svc.app.clock())
    finally:
        svc.close()
    click.echo(json.dumps(head.to_json(), sort_keys=True))
    if publish:
        try:
            partition, offset = bootstrap.publish_head(svc.settings, head.to_json())
        except Exception as error:
            # the head is recorded either way; publishing it again sends the same record
            raise click.ClickException(
                f"the head of size {head.tree_size} is recorded but was not published: "
                f"{operator_message(error) or error}") from error
        click.echo(f"published to {svc.settings.heads_topic}:{partition}:{offset}", err=True)


@audit.command("heads")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=20, show_default=True)
def audit_heads(limit: int) -> None:
    """Recorded tree heads, largest first, one JSON object a line."""
    svc = bootstrap.services_from_env()
    try:
        heads = TreeHeads(svc.db).recent(limit)
    finally:
        svc.close()
    for head in heads:
        click.echo(json.dumps(head.to_json(), sort_keys=True))
