"""Kafka clients, configured in one place from the settings.

Offsets are never committed for correctness: the ingestion worker stores them with the
events and seeks to them when partitions are assigned (`enable_auto_commit=False`). The
producer is idempotent with `acks=all`, so a retried send cannot reorder or double a record
within one producer session.
"""

from __future__ import annotations

import contextlib
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

from adapters.settings import Settings


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    """A consumer in the ingestion group that never commits on its own."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "group_id": settings.consumer_group,
        "client_id": "partnerledger-ingest",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.ingest_batch_size,
        "max_poll_interval_ms": settings.kafka_max_poll_interval_ms,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": max(100, settings.kafka_session_timeout_ms // 3),
        "isolation_level": "read_committed",
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def producer(settings: Settings, client_id: str, **overrides: Any) -> KafkaProducer:
    """An idempotent producer that waits for every replica."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def tail_reader(settings: Settings) -> KafkaConsumer:
    """A consumer outside any group, for reading the end of a topic."""
    return KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
                         group_id=None, enable_auto_commit=False,
                         client_id="partnerledger-tail")


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a key (murmur2, as in Java)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def ensure_topics(settings: Settings, topics: dict[str, int]) -> None:
    """Creates missing topics with the given partition counts."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
                             client_id="partnerledger-admin")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, partitions, 1) for name, partitions in topics.items()
                   if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile
                admin.create_topics(missing)
    finally:
        admin.close()


__all__ = ["TopicPartition", "consumer", "ensure_topics", "partition_for", "producer",
           "tail_reader"]
