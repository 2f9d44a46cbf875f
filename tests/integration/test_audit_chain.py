"""The hash chain over the log: kept with every write, and tampering found at its position."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.audit_chain import CHAIN_TABLE, AuditChain
from api.demo import load_demo
from api.services import Services
from tests.conftest import count_events


@pytest.fixture
def books(services: Services) -> Services:
    """A store with the demo program's history in it (a few dozen events)."""
    assert load_demo(services.app)
    return services


def column(svc: Services) -> str:
    return "rowid" if svc.db.dialect == "sqlite" else "notification_id"


def event_row(svc: Services, position: int) -> Any:
    with svc.db.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT originator_id, originator_version, topic, state "
                       f"FROM {svc.db.events_table} WHERE {column(svc)} = ?", (position,))
        row = cursor.fetchone()
    assert row is not None
    return row


def run_sql(svc: Services, statement: str, params: tuple[Any, ...] = ()) -> None:
    with svc.db.transaction() as cursor:
        cursor.execute(statement.format(events=svc.db.events_table, pos=column(svc)), params)


def test_an_untouched_store_verifies_clean_and_every_event_is_chained(books: Services) -> None:
    result = AuditChain(books.db).verify()
    assert result.ok, result.finding
    assert result.checked == count_events(books) > 20
    assert result.head_position == books.app.position()
    assert len(AuditChain(books.db).links(0, 10_000)) == result.checked


def test_events_stored_before_the_chain_existed_are_chained_on_start(books: Services) -> None:
    head = AuditChain(books.db).verify().head
    run_sql(books, f"DELETE FROM {CHAIN_TABLE}")
    assert AuditChain(books.db).verify().finding is not None
    AuditChain(books.db).setup()
    result = AuditChain(books.db).verify()
    assert result.ok and result.head == head


def test_an_edited_payload_is_named_at_its_position(books: Services) -> None:
    position = 7
    state = bytes(event_row(books, position)["state"])
    run_sql(books, "UPDATE {events} SET state = ? WHERE {pos} = ?",
            (state.replace(b"}", b', "x": 1}', 1), position))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (position, "altered")


def test_a_deleted_row_is_named_at_its_position(books: Services) -> None:
    run_sql(books, "DELETE FROM {events} WHERE {pos} = ?", (12,))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (12, "removed")


def test_two_swapped_rows_are_named_at_the_first(books: Services) -> None:
    a, b = event_row(books, 5), event_row(books, 9)
    swap = ("UPDATE {events} SET originator_id = ?, originator_version = ?, topic = ?, "
            "state = ? WHERE {pos} = ?")
    run_sql(books, "UPDATE {events} SET originator_version = -1 WHERE {pos} = ?", (5,))
    run_sql(books, "UPDATE {events} SET originator_version = -2 WHERE {pos} = ?", (9,))
    run_sql(books, swap, (b["originator_id"], b["originator_version"], b["topic"],
                          b["state"], 5))
    run_sql(books, swap, (a["originator_id"], a["originator_version"], a["topic"],
                          a["state"], 9))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (5, "altered")


def test_a_log_cut_at_the_end_is_named(books: Services) -> None:
    last = books.app.position()
    run_sql(books, "DELETE FROM {events} WHERE {pos} = ?", (last,))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (last, "removed")


def test_a_changed_chain_row_is_named(books: Services) -> None:
    run_sql(books, f"UPDATE {CHAIN_TABLE} SET chain = ? WHERE position = ?", ("00" * 32, 3))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (3, "chain-altered")


def test_an_event_inserted_behind_the_applications_back_is_named(books: Services) -> None:
    last = books.app.position()
    row = event_row(books, last)
    run_sql(books, f"DELETE FROM {CHAIN_TABLE} WHERE position = ?", (last,))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (last, "unchained")
    assert row is not None
