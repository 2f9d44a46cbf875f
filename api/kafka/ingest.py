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

from adapters.application import BatchResult
from adapters.inbox import DeadLetter, InboxMoved
from adapters.provenance import Provenance
from adapters.sql import SideWrite
from api.kafka.partitions import AssignedPartitions
from api.kafka.records import Received, publish_dead_letters, receive
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


@dataclass
class Counts:
    """What the worker has done since it started."""

    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0


class Ingestor(AssignedPartitions):
    """The consumer-group worker; `run` loops until `stop` is set."""

    def __init__(self, svc: Services, consumer: KafkaConsumer, producer: KafkaProducer,
                 probe: KafkaConsumer | None = None) -> None:
        super().__init__(consumer, svc.inbox, svc.settings, probe)
        self.svc = svc
        self.producer = producer
        self.dlq_topic = svc.settings.dlq_topic
        # the worker is a long-running writer: keep what it saved for its next batches
        svc.app.keep_aggregates(svc.settings.ingest_cache_size)
        self.check_interval = CHECK_INTERVAL
        self.counts = Counts()
        # whether the outbox may hold dead letters of our partitions: after an assignment,
        # after a batch that recorded some, and until a publication got through
        self.dead_letters_due = True

    def assigned(self, partitions: Sequence[TopicPartition]) -> None:
        """As AssignedPartitions; the new partitions may have dead letters to send."""
        super().assigned(partitions)
        self.dead_letters_due = True

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
            provenance: list[tuple[str, int, str, str]] = []
            for item, outcome in zip(owners, result.outcomes, strict=True):
                message = item.message
                assert message is not None
                if outcome.events:
                    provenance += Provenance.rows(outcome.events, {
                        "via": "kafka", "topic": item.tp.topic, "partition": item.tp.partition,
                        "offset": item.offset, "message_id": message.message_id})
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
                    self.inbox.record_dead_letters(letters, now),
                    *Provenance.record(provenance)]

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
        publish_dead_letters(self.inbox, self.producer, self.topic, self.dlq_topic,
                             sorted(tp.partition for tp in self.next_offsets))
        self.dead_letters_due = False
