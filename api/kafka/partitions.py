"""The partitions an ingest worker holds: where each resumes, and which wait, paused.

A stored offset the broker no longer has is never skipped: each partition is checked against
the broker's range when it is assigned, when the client reports it out of range, and every
few seconds; a partition outside is paused and recorded as stopped until an operator's reset.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from adapters import kafka
from adapters.inbox import Inbox, PartitionStop
from adapters.settings import Settings

log = logging.getLogger(__name__)


class AssignedPartitions:
    """The consumer's assigned partitions of `topic`, positioned at the offsets the store holds."""

    def __init__(self, consumer: KafkaConsumer, inbox: Inbox, settings: Settings,
                 probe: KafkaConsumer | None = None) -> None:
        self.consumer = consumer
        self.inbox = inbox
        self.settings = settings
        self.topic = settings.inbound_topic
        # asks the broker where partitions start and end; made when first needed
        self._probe = probe
        # assigned partitions -> the next offset to apply, as stored (None: nothing yet)
        self.next_offsets: dict[TopicPartition, int | None] = {}
        # assigned partitions, paused: not yet checked against the broker's range, or stopped
        # because the broker does not have their stored offset (recorded in the store or not)
        self.unchecked: set[TopicPartition] = set()
        self.stopped: dict[TopicPartition, PartitionStop] = {}
        self.unrecorded: set[TopicPartition] = set()

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
            self._probe = kafka.offsets_probe(self.settings)
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

    def _drop_moved_partitions(self) -> None:
        """Another worker applied some of these partitions: follow the store from there."""
        stored = self.inbox.offsets(self.topic)
        for tp, expected in list(self.next_offsets.items()):
            if stored.get(tp.partition) != expected:
                log.warning("partition %s moved on elsewhere to %s", tp, stored.get(tp.partition))
                self.next_offsets[tp] = stored.get(tp.partition)
                self._seek(tp)
