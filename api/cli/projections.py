"""`partnerledger projections`: run, inspect and rebuild the read models."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from api import bootstrap
from api.cli.signals import stop_on_signals
from projections.rebuild import Rebuild
from projections.runner import ProjectionFailed
from projections.table_diff import MORE, MOST_DIFFERENCES


@click.group()
def projections() -> None:
    """Read models."""


@projections.command("run")
@click.option("--interval", type=float, default=0.2, show_default=True)
@click.option("--batch-size", type=int, default=1000, show_default=True)
@click.option("--once", is_flag=True, help="Catch up and exit.")
def projections_run(interval: float, batch_size: int, once: bool) -> None:
    """Keeps every projection caught up until SIGTERM or SIGINT."""
    svc = bootstrap.services_from_env()
    for runner in svc.projections.runners:
        runner.batch_size = batch_size
    stop = stop_on_signals()
    try:
        while True:
            try:
                position = svc.projections.catch_up()
            except ProjectionFailed:
                # logged where it stopped; the others were caught up, and it is retried
                position = svc.projections.position()
                if once:
                    raise
            if once or stop.wait(interval):
                break
        click.echo(f"projections at position {position}")
    finally:
        svc.close()


@projections.command("rebuild")
@click.argument("name", required=False)
@click.option("--verify", is_flag=True,
              help="Compare the rebuilt tables with the live ones instead of swapping them "
                   "in; exit 1 naming table, key and column of every difference.")
def projections_rebuild(name: str | None, verify: bool) -> None:
    """Rebuilds read models from the whole log beside the live ones, then swaps them in."""
    svc = bootstrap.services_from_env()
    try:
        runners = [svc.projections.get(name)] if name else svc.projections.runners
    except KeyError:
        svc.close()
        raise click.ClickException(f"no projection named {name}") from None
    differences = 0
    try:
        for runner in runners:
            rebuild = Rebuild(svc.app, svc.db, runner, progress=progress_line(runner.name))
            position, found = rebuild.run(verify)
            click.echo("", err=True)
            kept = [d for d in found if d.column != MORE]
            capped = [d.table for d in found if d.column == MORE]
            for difference in kept[:100]:
                click.echo(f"DIFFERENT {difference.describe()}")
            differences += len(found)
            verb = "verified" if verify else "rebuilt and swapped in"
            click.echo(f"{runner.name}: {verb} at position {position}"
                       + (f", {len(kept)} differences" if verify else "")
                       + (f" (counting stopped at {MOST_DIFFERENCES:,} in "
                          f"{', '.join(capped)}: there are more)" if capped else ""))
    finally:
        svc.close()
    if differences:
        sys.exit(1)


def progress_line(name: str) -> Callable[[int, int, float], None]:
    """Prints progress (rate, ETA) to stderr at most twice a second."""
    shown = [0.0]

    def show(done: int, total: int, seconds: float) -> None:
        if seconds - shown[0] < 0.5 and done < total:
            return
        shown[0] = seconds
        rate = done / seconds if seconds > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        click.echo(f"\r{name}: {done:,}/{total:,} events, {rate:,.0f}/s, ETA {eta:,.0f}s ",
                   err=True, nl=False)

    return show


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and lag behind the store."""
    svc = bootstrap.services_from_env()
    try:
        store = svc.app.position()
        click.echo(f"store: {store}")
        failing = False
        for runner in svc.projections.runners:
            position = runner.position()
            line = f"{runner.name}: {position} (lag {store - position})"
            failure = runner.recorded_failure()
            if failure is not None:
                failing = True
                line += (f"  FAILING at position {failure.position} ({failure.event_type}) "
                         f"since {failure.failed_at}: {failure.error}")
            click.echo(line)
        if failing:
            raise SystemExit(1)
    finally:
        svc.close()
