"""The `partnerledger` command line."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import click
from gunicorn.app.base import BaseApplication

from adapters import kafka
from adapters.clock import utc_now
from adapters.settings import Settings
from api.app import create_app
from api.demo import DEMO_PARTNER_ID, load_demo
from api.ingest import Ingestor
from api.messages import SCHEMA_VERSION, BadMessage, decode
from api.publish import Relay
from api.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE
from api.services import Services, build_services
from domain import commands as c
from domain.partners import Partner
from projections.commissions import open_deals_past_window

log = logging.getLogger("partnerledger")


def _services() -> Services:
    return build_services(Settings.from_env())


@click.group()
@click.option("--log-level", default="INFO", show_default=True)
def main(log_level: str) -> None:
    """partnerledger: the system of record for partner programs."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--role", type=click.Choice(["internal", "auditor", "partner"]), required=True)
@click.option("--partner-id", type=click.UUID, default=None, help="Required for --role partner.")
def keys_create(role: str, partner_id: UUID | None) -> None:
    """Creates a key; the token is printed once, as the last line."""
    svc = _services()
    try:
        if partner_id is not None:
            svc.app.get_aggregate(Partner, partner_id)
        principal, token = svc.keys.create(role, partner_id, utc_now())
    except Exception as error:
        raise click.ClickException(str(getattr(error, "detail", error))) from error
    finally:
        svc.close()
    click.echo(f"key_id: {principal.key_id} role: {role}" +
               (f" partner_id: {partner_id}" if partner_id else ""))
    click.echo(token)


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revokes a key by its id."""
    svc = _services()
    try:
        if not svc.keys.revoke(key_id, utc_now()):
            raise click.ClickException(f"no active key {key_id}")
    finally:
        svc.close()
    click.echo(f"revoked {key_id}")


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
    svc = build_services(settings)
    try:
        if demo:
            if load_demo(svc.app):
                svc.projections.catch_up()
                click.echo("Loaded the demo program (plan 'Standard 2026', three partners).")
            _, internal = svc.keys.create("internal", None, utc_now())
            _, partner = svc.keys.create("partner", DEMO_PARTNER_ID, utc_now())
            click.echo(f"\n  internal token: {internal}\n  partner token:  {partner}"
                       f"  (partner {DEMO_PARTNER_ID})\n")
            tokens = Path("var/demo-tokens.env")
            tokens.parent.mkdir(parents=True, exist_ok=True)
            tokens.write_text(f"export INTERNAL_TOKEN={internal}\nexport PARTNER_TOKEN={partner}\n")
            tokens.chmod(0o600)
            click.echo(f"  the same tokens, for your shell: source {tokens}")
            click.echo(f"  try: curl -H 'Authorization: Bearer {internal}' "
                       f"http://{host}:{bind_port}/partners\n")
    finally:
        svc.close()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{bind_port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "api.server.ProblemWorker")
            self.cfg.set("limit_request_line", LIMIT_REQUEST_LINE)
            self.cfg.set("limit_request_fields", LIMIT_REQUEST_FIELDS)
            self.cfg.set("limit_request_field_size", LIMIT_REQUEST_FIELD_SIZE)
            self.cfg.set("accesslog", "-")
            self.cfg.set("graceful_timeout", 10)

        def load(self) -> Any:
            # Each worker builds its own services: connection pools do not survive a fork.
            return create_app()

    Server().run()


@main.group()
def projections() -> None:
    """Read models."""


@projections.command("run")
@click.option("--interval", type=float, default=0.2, show_default=True)
@click.option("--batch-size", type=int, default=1000, show_default=True)
@click.option("--once", is_flag=True, help="Catch up and exit.")
def projections_run(interval: float, batch_size: int, once: bool) -> None:
    """Keeps every projection caught up until SIGTERM or SIGINT."""
    svc = _services()
    for runner in svc.projections.runners:
        runner.batch_size = batch_size
    stop = _stop_on_signals()
    try:
        while True:
            position = svc.projections.catch_up()
            if once or stop.wait(interval):
                break
        click.echo(f"projections at position {position}")
    finally:
        svc.close()


@projections.command("rebuild")
@click.argument("name", required=False)
def projections_rebuild(name: str | None) -> None:
    """Empties read models and replays the whole log into them."""
    svc = _services()
    try:
        runners = [svc.projections.get(name)] if name else svc.projections.runners
        for runner in runners:
            click.echo(f"{runner.name}: rebuilt to position {runner.rebuild()}")
    except KeyError:
        raise click.ClickException(f"no projection named {name}") from None
    finally:
        svc.close()


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and lag behind the store."""
    svc = _services()
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


