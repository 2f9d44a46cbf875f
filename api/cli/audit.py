"""`partnerledger audit`: verify the hash chain, export the log with it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from adapters.audit_chain import AuditChain
from api import audit as audit_reads
from api import bootstrap


@click.group()
def audit() -> None:
    """Tamper evidence: verify the log's hash chain, export the log with it."""


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
