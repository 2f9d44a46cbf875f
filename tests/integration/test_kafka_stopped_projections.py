"""A payout run arriving over Kafka needs only the ledger read model: another stopped read model
does not dead-letter it, and a stopped ledger makes it wait rather than lose it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import TopicPartition

from adapters import kafka
from api.kafka.ingest import Ingestor
from api.kafka.messages import decode
from api.kafka.records import Received
from api.services import Services
from domain import commands as c
from domain.money import Money
from projections.commissions import Commissions
from projections.ledger import LedgerReadModel
from projections.runner import ProjectionFailed
from tests.conftest import count_events
from tests.factories import referring_partner
from tests.kafka_broker import Broker, Envelope
from tests.kafka_scenario import at

pytestmark = pytest.mark.kafka


@pytest.fixture
def ingestor(svc: Services, broker: Broker) -> Iterator[Ingestor]:
    worker = Ingestor(svc, kafka.consumer(svc.settings, group_id=None),
                      kafka.producer(svc.settings, "test"))
    tp = TopicPartition(svc.settings.inbound_topic, 0)
    worker.consumer.assign([tp])
    worker.next_offsets[tp] = None
    yield worker
    worker.consumer.close(autocommit=False)
    worker.producer.close()


def payout_run(svc: Services) -> Received:
    tp = TopicPartition(svc.settings.inbound_topic, 0)
    raw = Envelope("payout_run.requested", {"id": str(uuid.uuid4())}, at(0), "k").encode()
    return Received(tp, 0, b"k", raw, message=decode(raw))


def broken(*_: Any) -> None:
    raise RuntimeError("read model is broken")


def test_a_stopped_commissions_read_model_does_not_dead_letter_a_payout_run(
    svc: Services, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    referring_partner(svc.app, svc.app.clock())
    monkeypatch.setattr(Commissions, "apply", broken)
    svc.app.execute(c.RecordPayment(None, "in_1", "cust-x", Money.parse("10.00", "USD")))
    ingestor.apply_chunk([payout_run(svc)])
    assert ingestor.counts.applied == 1
    assert svc.inbox.dead_letters() == []


def test_a_stopped_ledger_makes_a_payout_run_wait_and_writes_nothing(
    svc: Services, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    referring_partner(svc.app, svc.app.clock())
    monkeypatch.setattr(LedgerReadModel, "apply", broken)
    before = count_events(svc)
    with pytest.raises(ProjectionFailed):
        ingestor.apply_chunk([payout_run(svc)])
    assert count_events(svc) == before
    assert svc.inbox.dead_letters() == []
    assert svc.inbox.offsets(svc.settings.inbound_topic) == {}
    monkeypatch.undo()
    ingestor.apply_chunk([payout_run(svc)])
    assert ingestor.counts.applied == 1
