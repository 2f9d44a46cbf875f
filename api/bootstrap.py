"""The composition root: the services, the HTTP app and the Kafka workers, built from settings.

Entry points never build what they use: they are given it from here, and tests pass in
their own clock, settings or Kafka clients instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from adapters import kafka
from adapters.application import PartnerProgram
from adapters.audit_chain import AuditChain
from adapters.audit_heads import TreeHeads
from adapters.clock import Clock, utc_now
from adapters.idempotency import IdempotencyStore
from adapters.inbox import Inbox
from adapters.keys import KeyStore
from adapters.provenance import Provenance
from adapters.settings import Settings
from adapters.sql import setup_lock
from api.kafka.ingest import Ingestor
from api.kafka.relay import Relay
from api.services import Services
from projections.catch_up import ReadModels
from projections.commissions import Commissions
from projections.ledger import LedgerReadModel
from projections.partner_directory import PartnerDirectory
from projections.program import ProgramActivity
from projections.runner import ReadModelRunner

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def build_services(settings: Settings, clock: Clock = utc_now) -> Services:
    """Opens the store, creates missing tables and catches projections up."""
    env = settings.eventsourcing_env()
    with setup_lock(env):
        app = PartnerProgram(env=env, clock=clock)
        db = app.db
        keys = KeyStore(db)
        idempotency = IdempotencyStore(db)
        projections = ReadModels([
            ReadModelRunner(app, db, PartnerDirectory()),
            ReadModelRunner(app, db, Commissions()),
            ReadModelRunner(app, db, LedgerReadModel()),
            ReadModelRunner(app, db, ProgramActivity()),
        ])
        inbox = Inbox(db, settings.consumer_group)
        keys.setup()
        idempotency.setup()
        inbox.setup()
        projections.setup()
        AuditChain(db).setup()
        TreeHeads(db).setup()
        Provenance(db).setup()
    try:
        projections.catch_up()
    except Exception:
        log.exception("projections could not catch up on start")
    return Services(settings, app, db, keys, idempotency, projections, inbox)


def services_from_env() -> Services:
    """The services configured by the environment."""
    return build_services(Settings.from_env())


def http_app(services: Services | None = None,
             test_config: dict[str, Any] | None = None) -> WsgiApp:
    """The Flask app over `services` (default: from the environment, following other writers)."""
    # Imported here: the CLI and the Kafka workers never need Flask loaded.
    from api.http.app import create_app  # noqa: PLC0415

    return create_app(test_config,
                      services=services_from_env() if services is None else services)


@contextmanager
def kafka_quiet() -> Iterator[None]:
    """While Kafka clients connect, or do a one-off job and close: kafka-python logs every
    failed attempt (and a close) as an error; what fails reaches the operator as one line
    instead (everything, with `--log-level debug`)."""
    logger = logging.getLogger("kafka")
    if logger.isEnabledFor(logging.DEBUG):
        yield
        return
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def ingest_worker(svc: Services, consumer: KafkaConsumer | None = None,
                  producer: KafkaProducer | None = None) -> Iterator[Ingestor]:
    """The ingest worker on the inbound topic, its topics made if missing; clients closed after."""
    settings = svc.settings
    with kafka_quiet():
        kafka.ensure_topics(settings, {settings.inbound_topic: settings.topic_partitions,
                                       settings.dlq_topic: settings.topic_partitions})
        consumer = consumer or kafka.consumer(settings)
        producer = producer or kafka.producer(settings, "partnerledger-dead-letters")
    try:
        yield Ingestor(svc, consumer, producer)
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=10)


@contextmanager
def event_relay(svc: Services, batch_size: int) -> Iterator[Relay]:
    """The relay to the events topic, made if missing; its clients closed after."""
    settings = svc.settings
    with kafka_quiet():
        kafka.ensure_topics(settings, {settings.events_topic: settings.topic_partitions})
        producer = kafka.producer(settings, "partnerledger-relay")
        tail = kafka.tail_reader(settings)
    try:
        yield Relay(svc, producer, tail, batch_size)
    finally:
        producer.close(timeout=10)
        tail.close()


@contextmanager
def offsets_probe(settings: Settings) -> Iterator[KafkaConsumer]:
    """A client that asks the broker where partitions start and end, closed after."""
    with kafka_quiet():
        probe = kafka.offsets_probe(settings)
        try:
            yield probe
        finally:
            probe.close()


def publish_head(settings: Settings, head: dict[str, Any]) -> tuple[int, int]:
    """Publishes a signed tree head to the heads topic (one partition, so in signing order),
    keyed by its public key; answers its partition and offset once every replica has it."""
    with kafka_quiet():
        kafka.ensure_topics(settings, {settings.heads_topic: 1})
        producer = kafka.producer(settings, "partnerledger-audit-heads",
                                  bootstrap_timeout_ms=kafka.BOOTSTRAP_TIMEOUT_MS)
        try:
            sent = producer.send(settings.heads_topic, key=str(head["public_key"]).encode(),
                                 value=json.dumps(head, sort_keys=True).encode())
            metadata = sent.get(timeout=30)
        finally:
            producer.close(timeout=10)
    return int(metadata.partition), int(metadata.offset)


@contextmanager
def inbound_producer(settings: Settings) -> Iterator[KafkaProducer]:
    """A producer for one-off sends to the inbound topic, closed after."""
    with kafka_quiet():
        producer = kafka.producer(settings, "partnerledger-cli",
                                  bootstrap_timeout_ms=kafka.BOOTSTRAP_TIMEOUT_MS)
        try:
            yield producer
        finally:
            producer.close(timeout=10)
