"""`partnerledger keys`: create, list and revoke API keys."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import click

from adapters.clock import utc_now
from api import bootstrap
from domain.partners import Partner

_SPAN = re.compile(r"^([1-9]\d{0,5})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_span(value: str | None) -> timedelta | None:
    """`90m`, `12h`, `30d` as a timedelta; None for none."""
    if value is None:
        return None
    match = _SPAN.match(value.strip())
    if match is None:
        raise click.BadParameter("must be a number and m, h or d, such as 30d",
                                 param_hint="--expires-in")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def minute(stamp: str | None) -> str:
    """A stored time to the minute, in UTC; "-" for none."""
    if not stamp:
        return "-"
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


@click.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--role", type=click.Choice(["internal", "auditor", "partner"]), required=True)
@click.option("--partner-id", type=click.UUID, default=None, help="Required for --role partner.")
@click.option("--expires-in", default=None,
              help="Lifetime such as 90m, 12h or 30d (at most 3650d). Default: no expiry.")
def keys_create(role: str, partner_id: UUID | None, expires_in: str | None) -> None:
    """Creates a key; the token is printed once, as the last line."""
    lifetime = parse_span(expires_in)
    svc = bootstrap.services_from_env()
    try:
        if partner_id is not None:
            svc.app.get_aggregate(Partner, partner_id)
        principal, token = svc.keys.create(role, partner_id, utc_now(), lifetime)
    except Exception as error:
        raise click.ClickException(str(getattr(error, "detail", error))) from error
    finally:
        svc.close()
    click.echo(f"key_id: {principal.key_id} role: {role}" +
               (f" partner_id: {partner_id}" if partner_id else "") +
               (f" expires in: {expires_in}" if expires_in else ""))
    click.echo(token)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--active", is_flag=True, help="Only keys that still work.")
def keys_list(as_json: bool, active: bool) -> None:
    """Every key: id, role, partner, created, expires, last used (to the minute) and status.
    Tokens are never shown: only their hashes are stored."""
    svc = bootstrap.services_from_env()
    try:
        listed = svc.keys.listing(utc_now())
    finally:
        svc.close()
    if active:
        listed = [key for key in listed if key["status"] == "active"]
    if as_json:
        for key in listed:
            click.echo(json.dumps(key, sort_keys=True))
        return
    columns = ("key_id", "role", "partner_id", "created_at", "expires_at", "last_used_at",
               "status")
    rows = [[minute(key[c]) if c.endswith("_at") else str(key[c] or "-") for c in columns]
            for key in listed]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    for line in [list(columns), *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                       strict=True)).rstrip())


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revokes a key by its id."""
    svc = bootstrap.services_from_env()
    try:
        if not svc.keys.revoke(key_id, utc_now()):
            raise click.ClickException(f"no active key {key_id}")
    finally:
        svc.close()
    click.echo(f"revoked {key_id}")