@main.group()
def deals() -> None:
    """Deal registrations."""


@deals.command("expire")
@click.option("--batch-size", type=int, default=500, show_default=True)
def deals_expire(batch_size: int) -> None:
    """Records the expiry of every open deal past its protection window."""
    svc = _services()
    expired = 0
    try:
        while True:
            svc.projections.catch_up()
            with svc.db.transaction(commit=False) as cursor:
                due = open_deals_past_window(cursor, utc_now(), batch_size)
            if not due:
                break
            result = svc.app.execute_batch([c.ExpireDeal(None, UUID(i)) for i in due])
            done = sum(1 for outcome in result.outcomes if outcome.error is None)
            expired += done
            if done == 0:
                break  # nothing left that can expire (already closed meanwhile)
        svc.projections.catch_up()
    finally:
        svc.close()
    click.echo(f"expired {expired} deal(s)")


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the current batch finishes, then the loop ends."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


@main.command()
@click.option("--batch-size", type=int, default=None,
              help="Records per poll and transaction. Default: $PARTNERLEDGER_INGEST_BATCH_SIZE "
              "or 1000.")
def ingest(batch_size: int | None) -> None:
    """Applies inbound Kafka messages exactly once until SIGTERM or SIGINT."""
    settings = Settings.from_env()
    if batch_size is not None:
        settings = dataclasses.replace(settings, ingest_batch_size=batch_size)
    stop = _stop_on_signals()
    svc = build_services(settings)
    try:
        kafka.ensure_topics(settings, {settings.inbound_topic: settings.topic_partitions,
                                       settings.dlq_topic: settings.topic_partitions})
        consumer = kafka.consumer(settings)
        producer = kafka.producer(settings, "partnerledger-dead-letters")
        try:
            Ingestor(svc, consumer, producer).run(stop)
        finally:
            consumer.close(autocommit=False)
            producer.close(timeout=10)
    finally:
        svc.close()


@main.command()
@click.option("--batch-size", type=int, default=1000, show_default=True)
def publish(batch_size: int) -> None:
    """Relays every stored event to the events topic until SIGTERM or SIGINT."""
    settings = Settings.from_env()
    stop = _stop_on_signals()
    svc = build_services(settings)
    try:
        kafka.ensure_topics(settings, {settings.events_topic: settings.topic_partitions})
        producer = kafka.producer(settings, "partnerledger-relay")
        tail = kafka.tail_reader(settings)
        try:
            Relay(svc, producer, tail, batch_size).run(stop)
        finally:
            producer.close(timeout=10)
            tail.close()
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
    producer = kafka.producer(settings, "partnerledger-cli")
    try:
        sent = producer.send(settings.inbound_topic, key=partition_key.encode() or None,
                             value=raw).get(timeout=30)
    finally:
        producer.close(timeout=10)
    click.echo(f"sent {envelope['message_id']} to {sent.topic}:{sent.partition}:{sent.offset}")


@main.command("dead-letters")
@click.option("--limit", type=int, default=20, show_default=True)
def dead_letters(limit: int) -> None:
    """The newest dead letters: where each came from, and why."""
    settings = Settings.from_env()
    svc = build_services(settings)
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
    svc = _services()
    try:
        loaded = load_demo(svc.app)
        svc.projections.catch_up()
    finally:
        svc.close()
    click.echo("demo loaded" if loaded else "store is not empty; nothing loaded")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
