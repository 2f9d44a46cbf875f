"""The ingestion worker keeps aggregates between batches, and never acts on stale ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.application import project_aggregate

from adapters.settings import Settings
from api.bootstrap import build_services
from api.services import Services
from domain import commands as c
from domain.accounts import PartnerAccount
from domain.billing import Payment
from domain.money import Money
from tests.factories import referring_partner

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def referred_partner(svc: Services) -> tuple[uuid.UUID, str]:
    return referring_partner(svc.app, NOW)


def pay(n: int, customer: str) -> c.RecordPayment:
    return c.RecordPayment(NOW + timedelta(minutes=n), f"in_{n}", customer,
                           Money.parse("100.00", "USD"))


@pytest.fixture
def other_writer(services: Services) -> Services:
    """A second process's view of the same store (no cache), e.g. the HTTP API."""
    other = build_services(Settings(database_url=services.settings.database_url,
                                    follow_interval=0))
    yield other  # type: ignore[misc]
    other.close()


def test_changes_by_another_writer_are_seen_by_the_next_batch(
    services: Services, other_writer: Services
) -> None:
    pid, customer = referred_partner(services)
    services.app.keep_aggregates(100)
    services.app.execute_batch([pay(1, customer)])  # partner and account now cached
    other_writer.app.execute(c.SuspendPartner(NOW + timedelta(minutes=2), pid, "audit"))
    services.app.execute_batch([pay(3, customer)])
    paid = services.app.get_aggregate(Payment, Payment.id_for("in_3"))
    assert paid.commission is None  # the cached partner was active; the stored one is not
    assert paid.no_commission_reason == "partner_suspended"


def test_an_aggregate_another_writer_moved_on_is_reloaded_not_overwritten(
    services: Services, other_writer: Services
) -> None:
    pid, customer = referred_partner(services)
    services.app.keep_aggregates(100)
    services.app.execute_batch([pay(1, customer)])
    # another writer moves the cached account on: the next batch must build on its event
    other_writer.app.execute(pay(2, customer))
    services.app.execute_batch([pay(3, customer), pay(4, customer)])
    account = services.app.get_aggregate(PartnerAccount, PartnerAccount.id_for(pid))
    stored = services.app.recorder.select_events(account.id)
    replayed = project_aggregate(None, [services.app.mapper.to_domain_event(e) for e in stored])
    assert account.version == replayed.version == len(stored)
    assert replayed.earned == Money.parse("80.00", "USD")  # four payments at 20%, once each
    # and the cache's copy is exactly the stored state
    services.app.execute_batch([pay(5, customer)])
    after = services.app.get_aggregate(PartnerAccount, PartnerAccount.id_for(pid))
    assert after.earned == Money.parse("100.00", "USD")


def test_a_batch_saved_after_another_writer_stays_cached(
    services: Services, other_writer: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer commits between our batch's start and its save (a second worker, an
    API process): what our batch saved stays cached, what the other changed does not."""
    pid, customer = referred_partner(services)
    services.app.keep_aggregates(100)
    services.app.execute_batch([pay(1, customer)])
    cache = services.app.cache
    assert cache is not None
    newcomer = uuid.uuid4()
    started = cache.sync

    def sync_then_another_writer_commits(recorder: object) -> None:
        started(recorder)
        other_writer.app.execute(c.ApplyPartner(NOW, newcomer, "N", f"{newcomer}@n.example",
                                                "Co", "agency", "US"))

    monkeypatch.setattr(cache, "sync", sync_then_another_writer_commits)
    services.app.execute_batch([pay(2, customer)])
    monkeypatch.undo()
    account_id = PartnerAccount.id_for(pid)
    cache.sync(services.app.recorder)
    kept = cache.take([pid, account_id, newcomer])
    assert set(kept) == {pid, account_id}  # ours as saved; the newcomer was never ours
    assert kept[account_id].version == len(services.app.recorder.select_events(account_id))
    # a change the other writer makes after our save is still seen
    other_writer.app.execute(c.SuspendPartner(NOW + timedelta(minutes=5), pid, "audit"))
    services.app.execute_batch([pay(6, customer)])
    paid = services.app.get_aggregate(Payment, Payment.id_for("in_6"))
    assert paid.no_commission_reason == "partner_suspended"
