"""Stored offsets the broker no longer has are never skipped: the partition stops until an
operator resets it, on SQLite and PostgreSQL, against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic

from adapters import kafka
from adapters.settings import Settings
from api.kafka import ingest_offsets
from api.kafka.ingest import Ingestor
from api.services import Services
from domain.ingest_offsets import IngestOffsets
from domain.partners import Partner
from tests.conftest import count_events
from tests.kafka_broker import PRODUCED, Broker, Envelope, produce, settings_env
from tests.kafka_scenario import at

pytestmark = pytest.mark.kafka


@contextmanager
def worker(svc: Services) -> Iterator[Ingestor]:
    """A worker in a thread that checks its partitions every half second."""
    consumer = kafka.consumer(svc.settings)
    producer = kafka.producer(svc.settings, "test-dead-letters")
    ingestor = Ingestor(svc, consumer, producer)
    ingestor.check_interval = 0.5
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield ingestor
    finally:
        stop.set()
        thread.join(30)
        consumer.close(autocommit=False)
        producer.close()
    assert not thread.is_alive()


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_env(settings)}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def wait_for(what: str, condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)


def applications(key: str, n: int) -> list[Envelope]:
    """Partner applications: each one a partner and an email claim, nothing to depend on."""
    return [Envelope("partner.applied", {
        "id": str(uuid.uuid4()), "name": f"P{i}", "email": f"p-{uuid.uuid4().hex[:8]}@p.example",
        "company": "C", "type": "referral", "country": "US"}, at(i), key) for i in range(n)]


def exists(svc: Services, message: Envelope) -> bool:
    try:
        svc.app.get_aggregate(Partner, uuid.UUID(message.data["id"]))
    except Exception:
        return False
    return True


def key_for(partition: int, partitions: int, avoid: bool = False) -> str:
    """A key the default partitioner sends to `partition` (or, with `avoid`, elsewhere)."""
    for n in range(1000):
        key = f"key-{n}"
        if (kafka.partition_for(key.encode(), partitions) == partition) != avoid:
            return key
    raise AssertionError("no such key")


def recreate(broker: Broker, topic: str, partitions: int) -> None:
    """Deletes the topic and creates it again, empty: offsets start at 0 once more."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.delete_topics([topic])
        deadline = time.monotonic() + 30
        while topic in admin.list_topics():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()
    PRODUCED.pop(topic, None)


def status_line(output: str, partition: int) -> list[str]:
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == str(partition):
            return cells
    raise AssertionError(f"no partition {partition} in:\n{output}")


def test_a_recreated_topic_stops_the_partition_until_an_operator_resets_it(
    svc: Services, broker: Broker
) -> None:
    settings = svc.settings
    topic, partitions = settings.inbound_topic, settings.topic_partitions
    partition = 1
    key, other_key = key_for(partition, partitions), key_for(partition, partitions, avoid=True)
    tp = TopicPartition(topic, partition)
    first = applications(key, 10)
    with worker(svc) as ingestor:
        # ten records in one batch: the test broker then reports the end as 1, not 10
        produce(broker, topic, first)
        wait_for("the first ten applied", lambda: svc.inbox.offsets(topic).get(partition) == 10)
        time.sleep(1.5)  # a few range checks: a stored offset past the reported end is fine
        assert svc.inbox.stops(topic) == {}
        assert all(exists(svc, m) for m in first)

        recreate(broker, topic, partitions)
        second = applications(key, 3)
        produce(broker, topic, second)  # offsets 0, 1, 2: below the stored 10
        wait_for("the partition stopped", lambda: partition in svc.inbox.stops(topic))
        events = count_events(svc)

        # the other partitions go on
        elsewhere = applications(other_key, 1)
        produce(broker, topic, elsewhere)
        wait_for("the other partition applied", lambda: exists(svc, elsewhere[0]))
        time.sleep(1.5)
        assert not any(exists(svc, m) for m in second)
        assert svc.inbox.offsets(topic)[partition] == 10
        assert count_events(svc) == events + 2  # the partner elsewhere and its email claim
        assert tp in ingestor.stopped

        # the stop keeps the range the broker reported when the worker looked: the empty,
        # recreated topic (end 0) or the one holding the three new records (end 3), whichever
        # the worker's check met; `ingest status` shows the broker's range as it is now
        stop = svc.inbox.stopped_partitions()[0]
        assert (stop.group, stop.topic, stop.partition, stop.stored_offset, stop.start,
                stop.reason) == (settings.consumer_group, topic, partition, 10, 0, "beyond-end")
        assert stop.end in (0, 3)
        shown = cli(settings, "ingest", "status")
        assert shown.returncode == 1, shown.stderr
        assert status_line(shown.stdout, partition)[:6] == [
            str(partition), "10", "0", "3", "-", "STOPPED"]
        assert f"beyond the partition's end {stop.end} " in shown.stdout
        assert "kafka." not in shown.stderr  # the client's chatter stays out at INFO

        refused = cli(settings, "ingest", "reset-offsets", "--partition", str(partition),
                      "--to", "7", "--reason", "not there")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "Error: to: The broker holds offsets 0 to 3 here; got 7."]

        reset = cli(settings, "ingest", "reset-offsets", "--partition", str(partition),
                    "--to", "earliest", "--reason", "inbound topic recreated", "--by", "ops")
        assert reset.returncode == 0, reset.stderr
        assert reset.stdout.startswith(f"{topic}:{partition} offset 10 -> 0, stop cleared "
                                       "(beyond-end)")
        wait_for("the three new ones applied",
                 lambda: svc.inbox.offsets(topic).get(partition) == 3)
        assert all(exists(svc, m) for m in second)
        assert tp not in ingestor.stopped
        time.sleep(1.0)  # applied once: two events per application, and the reset's two
        assert count_events(svc) == events + 2 + 3 * 2 + 2

    offsets = svc.app.get_aggregate(
        IngestOffsets, IngestOffsets.id_for(settings.consumer_group, topic, partition))
    assert offsets.offset == 0 and offsets.resets == 1
    stored = list(svc.app.events.get(offsets.id))
    assert [type(e).__name__ for e in stored] == ["Opened", "OffsetReset"]
    recorded: Any = stored[1]
    assert (recorded.from_offset, recorded.to_offset, recorded.requested_by, recorded.reason,
            recorded.cleared_stop) == (10, 0, "ops", "inbound topic recreated", "beyond-end")
    assert svc.inbox.stopped_partitions() == []
    after = cli(settings, "ingest", "status")
    assert after.returncode == 0, after.stdout + after.stderr
    assert status_line(after.stdout, partition) == [str(partition), "3", "0", "3", "0", "ok"]


