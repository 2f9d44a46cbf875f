"""The operator's side of ingestion offsets: where each partition stands, and resets.

`status` compares what the store holds for each partition of the inbound topic with what
the broker holds. `reset` moves a partition's stored offset by hand: the move, the
`IngestOffsets.OffsetReset` event saying who moved it from where to where and why, and the
clearing of the partition's stop are written in one transaction, so none is ever without
the others. A running worker finds the stop gone and resumes from the new offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from adapters import kafka
from adapters.application import PartnerProgram
from adapters.inbox import Inbox, PartitionStop
from domain.errors import InvalidInput, NotFound
from domain.ingest_offsets import IngestOffsets, check_reset


@dataclass(frozen=True)
class PartitionStatus:
    """One partition: the stored next offset, the broker's range and the stop, if any."""

    partition: int
    stored: int | None
    start: int | None  # None: the broker does not have this partition
    end: int | None
    stop: PartitionStop | None

    @property
    def lag(self) -> int | None:
        """Records on the broker not applied yet (None when the offset is out of range)."""
        if self.start is None or self.end is None:
            return None
        offset = self.start if self.stored is None else self.stored
        return self.end - offset if self.start <= offset <= self.end else None


@dataclass(frozen=True)
class Reset:
    """A reset as recorded."""

    topic: str
    partition: int
    from_offset: int | None
    to_offset: int
    cleared_stop: PartitionStop | None
    position: int


def partitions_of(probe: KafkaConsumer, topic: str) -> list[int]:
    """The partitions of `topic`, or NotFound."""
    partitions = probe.partitions_for_topic(topic)
    if not partitions:
        raise NotFound(f"The broker has no topic {topic!r}.")
    return sorted(partitions)


def status(inbox: Inbox, probe: KafkaConsumer, topic: str) -> list[PartitionStatus]:
    """Every partition of the topic, and any stopped partition it no longer has."""
    partitions = partitions_of(probe, topic)
    ranges = kafka.partition_ranges(probe, [TopicPartition(topic, p) for p in partitions])
    stored = inbox.offsets(topic)
    stops = inbox.stops(topic)
    rows = []
    for p in sorted(set(partitions) | set(stops) | set(stored)):
        found = ranges.get(TopicPartition(topic, p))
        rows.append(PartitionStatus(p, stored.get(p), None if found is None else found.start,
                                    None if found is None else found.end, stops.get(p)))
    return rows


def target_offset(to: str, found: kafka.PartitionRange) -> int:
    """`earliest`, `latest` or a number, as an offset the broker has."""
    if to == "earliest":
        return found.start
    if to == "latest":
        return found.end
    try:
        offset = int(to)
    except ValueError:
        raise InvalidInput.field("to", "earliest, latest or an offset.") from None
    if not found.holds(offset):
        raise InvalidInput.field(
            "to", f"The broker holds offsets {found.start} to {found.end} here; got {offset}.")
    return offset


def reset(app: PartnerProgram, inbox: Inbox, probe: KafkaConsumer, topic: str, partition: int,
          to: str, requested_by: str, reason: str) -> Reset:
    """Sets a partition's stored offset, clears its stop and records both as an event."""
    if partition not in partitions_of(probe, topic):
        raise NotFound(f"Topic {topic!r} has no partition {partition}.")
    tp = TopicPartition(topic, partition)
    target = target_offset(to, kafka.partition_ranges(probe, [tp])[tp])
    check_reset(target, requested_by, reason)
    stored = inbox.offsets(topic).get(partition)
    stop = inbox.stops(topic).get(partition)
    now = app.clock()
    stream_id = IngestOffsets.id_for(inbox.group, topic, partition)
    try:
        offsets = app.get_aggregate(IngestOffsets, stream_id)
    except NotFound:
        offsets = IngestOffsets.open(inbox.group, topic, partition)
    offsets.reset(stored, target, requested_by, reason, None if stop is None else stop.reason,
                  now)
    # the offset moves only if it is still what was read above (else: InboxMoved)
    recordings = app.save(offsets, side_writes=inbox.reset_offset(topic, partition, stored,
                                                                  target, now))
    return Reset(topic, partition, stored, target, stop,
                 max(r.notification.id for r in recordings))


def _shown(value: int | None) -> str:
    return "-" if value is None else str(value)


def status_table(rows: list[PartitionStatus]) -> list[str]:
    """The partitions as plain columns aligned on the widest cell; the state runs free."""
    table = [["PARTITION", "STORED", "START", "END", "LAG", "STATE"]]
    for row in rows:
        state = "ok" if row.stop is None else (
            f"STOPPED since {row.stop.stopped_at}: {row.stop.detail}")
        if row.start is None and row.stop is None:
            state = "not on the broker"
        table.append([str(row.partition), _shown(row.stored), _shown(row.start),
                      _shown(row.end), _shown(row.lag), state])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                       row[-1]]).rstrip() for row in table]
