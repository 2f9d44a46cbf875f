"""The `partnerledger` command line."""

from __future__ import annotations

import dataclasses
import getpass
import json
import logging
from uuid import uuid4

import click

from adapters.clock import utc_now
from adapters.settings import Settings
from api import bootstrap
from api.cli import audit as audit_commands
from api.cli import keys as key_commands
from api.cli import projections as projection_commands
from api.cli.signals import stop_on_signals
from api.deal_expiry import expire_lapsed_deals
from api.demo import load_demo, start_demo
from api.kafka import ingest_offsets
from api.kafka.messages import SCHEMA_VERSION, BadMessage, decode
from api.operator_errors import OperatorErrors


@click.group(cls=OperatorErrors)
@click.option("--log-level", default="INFO", show_default=True)
def main(log_level: str) -> None:
    """partnerledger: the system of record for partner programs."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if log_level.upper() != "DEBUG":
        # kafka-python narrates every connection at INFO: keep it for debugging
        logging.getLogger("kafka").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: $PORT or 8080.")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--threads", type=int, default=4, show_default=True)
@click.option("--demo/--no-demo", default=False, help="Load the demo program into an empty store "
              "and print tokens to try.")
def serve(host: str, port: int | None, workers: int, threads: int, demo: bool) -> None:
    """Serves the HTTP API with gunicorn."""
    settings = Settings.from_env()
    bind_port = port or settings.port
    svc = bootstrap.build_services(settings)  # tables made once, before workers start
    try:
        if demo:
            start_demo(svc, f"http://{host}:{bind_port}", click.echo)
    finally:
        svc.close()

    # Imported here: no other command needs the HTTP stack loaded.
    from api.http.server import serve as run_server  # noqa: PLC0415

    run_server(host, bind_port, workers, threads, bootstrap.http_app)


@main.group()
def deals() -> None:
    """Deal registrations."""


@deals.command("expire")
@click.option("--batch-size", type=int, default=500, show_default=True)
def deals_expire(batch_size: int) -> None:
    """Records the expiry of every open deal past its protection window."""
    svc = bootstrap.services_from_env()
    try:
        expired = expire_lapsed_deals(svc, batch_size)
    finally:
        svc.close()
    click.echo(f"expired {expired} deal(s)")


@main.group(invoke_without_command=True)
@click.option("--batch-size", type=int, default=None,
              help="Records per poll and transaction. Default: $PARTNERLEDGER_INGEST_BATCH_SIZE "
              "or 1000.")
@click.pass_context
def ingest(ctx: click.Context, batch_size: int | None) -> None:
    """Applies inbound Kafka messages exactly once until SIGTERM or SIGINT.

    Without a command, runs the worker; `status` and `reset-offsets` look after the offsets
    it stores."""
    if ctx.invoked_subcommand is not None:
        return
    settings = Settings.from_env()
    if batch_size is not None:
        settings = dataclasses.replace(settings, ingest_batch_size=batch_size)
    stop = stop_on_signals()
    svc = bootstrap.build_services(settings)
    try:
        with bootstrap.ingest_worker(svc) as worker:
            worker.run(stop)
    finally:
        svc.close()


@ingest.command("status")
def ingest_status() -> None:
    """Per partition of the inbound topic: stored offset, the broker's range, lag, stops.

    Exits with status 1 when a partition is stopped."""
    settings = Settings.from_env()
    svc = bootstrap.build_services(settings)
    try:
        with bootstrap.offsets_probe(settings) as probe:
            rows = ingest_offsets.status(svc.inbox, probe, settings.inbound_topic)
    finally:
        svc.close()

    click.echo(f"topic {settings.inbound_topic}, consumer group {settings.consumer_group}")
    for line in ingest_offsets.status_table(rows):
        click.echo(line)
    if any(row.stop is not None for row in rows):
        raise SystemExit(1)


@ingest.command("reset-offsets")
@click.option("--partition", type=int, required=True)
@click.option("--to", "to", required=True, metavar="earliest|latest|OFFSET",
              help="The broker's first offset, the offset after its last record, or a number.")
@click.option("--topic", default=None, help="Default: the inbound topic.")
@click.option("--reason", required=True, help="Why: recorded with the reset.")
@click.option("--by", "requested_by", default=None, help="Who. Default: the OS user.")
def ingest_reset_offsets(partition: int, to: str, topic: str | None, reason: str,
                         requested_by: str | None) -> None:
    """Sets where ingestion reads a partition from, and clears its stop; recorded as an event.

    Records below the new offset are never applied; from it on, each is applied once (ids
    already applied are duplicates). A running worker resumes the partition within seconds."""
    settings = Settings.from_env()
    who = requested_by or getpass.getuser()
    svc = bootstrap.build_services(settings)
    try:
        with bootstrap.offsets_probe(settings) as probe:
            done = ingest_offsets.reset(svc.app, svc.inbox, probe,
                                        topic or settings.inbound_topic, partition, to, who,
                                        reason)
    finally:
        svc.close()
    cleared = "" if done.cleared_stop is None else f", stop cleared ({done.cleared_stop.reason})"
    before = "-" if done.from_offset is None else done.from_offset
    click.echo(f"{done.topic}:{done.partition} offset {before} -> {done.to_offset}{cleared}; "
               f"recorded at position {done.position}")


@main.command()
@click.option("--batch-size", type=int, default=1000, show_default=True)
def publish(batch_size: int) -> None:
    """Relays every stored event to the events topic until SIGTERM or SIGINT."""
    settings = Settings.from_env()
    stop = stop_on_signals()
    svc = bootstrap.build_services(settings)
    try:
        with bootstrap.event_relay(svc, batch_size) as relay:
            relay.run(stop)
    finally:
        svc.close()


@main.command()
@click.argument("message_type")
@click.argument("data")
@click.option("--key", default=None, help="Partition key. Default: data's partner_id, or id.")
@click.option("--occurred-at", default=None, help="ISO 8601 with offset. Default: now.")
@click.option("--message-id", default=None, help="Default: a new UUID. Reuse one to resend.")
def send(message_type: str, data: str, key: str | None, occurred_at: str | None,
         message_id: str | None) -> None:
    """Publishes one inbound message (type, JSON data) to the inbound topic."""
    settings = Settings.from_env()
    try:
        body = json.loads(data)
    except ValueError as error:
        raise click.ClickException(f"DATA is not JSON: {error}") from error
    envelope = {"message_id": message_id or str(uuid4()), "type": message_type,
                "occurred_at": occurred_at or utc_now().isoformat(), "source": "cli",
                "schema_version": SCHEMA_VERSION, "data": body}
    raw = json.dumps(envelope).encode()
    try:
        decode(raw)
    except BadMessage as bad:  # the worker would dead-letter it: say so now
        raise click.ClickException(f"{bad.reason}: {bad.detail}") from bad
    partition_key = key or str(body.get("partner_id") or body.get("id") or "")
    with bootstrap.inbound_producer(settings) as producer:
        sent = producer.send(settings.inbound_topic, key=partition_key.encode() or None,
                             value=raw).get(timeout=30)
    click.echo(f"sent {envelope['message_id']} to {sent.topic}:{sent.partition}:{sent.offset}")


@main.command("dead-letters")
@click.option("--limit", type=int, default=20, show_default=True)
def dead_letters(limit: int) -> None:
    """The newest dead letters: where each came from, and why."""
    settings = Settings.from_env()
    svc = bootstrap.build_services(settings)
    try:
        for letter in svc.inbox.dead_letters(limit):
            click.echo(f"{letter['recorded_at']} {letter['topic']}:{letter['partition']}:"
                       f"{letter['offset']} {letter['reason']} "
                       f"id={letter['message_id'] or '-'} "
                       f"{'published' if letter['published_at'] else 'pending'}: "
                       f"{letter['detail']}")
    finally:
        svc.close()


@main.command("demo")
def demo_command() -> None:
    """Loads the demo program into an empty store."""
    svc = bootstrap.services_from_env()
    try:
        loaded = load_demo(svc.app)
        svc.projections.catch_up()
    finally:
        svc.close()
    click.echo("demo loaded" if loaded else "store is not empty; nothing loaded")


main.add_command(audit_commands.audit)
main.add_command(key_commands.keys)
main.add_command(projection_commands.projections)
