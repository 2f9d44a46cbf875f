"""Kafka clients, configured in one place from the settings.

Offsets are never committed for correctness: the ingestion worker stores them with the
events and seeks to them when partitions are assigned (`enable_auto_commit=False`). It never
lets the client reset a position on its own either (`auto_offset_reset="none"`): an offset
the broker does not have is the worker's to notice, not the client's to paper over. The
producer is idempotent with `acks=all`, so a retried send cannot reorder or double a record
within one producer session.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

from adapters.settings import Settings

# How long a one-off client (the admin client, the offsets probe, the CLI's producer) waits
# for a first broker before giving up: an operator should not wait kafka-python's 30 s.
BOOTSTRAP_TIMEOUT_MS = 10_000
# How long reading the last batch of a partition may take before the end is unknown.
TAIL_TIMEOUT = 5.0


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    """A consumer in the ingestion group that never commits on its own."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "group_id": settings.consumer_group,
        "client_id": "partnerledger-ingest",
        "enable_auto_commit": False,
        "auto_offset_reset": "none",
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


def offsets_probe(settings: Settings) -> KafkaConsumer:
    """A consumer outside any group, for asking where partitions start and end."""
    return KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
                         group_id=None, enable_auto_commit=False, auto_offset_reset="none",
                         client_id="partnerledger-offsets",
                         bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS)


@dataclass(frozen=True)
class PartitionRange:
    """The offsets a partition holds: from `start` up to, not including, `end`."""

    start: int
    end: int

    def holds(self, offset: int) -> bool:
        """Whether reading can go on from `offset` (the end itself: nothing new yet)."""
        return self.start <= offset <= self.end


def partition_ranges(probe: KafkaConsumer, tps: Sequence[TopicPartition],
                     at_least: Mapping[TopicPartition, int] | None = None
                     ) -> dict[TopicPartition, PartitionRange]:
    """Each partition's first offset and the offset after its last record.

    Some brokers (the one the tests run) answer ListOffsets with the last record batch's base
    offset + 1 rather than the high watermark; where that answer is below `at_least[tp]`
    (or everywhere, when `at_least` is None) the last batch is read to find the real end.
    """
    if not tps:
        return {}
    starts = probe.beginning_offsets(list(tps))
    ends = probe.end_offsets(list(tps))
    doubtful = {tp: ends[tp] for tp in tps if ends[tp] > 0
                and (at_least is None or at_least.get(tp, -1) > ends[tp]
                     or starts[tp] >= ends[tp])}
    ends.update(_read_ends(probe, doubtful, starts))
    return {tp: PartitionRange(starts[tp], ends[tp]) for tp in tps}


def _read_ends(probe: KafkaConsumer, reported: dict[TopicPartition, int],
               starts: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """The offset after the last record, read from the batch the reported end falls in."""
    if not reported:
        return {}
    probe.assign(list(reported))
    found: dict[TopicPartition, int] = {}
    pending: set[TopicPartition] = set()
    for tp, end in reported.items():
        at = max(starts[tp], end - 1)
        probe.seek(tp, at)
        found[tp] = max(end, at)
        if at < end:
            pending.add(tp)  # a record is known to be there: no answer is no answer
    quiet = 0
    deadline = time.monotonic() + TAIL_TIMEOUT
    while time.monotonic() < deadline:
        polled = probe.poll(timeout_ms=200)
        for tp, records in polled.items():
            if records:
                found[tp] = max(found[tp], max(r.offset for r in records) + 1)
                pending.discard(tp)
        for tp in list(pending):
            # a transaction marker at the end is never returned as a record, but the client
            # moves past it: its position is then the end
            position = probe.position(tp)
            if position is not None and position > found[tp] - 1 and position > starts[tp]:
                found[tp] = max(found[tp], position)
                pending.discard(tp)
        quiet = 0 if polled else quiet + 1
        if not pending and quiet >= 1:
            break
    probe.assign([])
    if pending:
        # Better no answer than a wrong one: a too-low end would stop a healthy partition.
        raise KafkaError(f"could not read the end of {sorted(str(tp) for tp in pending)}")
    return found


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a key (murmur2, as in Java)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def ensure_topics(settings: Settings, topics: dict[str, int]) -> None:
    """Creates missing topics with the given partition counts."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
                             client_id="partnerledger-admin",
                             bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS)
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, partitions, 1) for name, partitions in topics.items()
                   if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile
                admin.create_topics(missing)
    finally:
        admin.close()


__all__ = ["BOOTSTRAP_TIMEOUT_MS", "PartitionRange", "TopicPartition", "consumer",
           "ensure_topics", "offsets_probe", "partition_for", "partition_ranges", "producer",
           "tail_reader"]
