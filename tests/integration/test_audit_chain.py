"""The hash chain over the log: kept with every write, and tampering found at its position."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import audit_links
from adapters.audit_chain import CHAIN_TABLE, AuditChain
from adapters.audit_links import Segment
from api.demo import load_demo
from api.services import Services
from domain import commands as c
from domain.money import Money
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


def segment_of(svc: Services, position: int) -> Segment:
    with svc.db.transaction(commit=False) as cursor:
        segment = audit_links.holding_position(cursor, CHAIN_TABLE, position)
    assert segment is not None and segment.offset_of(position) is not None
    return segment


def test_a_changed_chain_value_is_named_where_it_is_stored(books: Services) -> None:
    segment = segment_of(books, 3)  # the value stored after the row's last event
    run_sql(books, f"UPDATE {CHAIN_TABLE} SET chain = ? WHERE first_idx = ?",
            ("00" * 32, segment.first_idx))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None
    assert (finding.position, finding.problem) == (segment.positions[-1], "chain-altered")


def test_a_changed_stored_leaf_is_named_at_its_position(books: Services) -> None:
    position = books.app.position() - 1
    segment = segment_of(books, position)
    offset = segment.offset_of(position)
    assert offset is not None
    leaves = segment.leaves[:64 * offset] + "ab" * 32 + segment.leaves[64 * (offset + 1):]
    run_sql(books, f"UPDATE {CHAIN_TABLE} SET leaves = ? WHERE first_idx = ?",
            (leaves, segment.first_idx))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (position, "altered")


def test_garbage_in_the_newest_links_stops_no_write_and_is_named(books: Services) -> None:
    segment = segment_of(books, books.app.position())
    run_sql(books, f"UPDATE {CHAIN_TABLE} SET chain = ? WHERE first_idx = ?",
            ("not a hash", segment.first_idx))
    run_sql(books, "UPDATE audit_nodes SET hash = ?", ("zz",))
    books.app.execute(c.RecordPayment(None, "in_after_garbage", "cust-globex",
                                      Money.parse("1.00", "USD")))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None
    assert (finding.position, finding.problem) == (segment.positions[-1], "chain-altered")


def test_a_row_of_links_with_a_leaf_too_many_is_named(books: Services) -> None:
    segment = segment_of(books, books.app.position())
    run_sql(books, f"UPDATE {CHAIN_TABLE} SET leaves = ? WHERE first_idx = ?",
            (segment.leaves + "ab" * 32, segment.first_idx))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None
    assert (finding.position, finding.problem) == (segment.positions[-1], "chain-altered")


def test_unreadable_positions_leave_their_events_unchained(books: Services) -> None:
    segment = segment_of(books, books.app.position())
    run_sql(books, f"UPDATE {CHAIN_TABLE} SET positions = ? WHERE first_idx = ?",
            ("1-99999999999", segment.first_idx))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None
    assert (finding.position, finding.problem) == (segment.positions[0], "unchained")


def test_an_event_inserted_behind_the_applications_back_is_named(books: Services) -> None:
    last = books.app.position()
    row = event_row(books, last)
    run_sql(books, "INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)", (row["originator_id"], row["originator_version"] + 1000,
                                    row["topic"], row["state"]))
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (last + 1, "unchained")


def per_event_rows(svc: Services) -> list[tuple[int, int, str, str]]:
    """The links as an earlier version stored them: (position, idx, leaf, chain) each."""
    links = AuditChain(svc.db).links(0, 10**12)
    return [(position, idx, leaf, chain)
            for idx, (position, (leaf, chain)) in enumerate(links.items())]


def store_per_event(svc: Services, rows: list[tuple[int, int, str, str]]) -> None:
    with svc.db.transaction() as cursor:
        cursor.execute(f"CREATE TABLE {audit_links.PER_EVENT_TABLE} (position BIGINT PRIMARY "
                       "KEY, idx BIGINT NOT NULL UNIQUE, leaf TEXT NOT NULL, chain TEXT NOT NULL)")
        cursor.executemany(f"INSERT INTO {audit_links.PER_EVENT_TABLE} VALUES (?, ?, ?, ?)",
                           rows)
        cursor.execute(f"DELETE FROM {CHAIN_TABLE}")


def test_links_an_earlier_version_stored_one_per_event_are_carried_over(
        books: Services) -> None:
    before = AuditChain(books.db).verify()
    rows = per_event_rows(books)
    store_per_event(books, rows)
    with pytest.raises(Exception, match="not carried over yet"):  # no fork of the chain
        books.app.execute(c.RecordPayment(None, "in_before_carry", "cust-globex",
                                          Money.parse("1.00", "USD")))
    assert count_events(books) == before.checked  # the refused write stored nothing
    AuditChain(books.db).setup()
    after = AuditChain(books.db).verify()
    assert after.ok and (after.checked, after.head) == (before.checked, before.head)
    assert per_event_rows(books) == rows
    with books.db.transaction(commit=False) as cursor:
        assert not audit_links.table_exists(cursor, audit_links.PER_EVENT_TABLE)
    books.app.execute(c.RecordPayment(None, "in_after_carry", "cust-globex",
                                      Money.parse("1.00", "USD")))
    assert AuditChain(books.db).verify().ok


def test_an_edit_to_the_per_event_links_stays_visible_once_carried_over(
        books: Services) -> None:
    rows = per_event_rows(books)
    position, idx, leaf, _ = rows[9]
    rows[9] = (position, idx, leaf, "00" * 32)
    store_per_event(books, rows)
    AuditChain(books.db).setup()
    finding = AuditChain(books.db).verify().finding
    assert finding is not None and (finding.position, finding.problem) == (position,
                                                                          "chain-altered")
