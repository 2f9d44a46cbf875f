"""`partnerledger ingest`: inbound Kafka messages applied exactly once, in batches.

Each poll's records become commands that run in one transaction per batch, together with
the next offset of every partition in the batch, the ids of the messages applied and the
dead letters; when partitions are assigned the worker seeks to the offsets stored there.
So a crash at any point either keeps a whole batch or none of it, and the redelivered
records find their offsets already moved or their ids already known.

A payout run needs the read model of who has earned, so it runs in a batch of its own
after everything before it has been applied and projected. A message that cannot be
applied (undecodable, invalid, unknown type, refused by a rule, or a different message
reusing an id) is recorded as a dead letter in the same transaction, and published to the
dead-letter topic afterwards; the partition moves on.

A stored offset the broker no longer has (beyond the partition's end after the topic was
recreated, below its start after retention deleted records not yet applied) is never
skipped: the worker checks each partition's stored offset against the broker's range when
it is assigned, when the client reports it out of range, and every few seconds; a partition
outside is paused, logged as an error and recorded as stopped, and resumes only after
`partnerledger ingest reset-offsets` has moved its offset and cleared the stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    KafkaError,
    LogTruncationError,
    NoOffsetForPartitionError,
    OffsetOutOfRangeError,
)

from adapters import kafka
from adapters.application import BatchResult
from adapters.inbox import DeadLetter, InboxMoved, PartitionStop
from adapters.sql import SideWrite
from api.messages import BadMessage, Message, decode
from api.services import Services
from domain import commands as c
from domain.errors import InvalidInput, WriteConflict
from projections.ledger import partners_with_accounts
from projections.runner import ProjectionFailed

log = logging.getLogger(__name__)
# How often a batch is retried when other writers keep winning the same rows.
ATTEMPTS = 5
# Failures of the store or the broker: wait this long, doubling, before trying again.
BACKOFF = (0.5, 30.0)
# How often (seconds) running partitions are checked against the broker's range, and
# stopped ones for a reset.
CHECK_INTERVAL = 5.0


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


@dataclass
class Counts:
    """What the worker has done since it started."""

    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0


class Ingestor:
    """The consumer-group worker; `run` loops until `stop` is set."""

    def __init__(self, svc: Services, consumer: KafkaConsumer, producer: KafkaProducer,
                 probe: KafkaConsumer | None = None) -> None:
        self.svc = svc
        self.consumer = consumer
        self.producer = producer
        # asks the broker where partitions start and end; made when first needed
        self._probe = probe
        self.topic = svc.settings.inbound_topic
        self.dlq_topic = svc.settings.dlq_topic
        self.inbox = svc.inbox
        # the worker is a long-running writer: keep what it saved for its next batches
        svc.app.keep_aggregates(svc.settings.ingest_cache_size)
        # assigned partitions -> the next offset to apply, as stored (None: nothing yet)
        self.next_offsets: dict[TopicPartition, int | None] = {}
        # assigned partitions, paused: not yet checked against the broker's range, or stopped
        # because the broker does not have their stored offset (recorded in the store or not)
        self.unchecked: set[TopicPartition] = set()
        self.stopped: dict[TopicPartition, PartitionStop] = {}
        self.unrecorded: set[TopicPartition] = set()
        self.check_interval = CHECK_INTERVAL
        self.counts = Counts()
        # whether the outbox may hold dead letters of our partitions: after an assignment,
        # after a batch that recorded some, and until a publication got through
        self.dead_letters_due = True

    # partition assignment ----------------------------------------------------------------

    def assigned(self, partitions: Sequence[TopicPartition]) -> None:
        """Positions each newly assigned partition where the store says it stopped, paused
        until its offset is checked against the broker (or for good, if it is stopped)."""
        stored = self.inbox.offsets(self.topic)
        stops = self.inbox.stops(self.topic)
        for tp in partitions:
            self.next_offsets[tp] = stored.get(tp.partition)
            self._seek(tp)
            self.consumer.pause(tp)
            stop = stops.get(tp.partition)
            if stop is not None:
                self.stopped[tp] = stop
                log.error("partition stays stopped until its offset is reset: %s", stop.detail)
            else:
                self.unchecked.add(tp)
        self.dead_letters_due = True
        log.info("assigned %s", sorted(tp.partition for tp in self.next_offsets))

    def revoked(self, partitions: Sequence[TopicPartition]) -> None:
        """Forgets partitions given to another worker."""
        for tp in partitions:
            self.next_offsets.pop(tp, None)
            self.unchecked.discard(tp)
            self.stopped.pop(tp, None)
            self.unrecorded.discard(tp)

    # stored offsets the broker does not have -----------------------------------------------

    @property
    def probe(self) -> KafkaConsumer:
        """The consumer that asks for partition ranges (never the group's own)."""
        if self._probe is None:
            self._probe = kafka.offsets_probe(self.svc.settings)
        return self._probe

    def check_ranges(self, partitions: Sequence[TopicPartition]) -> None:
        """Resumes those of these partitions whose stored offset the broker has; stops the
        others. A partition with nothing stored starts at the beginning: nothing to lose."""
        wanted = [tp for tp in partitions if tp in self.next_offsets and tp not in self.stopped]
        stored = {tp: offset for tp in wanted
                  if (offset := self.next_offsets[tp]) is not None}
        ranges = kafka.partition_ranges(self.probe, list(stored), at_least=stored)
        for tp in wanted:
            offset = stored.get(tp)
            if offset is not None and not ranges[tp].holds(offset):
                self._stop_partition(tp, offset, ranges[tp])
            elif tp in self.unchecked:
                self.unchecked.discard(tp)
                self._seek(tp)  # records fetched while paused were dropped
                self.consumer.resume(tp)

    def _stop_partition(self, tp: TopicPartition, offset: int, found: kafka.PartitionRange
                        ) -> None:
        self.consumer.pause(tp)
        self.unchecked.discard(tp)
        stop = PartitionStop(self.inbox.group, tp.topic, tp.partition, offset, found.start,
                             found.end, datetime.now(UTC).isoformat())
        self.stopped[tp] = stop
        self.unrecorded.add(tp)
        log.error("partition stopped, nothing more is read from it until `partnerledger ingest "
                  "reset-offsets --topic %s --partition %d`: %s", tp.topic, tp.partition,
                  stop.detail)
        self._record_stops()

    def _record_stops(self) -> None:
        for tp in sorted(self.unrecorded):
            self.inbox.record_stop(self.stopped[tp])
            self.unrecorded.discard(tp)

    def check_stopped(self) -> None:
        """Takes up partitions whose stop an operator cleared with a reset, from the offset
        the reset stored; they are checked against the broker again before they resume."""
        self._record_stops()
        if not self.stopped:
            return
        stops = self.inbox.stops(self.topic)
        stored = self.inbox.offsets(self.topic)
        for tp in [tp for tp in self.stopped if tp.partition not in stops]:
            del self.stopped[tp]
            self.next_offsets[tp] = stored.get(tp.partition)
            self.unchecked.add(tp)
            log.warning("partition %s:%d was reset to offset %s; resuming", tp.topic,
                        tp.partition, self.next_offsets[tp])
        self.check_ranges(sorted(self.unchecked))

    def checks(self, everything: bool) -> bool:
        """Checks the partitions not yet checked, or (`everything`) looks for resets and
        checks all; False when the broker did not answer: the partitions not yet checked stay
        paused, the others go on, and the checks are tried again shortly."""
        try:
            if everything:
                self.check_stopped()
                self.check_ranges(sorted(self.next_offsets))
            elif self.unchecked:
                self.check_ranges(sorted(self.unchecked))
        except KafkaError as error:
            log.warning("cannot check partition offsets against the broker yet: %s", error)
            return False
        return True

    def out_of_range(self, error: KafkaError) -> None:
        """The client found positions the broker does not have: check those partitions
        (all of ours, when the error does not say which)."""
        named = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        log.warning("offsets out of range on %s; checking them against the broker",
                    sorted(str(tp) for tp in named) or "unnamed partitions")
        for tp in [tp for tp in named if tp in self.next_offsets] or list(self.next_offsets):
            if tp not in self.stopped:
                self.consumer.pause(tp)
                self.unchecked.add(tp)

    def _seek(self, tp: TopicPartition) -> None:
        offset = self.next_offsets.get(tp)
        if offset is None:
            self.consumer.seek_to_beginning(tp)
        else:
            self.consumer.seek(tp, offset)

    def rewind(self) -> None:
        """Back to the stored offsets, after a batch that did not commit."""
        stored = self.inbox.offsets(self.topic)
        for tp in list(self.next_offsets):
            self.next_offsets[tp] = stored.get(tp.partition)
            self._seek(tp)

    # the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event, poll_ms: int = 200) -> None:
        """Polls and applies until `stop` is set; a batch in progress always finishes."""
        worker = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                worker.revoked(list(revoked))

            def on_partitions_assigned(self, assigned: Any) -> None:
                worker.assigned(list(assigned))

        self.consumer.subscribe([self.topic], listener=Listener())
        try:
            self._loop(stop, poll_ms)
        finally:
            if self._probe is not None:
                self._probe.close()
                self._probe = None

    def _loop(self, stop: threading.Event, poll_ms: int) -> None:
        backoff = BACKOFF[0]
        last_report = time.monotonic()
        next_check, retry_check = last_report + self.check_interval, last_report
        while not stop.is_set():
            try:
                try:
                    polled = self.consumer.poll(timeout_ms=poll_ms)
                except (OffsetOutOfRangeError, LogTruncationError) as error:
                    self.out_of_range(error)
                    polled = {}
                except NoOffsetForPartitionError as error:
                    # assigned while the store was down: the callback could not seek
                    missing = error.args[0] if error.args else self.consumer.assignment()
                    self.assigned(sorted(missing))
                    polled = {}
                if polled:
                    self.apply(polled)
                    self._commit_for_monitoring()
                self.publish_dead_letters()
                now = time.monotonic()
                due = now >= next_check
                if due or (self.unchecked and now >= retry_check):
                    retry_check = now if self.checks(everything=due) else now + 1.0
                    next_check = now + self.check_interval if due else next_check
                backoff = BACKOFF[0]
            except (PersistenceError, KafkaError, WriteConflict, OSError,
                    ProjectionFailed) as error:
                log.warning("batch not applied, retrying in %.1fs: %s", backoff, error)
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
                try:
                    self.rewind()
                except (PersistenceError, OSError) as again:
                    log.warning("cannot read stored offsets yet: %s", again)
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                log.info("ingest: %s", self.counts)
        log.info("stopping: %s", self.counts)

    def _commit_for_monitoring(self) -> None:
        """Offsets in Kafka only show lag to operators; the store's offsets are the truth."""
        try:
            self.consumer.commit_async()
        except KafkaError as error:  # e.g. during a rebalance; the next batch commits again
            log.debug("offset commit for monitoring failed: %s", error)

    # applying ------------------------------------------------------------------------------

    def apply(self, polled: dict[TopicPartition, list[Any]]) -> None:
        """Applies one poll's records, partition by partition in offset order."""
        batch: list[Received] = []
        for tp, records in polled.items():
            if tp in self.stopped or tp in self.unchecked:
                continue  # paused: fetched before the pause; read again from its offset
            if tp not in self.next_offsets:
                if tp in self.consumer.assignment():
                    # ours, but the assignment callback failed (say, the store was down):
                    # seek now; these records come again from the stored offset
                    self.assigned([tp])
                continue  # else revoked while these were in flight
            start = self.next_offsets[tp]
            batch.extend(receive(r) for r in records if start is None or r.offset >= start)
        chunk: list[Received] = []
        for item in batch:
            if item.message is not None and isinstance(item.message.command, c.RunPayouts):
                self.apply_chunk(chunk)
                self.apply_chunk([item])
                chunk = []
            else:
                chunk.append(item)
        self.apply_chunk(chunk)

    def apply_chunk(self, items: list[Received]) -> None:
        """Applies records in one transaction, retrying when another writer got in first."""
        for _ in range(ATTEMPTS):
            items = [i for i in items if self._still_ours(i)]
            if not items:
                return
            try:
                self._apply_once(items)
                return
            except InboxMoved:
                self._drop_moved_partitions()
            except WriteConflict:
                log.info("write conflict on a batch of %d, retrying", len(items))
            except (PersistenceError, KafkaError, OSError, ProjectionFailed):
                raise
            except Exception:
                # Not the store, not the broker: something in these messages trips a bug.
                # Apply them one by one so that only the culprit is dead-lettered.
                if len(items) == 1:
                    log.exception("message at %s:%d fails unexpectedly; dead-lettering it",
                                  items[0].tp, items[0].offset)
                    self._apply_once(items, failed=True)
                    return
                for item in items:
                    self.apply_chunk([item])
                return
        raise WriteConflict(f"gave up on a batch of {len(items)} after {ATTEMPTS} attempts")

    def _still_ours(self, item: Received) -> bool:
        """Whether a record is in a partition we hold and not yet applied (by anyone)."""
        if item.tp not in self.next_offsets:
            return False
        start = self.next_offsets[item.tp]
        return start is None or item.offset >= start

    def _drop_moved_partitions(self) -> None:
        """Another worker applied some of these partitions: follow the store from there."""
        stored = self.inbox.offsets(self.topic)
        for tp, expected in list(self.next_offsets.items()):
            if stored.get(tp.partition) != expected:
                log.warning("partition %s moved on elsewhere to %s", tp, stored.get(tp.partition))
                self.next_offsets[tp] = stored.get(tp.partition)
                self._seek(tp)

    def _apply_once(self, items: list[Received], failed: bool = False) -> None:
        app = self.svc.app
        now = app.clock()
        known = self.inbox.fingerprints(
            i.message_id for i in items if i.message_id is not None)
        dead: list[DeadLetter] = []
        commands: list[c.Command] = []
        owners: list[Received] = []
        rows: list[tuple[str, str, str, int, int, str]] = []  # ids dead-lettered up front
        duplicates = 0
        for item in items:
            message_id, found = item.message_id, item.fingerprint
            if message_id is not None and found is not None:
                seen = known.get(message_id)
                if seen is not None:
                    if seen != found:
                        dead.append(item.dead("conflicting-duplicate",
                                              f"Message id {message_id!r} was already used "
                                              "for a different message."))
                    else:
                        duplicates += 1
                    continue
                known[message_id] = found
            if item.message is None or failed:
                reason, detail = (("error", "The message could not be processed; see logs.")
                                  if item.bad is None else (item.bad.reason, item.bad.detail))
                dead.append(item.dead(reason, detail))
                if message_id is not None and found is not None:
                    rows.append((message_id, found, item.tp.topic, item.tp.partition,
                                 item.offset, "dead-lettered"))
                continue
            command = item.message.command
            if isinstance(command, c.RunPayouts):
                command = replace(command, partner_ids=self._partners_to_pay())
            commands.append(command)
            owners.append(item)
        moves = self._moves(items)
        recorded_dead: list[DeadLetter] = []

        def batch_writes(result: BatchResult) -> list[SideWrite]:
            letters = list(dead)
            message_rows = list(rows)
            for item, outcome in zip(owners, result.outcomes, strict=True):
                message = item.message
                assert message is not None
                state = "applied"
                if outcome.error is not None:
                    state = "dead-lettered"
                    reason = "invalid" if isinstance(outcome.error, InvalidInput) else "refused"
                    letters.append(item.dead(reason,
                                             f"{outcome.error.problem}: {outcome.error.detail}"))
                message_rows.append((message.message_id, message.fingerprint, item.tp.topic,
                                     item.tp.partition, item.offset, state))
            recorded_dead[:] = letters
            return [*self.inbox.move_offsets(self.topic, moves, now),
                    self.inbox.record_messages(message_rows, now),
                    self.inbox.record_dead_letters(letters, now)]

        result = app.execute_batch(commands, batch_writes=batch_writes)
        for tp_partition, (_, new) in moves.items():
            self.next_offsets[TopicPartition(self.topic, tp_partition)] = new
        self._count(result, duplicates, len(recorded_dead))

    def _count(self, result: BatchResult, duplicates: int, dead: int) -> None:
        """Adds a committed batch to the counts; dead letters are now due for publication."""
        self.counts.applied += sum(1 for o in result.outcomes if o.error is None)
        self.counts.duplicates += duplicates
        self.counts.dead_lettered += dead
        self.counts.batches += 1
        self.dead_letters_due = self.dead_letters_due or dead > 0

    def _moves(self, items: list[Received]) -> dict[int, tuple[int | None, int]]:
        """Each partition of the batch: from its stored next offset to after its last record."""
        last: dict[int, int] = {}
        for item in items:
            last[item.tp.partition] = max(item.offset, last.get(item.tp.partition, -1))
        return {p: (self.next_offsets.get(TopicPartition(self.topic, p)), offset + 1)
                for p, offset in last.items()}

    def _partners_to_pay(self) -> tuple[UUID, ...]:
        """Everyone who has earned, from the ledger read model brought up to date first
        (the only read model a run needs; if it is stopped, the run waits, backing off)."""
        self.svc.projections.get("ledger").catch_up()
        with self.svc.db.transaction(commit=False) as cursor:
            return tuple(UUID(p) for p in partners_with_accounts(cursor))

    # dead letters --------------------------------------------------------------------------

    def publish_dead_letters(self) -> None:
        """Sends the recorded dead letters of our partitions to the dead-letter topic."""
        if not self.dead_letters_due:
            return  # nothing recorded since the outbox was last emptied: no query
        partitions = sorted(tp.partition for tp in self.next_offsets)
        while partitions:
            letters = self.inbox.unpublished(self.topic, partitions)
            if not letters:
                break
            now = datetime.now(UTC)
            sent = [self.producer.send(self.dlq_topic, key=letter.key, value=letter.payload,
                                       headers=dead_letter_headers(letter, now))
                    for letter in letters]
            self.producer.flush()
            for future in sent:
                future.get(timeout=30)  # raises if the broker refused it: retried next time
            self.inbox.mark_published(letters, now)
        self.dead_letters_due = False
