"""The domain records its events directly, and exactly as the library would.

The agreement itself is checked on every event every unit test records (the autouse twin
check in conftest.py); these tests show that the direct path is the one taken, that the
check can fail, and that calls the direct path does not take still get the library's answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.domain import CommandMethodDecorator, decorated_func_callers

from domain.accounts import PartnerAccount
from domain.money import Money
from domain.partners import Partner
from domain.recording import RecordsDirectly
from tests.unit.recording_twin import Twins, aggregate_classes, stored
from tests.unit.world import World

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _partner() -> Partner:
    return Partner(id=uuid.uuid4(), name="Northwind", email="a@northwind.example",
                   company="Northwind", type="referral", country="US", occurred_at=NOW)


def test_every_aggregate_records_every_event_directly() -> None:
    classes = aggregate_classes()
    assert len(classes) == 15
    for cls in classes:
        assert type(cls) is RecordsDirectly, cls
        assert cls.__dict__["_creation"] is not None, cls
        left = [name for name, value in vars(cls).items()
                if isinstance(value, CommandMethodDecorator) and name != "__init__"]
        assert left == [], (cls, left)


def test_the_twin_check_ran_on_what_a_flow_recorded(world: World, twins: Twins) -> None:
    partner_id = world.partner("active")
    world.customer(partner_id, "cus-1")
    assert twins.checked >= 6  # a plan, a partner and its claim, approval, account, referral


def test_the_twin_check_fails_when_the_two_ways_disagree() -> None:
    account = PartnerAccount(id=uuid.uuid4(), partner_id=uuid.uuid4(), currency="USD")
    decorator = next(d for d in decorated_func_callers
                     if d.decorated_func.__qualname__ == "PartnerAccount._revenue_recorded")

    def doubled(aggregate: Any, source_type: str, source_id: str, amount: Money,
                new_business: bool, occurred_at: datetime) -> None:
        decorator.__get__(aggregate, type(aggregate))(
            source_type, source_id, amount + amount, new_business, occurred_at)

    wrong = Twins().method(doubled, decorator)
    with pytest.raises(AssertionError):
        wrong(account, "payment", "in_1", Money(Decimal("5.00"), "USD"), True, NOW)


def test_a_call_without_exactly_the_methods_arguments_gets_the_librarys_answer() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        Partner(id=uuid.uuid4(), name="N", email="a@b.example", company="N",  # type: ignore[call-arg]
                type="referral", country="US")
    partner = _partner()
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        partner._suspended("late", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 3 positional arguments but 4 were given"):
        partner._suspended("late", NOW, "red")  # type: ignore[call-arg]
    assert partner.status == "applied" and partner.version == 1
    account = PartnerAccount(id=uuid.uuid4(), partner_id=uuid.uuid4(), currency="USD")
    with pytest.raises(TypeError):
        account._revenue_recorded("payment", "in_1")  # type: ignore[call-arg]
    assert account.version == 1 and len(account.pending_events) == 1


def test_positional_creation_and_string_ids_go_the_librarys_way() -> None:
    partner = Partner(uuid.uuid4(), "N", "a@b.example", "N", "referral", "US", NOW)
    assert partner.status == "applied" and partner.version == 1
    assert stored(partner.pending_events)[0][2] == "domain.partners:Partner.Applied"


def test_events_recorded_directly_replay_to_the_same_state() -> None:
    partner = _partner()
    partner.approve(uuid.uuid4(), NOW)
    partner.suspend("late filing", NOW)
    account = PartnerAccount(id=PartnerAccount.id_for(partner.id), partner_id=partner.id,
                             currency="USD")
    account.record_revenue("payment", "in_1", Money(Decimal("120.00"), "USD"), True, NOW)
    for live in (partner, account):
        events = live.collect_events()
        replayed: Any = None
        for event in events:
            replayed = event.mutate(replayed)
        assert replayed.version == live.version == len(events)
        assert {k: v for k, v in vars(replayed).items() if k != "_pending_events"} == \
            {k: v for k, v in vars(live).items() if k != "_pending_events"}
