"""Records of the inbound topic: each decoded (or not, with why), and dead letters sent on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer, TopicPartition

from adapters.inbox import DeadLetter, Inbox
from api.kafka.messages import BadMessage, Message, decode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One record from the inbound topic, decoded or not."""

    tp: TopicPartition
    offset: int
    key: bytes | None
    value: bytes
    message: Message | None = None
    bad: BadMessage | None = None

    @property
    def message_id(self) -> str | None:
        """The envelope's id, when the envelope could be read."""
        source = self.message if self.message is not None else self.bad
        return None if source is None else source.message_id

    @property
    def fingerprint(self) -> str | None:
        """The envelope's fingerprint, when the envelope could be read."""
        source = self.message if self.message is not None else self.bad
        return None if source is None else source.fingerprint

    def dead(self, reason: str, detail: str) -> DeadLetter:
        """This record as a dead letter."""
        return DeadLetter(self.tp.topic, self.tp.partition, self.offset, reason, detail,
                          self.key, self.value, self.message_id)


def receive(record: Any) -> Received:
    """A consumer record, decoded; a bad one keeps its reason."""
    tp = TopicPartition(record.topic, record.partition)
    value = record.value if record.value is not None else b""
    try:
        return Received(tp, record.offset, record.key, value, message=decode(value))
    except BadMessage as bad:
        return Received(tp, record.offset, record.key, value, bad=bad)
    except Exception as error:  # a bug in decoding must not stop the partition
        log.exception("message at %s:%d cannot be decoded", tp, record.offset)
        failed = BadMessage("error", f"{type(error).__name__} while decoding")
        return Received(tp, record.offset, record.key, value, bad=failed)


def dead_letter_headers(letter: DeadLetter, now: datetime) -> list[tuple[str, bytes]]:
    """Why the message is dead and where it came from; consumers dedupe by the source."""
    headers = [
        ("reason", letter.reason.encode()),
        ("detail", letter.detail[:1000].encode()),
        ("source-topic", letter.topic.encode()),
        ("source-partition", str(letter.partition).encode()),
        ("source-offset", str(letter.offset).encode()),
        ("dead-lettered-at", now.isoformat().encode()),
    ]
    if letter.message_id is not None:
        headers.append(("message-id", letter.message_id.encode()))
    return headers


def publish_dead_letters(inbox: Inbox, producer: KafkaProducer, topic: str, dlq_topic: str,
                         partitions: list[int]) -> None:
    """Sends the recorded dead letters of these partitions to the dead-letter topic."""
    while partitions:
        letters = inbox.unpublished(topic, partitions)
        if not letters:
            break
        now = datetime.now(UTC)
        sent = [producer.send(dlq_topic, key=letter.key, value=letter.payload,
                              headers=dead_letter_headers(letter, now))
                for letter in letters]
        producer.flush()
        for future in sent:
            future.get(timeout=30)  # raises if the broker refused it: retried next time
        inbox.mark_published(letters, now)
