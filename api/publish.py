"""`partnerledger publish`: every stored domain event, in order, to `partner.events`.

The relay reads the notification log from the position it recorded last and sends each
event keyed by its partner, to the partition Kafka's default partitioner would pick, so a
partner's events stay in log order. It records its position after the broker has
acknowledged a batch; on start (and after any failure) it also reads the last record of
every partition of the topic, and skips events at or before the position found there. So
a relay killed between sending and recording sends nothing twice, and consumers can still
dedupe by `event_id` should two relays ever run at once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import Notification, PersistenceError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from adapters.kafka import partition_for
from api.services import Services
from domain.money import Money, decimal_text

log = logging.getLogger(__name__)
PARTNER_TOPIC = "domain.partners:Partner"
BACKOFF = (0.5, 30.0)


@functools.singledispatch
def plain(value: Any) -> Any:
    """A value of an event as plain JSON: money as {amount, currency}, exact decimals as
    strings, times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


@plain.register
def _(value: Money) -> Any:
    return value.to_json()


@plain.register
def _(value: Decimal) -> Any:
    return decimal_text(value)


@plain.register(UUID)
@plain.register(Enum)
def _(value: UUID | Enum) -> Any:
    return str(value.value) if isinstance(value, Enum) else str(value)


@plain.register
def _(value: date) -> Any:  # datetime too
    return value.isoformat()


@plain.register
def _(value: dict) -> Any:  # type: ignore[type-arg]
    return {str(k): plain(v) for k, v in value.items()}


@plain.register(set)
@plain.register(frozenset)
def _(value: set[Any] | frozenset[Any]) -> Any:
    return sorted(plain(v) for v in value)


@plain.register(list)
@plain.register(tuple)
def _(value: list[Any] | tuple[Any, ...]) -> Any:
    return [plain(v) for v in value]


def event_id(stream_id: UUID, version: int) -> str:
    """The same event always has the same id, however often it is sent."""
    return str(uuid5(NAMESPACE_URL, f"partnerledger:event:{stream_id}:{version}"))


class Relay:
    """Sends the notification log to the events topic; `run` loops until `stop` is set."""

    name = "partner.events"

    def __init__(self, svc: Services, producer: KafkaProducer,
                 tail: KafkaConsumer, batch_size: int = 1000) -> None:
        self.svc = svc
        self.producer = producer
        self.tail = tail
        self.topic = svc.settings.events_topic
        self.batch_size = batch_size
        self.name = f"kafka:{self.topic}"
        self.partners: dict[UUID, str] = {}  # stream -> partition key (bounded below)

    # positions -----------------------------------------------------------------------------

    def position(self) -> int:
        """The last position the broker acknowledged, as recorded."""
        with self.svc.db.transaction(commit=False) as cursor:
            cursor.execute("SELECT position FROM relay_positions WHERE name = ?", (self.name,))
            row = cursor.fetchone()
        return 0 if row is None else int(row["position"])

    def _record(self, position: int) -> None:
        stamp = datetime.now().astimezone().isoformat()
        with self.svc.db.transaction() as cursor:
            cursor.execute("UPDATE relay_positions SET position = ?, updated_at = ? "
                           "WHERE name = ?", (position, stamp, self.name))
            if cursor.rowcount == 0:
                cursor.execute("INSERT INTO relay_positions (name, position, updated_at) "
                               "VALUES (?, ?, ?)", (self.name, position, stamp))

    def published(self, partitions: int) -> dict[int, int]:
        """The position of the last event on each partition of the topic."""
        tps = [TopicPartition(self.topic, p) for p in range(partitions)]
        ends = self.tail.end_offsets(tps)
        found: dict[int, int] = {}
        wanted = [tp for tp in tps if ends.get(tp, 0) > 0]
        if not wanted:
            return found
        self.tail.assign(wanted)
        for tp in wanted:
            self.tail.seek(tp, ends[tp] - 1)
        pending = set(wanted)
        for _ in range(100):
            if not pending:
                break
            for tp, records in self.tail.poll(timeout_ms=200).items():
                for record in records:
                    found[tp.partition] = int(json.loads(record.value)["position"])
                pending.discard(tp)
        if pending:
            raise KafkaError(f"could not read the end of {sorted(p.partition for p in pending)}")
        return found

    # keys ----------------------------------------------------------------------------------

    def _keys(self, notifications: Sequence[Notification], events: Sequence[Any]) -> list[str]:
        """Each event's partner id (its stream's id when the stream has no partner)."""
        for event in events:
            if event.originator_version == 1:
                self.partners[event.originator_id] = self._partner_of(event)
        missing = list({e.originator_id for e in events} - set(self.partners))
        for stored in self.svc.db.select_streams(missing, version=1):
            first = self.svc.app.mapper.to_domain_event(stored)
            self.partners[first.originator_id] = self._partner_of(first)
        keys = [self.partners.get(UUID(str(n.originator_id)), str(n.originator_id))
                for n in notifications]
        if len(self.partners) > 200_000:
            self.partners.clear()
        return keys

    @staticmethod
    def _partner_of(created: Any) -> str:
        if getattr(created, "originator_topic", "") == PARTNER_TOPIC:
            return str(created.originator_id)
        return str(getattr(created, "partner_id", None) or created.originator_id)

    def document(self, notification: Notification, event: Any) -> dict[str, Any]:
        """{event_id, type, stream_id, version, position, occurred_at, recorded_at, data}."""
        data = {k: plain(v) for k, v in vars(event).items()
                if k not in ("originator_id", "originator_version", "timestamp",
                             "originator_topic")}
        occurred = data.pop("occurred_at", None)
        return {
            "event_id": event_id(event.originator_id, event.originator_version),
            "type": notification.topic.split(":", 1)[-1],
            "stream_id": str(event.originator_id),
            "version": event.originator_version,
            "position": notification.id,
            "occurred_at": occurred or event.timestamp.isoformat(),
            "recorded_at": event.timestamp.isoformat(),
            "data": data,
        }

    # the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Relays until `stop` is set; a batch in progress always finishes."""
        backoff = BACKOFF[0]
        published: dict[int, int] | None = None
        while not stop.is_set():
            try:
                partitions = len(self.producer.partitions_for(self.topic))
                if published is None:
                    published = self.published(partitions)
                sent = self.relay_batch(partitions, published)
                backoff = BACKOFF[0]
                if sent == 0:
                    stop.wait(interval)
            except (PersistenceError, KafkaError, OSError) as error:
                log.warning("relay batch failed, retrying in %.1fs: %s", backoff, error)
                published = None  # some of the batch may have landed: look again
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF[1])

    def relay_batch(self, partitions: int, published: dict[int, int]) -> int:
        """Sends the next batch of events and records the position; returns how many."""
        position = self.position()
        notifications = self.svc.app.recorder.select_notifications(
            position + 1, self.batch_size)
        if not notifications:
            return 0
        mapper = self.svc.app.mapper
        events = [mapper.to_domain_event(n) for n in notifications]
        keys = self._keys(notifications, events)
        futures = []
        for notification, event, key in zip(notifications, events, keys, strict=True):
            raw_key = key.encode()
            partition = partition_for(raw_key, partitions)
            if notification.id <= published.get(partition, 0):
                continue  # already on the topic from before a crash
            value = json.dumps(self.document(notification, event), separators=(",", ":"))
            futures.append(self.producer.send(self.topic, key=raw_key, value=value.encode(),
                                              partition=partition))
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)
        last = notifications[-1].id
        self._record(last)
        return len(futures)