def test_a_worker_started_after_the_topic_was_recreated_stops_the_partition_on_assignment(
    svc: Services, broker: Broker
) -> None:
    settings = svc.settings
    topic, partitions = settings.inbound_topic, settings.topic_partitions
    partition = 2
    key = key_for(partition, partitions)
    with worker(svc):
        produce(broker, topic, applications(key, 6))
        wait_for("applied", lambda: svc.inbox.offsets(topic).get(partition) == 6)
    recreate(broker, topic, partitions)
    later = applications(key, 4)
    for message in later:
        produce(broker, topic, [message])  # one batch each: the broker's end is exact
    events = count_events(svc)
    with worker(svc) as ingestor:
        wait_for("the partition stopped", lambda: partition in svc.inbox.stops(topic))
        time.sleep(1.0)
        assert count_events(svc) == events
        assert TopicPartition(topic, partition) in ingestor.stopped
        # the operator decides those four are not wanted: latest skips them, on record
        reset = cli(settings, "ingest", "reset-offsets", "--partition", str(partition),
                    "--to", "latest", "--reason", "replayed from the source system")
        assert reset.returncode == 0, reset.stderr
        wait_for("resumed", lambda: TopicPartition(topic, partition) not in ingestor.stopped)
        produce(broker, topic, applications(key, 1))
        wait_for("the next one applied", lambda: svc.inbox.offsets(topic).get(partition) == 5)
    assert not any(exists(svc, m) for m in later)
    assert count_events(svc) == events + 2 + 2  # the reset's two events, one application's two


def test_a_stored_offset_at_the_end_of_a_multi_record_batch_is_no_alarm(
    svc: Services, broker: Broker
) -> None:
    """The test broker reports the last batch's base offset + 1 as the end; the real end is
    read from that batch, so a stored offset past the reported end stops nothing."""
    settings = svc.settings
    topic = settings.inbound_topic
    key = key_for(0, settings.topic_partitions)
    produce(broker, topic, applications(key, 25))
    probe = kafka.offsets_probe(settings)
    try:
        tp = TopicPartition(topic, 0)
        assert probe.end_offsets([tp])[tp] < 25  # what the broker answers
        assert kafka.partition_ranges(probe, [tp])[tp] == kafka.PartitionRange(0, 25)
        assert kafka.partition_ranges(probe, [tp], at_least={tp: 25})[tp].end == 25
    finally:
        probe.close()
    with worker(svc):
        wait_for("applied", lambda: svc.inbox.offsets(topic).get(0) == 25)
        time.sleep(1.5)
    assert svc.inbox.stops(topic) == {}


class RetentionProbe:
    """The real broker's answers, except that records below `start` are gone: the test
    broker cannot delete records, so this is what retention would look like to the worker."""

    def __init__(self, probe: Any, start: int) -> None:
        self.probe = probe
        self.start = start

    def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: max(self.start, offset)
                for tp, offset in self.probe.beginning_offsets(tps).items()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.probe, name)


def test_records_deleted_before_they_were_applied_stop_the_partition(
    svc: Services, broker: Broker
) -> None:
    settings = svc.settings
    topic, partition = settings.inbound_topic, 3
    key = key_for(partition, settings.topic_partitions)
    with worker(svc):
        produce(broker, topic, applications(key, 3))
        wait_for("applied", lambda: svc.inbox.offsets(topic).get(partition) == 3)
    unread = applications(key, 5)  # offsets 3..7; retention takes 3 and 4
    produce(broker, topic, unread)
    events = count_events(svc)

    consumer = kafka.consumer(settings)
    producer = kafka.producer(settings, "test-dead-letters")
    ingestor = Ingestor(svc, consumer, producer,
                        probe=RetentionProbe(kafka.offsets_probe(settings), 5))
    ingestor.check_interval = 0.5
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for("stopped", lambda: partition in svc.inbox.stops(topic))
        time.sleep(1.0)
        assert count_events(svc) == events  # not even the three still on the broker
        found = svc.inbox.stops(topic)[partition]
        assert (found.reason, found.stored_offset, found.start) == ("below-start", 3, 5)
        assert "below the partition's start 5" in found.detail

        done = ingest_offsets.reset(svc.app, svc.inbox, ingestor.probe, topic, partition,
                                    "earliest", "ops", "retention ran before ingest caught up")
        assert (done.from_offset, done.to_offset) == (3, 5)
        wait_for("the rest applied", lambda: svc.inbox.offsets(topic).get(partition) == 8)
    finally:
        stop.set()
        thread.join(30)
        consumer.close(autocommit=False)
        producer.close()
    assert [exists(svc, m) for m in unread] == [False, False, True, True, True]
    assert count_events(svc) == events + 2 + 3 * 2
