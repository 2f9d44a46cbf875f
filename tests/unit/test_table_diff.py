"""The side-by-side walk that compares a rebuilt table with the live one: what it names, and
that its order is the database's."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.sql import Cursor
from projections.table_diff import (
    Unordered,
    compare,
    compare_ordered,
    compare_rows,
    key_columns,
    order_by,
    sort_key,
)

MIXED = [None, -3, 2.5, 10, "", "B", "a", "é", "z", "\U0001f600", b"", b"\x00", b"\xff"]


def rows(*pairs: tuple[Any, Any]) -> Iterator[dict[str, Any]]:
    return iter([{"id": key, "amount": amount} for key, amount in pairs])


def described(live: Iterator[dict[str, Any]], rebuilt: Iterator[dict[str, Any]],
              most: int = 100) -> list[str]:
    return [d.describe() for d in compare_ordered("t", ["id"], live, rebuilt, most)]


def test_rows_on_one_side_and_changed_cells_are_named_in_key_order() -> None:
    found = described(rows((1, "a"), (2, "b"), (4, "d"), (5, "e")),
                      rows((0, "z"), (2, "B"), (3, "c"), (4, "d")))
    assert found == [
        "t key (0,): row rebuilt only",
        "t key (1,): row live only",
        "t key (2,) column amount: live 'b', rebuilt 'B'",
        "t key (3,): row rebuilt only",
        "t key (5,): row live only",
    ]


def test_equal_sides_and_empty_sides() -> None:
    assert described(rows((1, "a"), (2, "b")), rows((1, "a"), (2, "b"))) == []
    assert described(rows(), rows()) == []
    assert described(rows((1, "a")), rows()) == ["t key (1,): row live only"]
    assert described(rows(), rows((1, "a"))) == ["t key (1,): row rebuilt only"]


def test_a_duplicated_row_on_one_side_is_named_once() -> None:
    assert described(rows((1, "a"), (1, "a"), (2, "b")), rows((1, "a"), (2, "b"))) == [
        "t key (1,): row live only"]


def test_a_model_wrong_everywhere_is_named_by_its_first_differences() -> None:
    live = rows(*[(n, "x") for n in range(10_000)])
    rebuilt = rows(*[(n, "y") for n in range(10_000)])
    assert len(described(live, rebuilt, most=25)) == 25


def test_a_side_out_of_order_is_refused_not_misread() -> None:
    with pytest.raises(Unordered):
        described(rows((2, "a"), (1, "b")), rows((1, "b"), (2, "a")))
    with pytest.raises(Unordered):  # keys Python cannot order
        compare_ordered("t", ["id"], rows((1, "a")), rows((1j, "a")), 10)
    with pytest.raises(Unordered):  # a float NaN is neither before nor after anything
        compare_ordered("t", ["id"], rows((1.0, "a")), rows((float("nan"), "a")), 10)
    with pytest.raises(Unordered):  # a decimal NaN refuses to be ordered
        compare_ordered("t", ["id"], rows((Decimal(1), "a")), rows((Decimal("NaN"), "a")), 10)


def test_the_walks_order_is_sqlites_for_every_storage_class() -> None:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t (id COLLATE NOCASE, amount TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(value, "x") for value in MIXED])
    cursor = Cursor(conn.cursor(), "sqlite")
    cursor.execute(f"SELECT id FROM t ORDER BY {order_by(cursor, 't', ['id'])}")
    ordered = [row["id"] for row in cursor.fetchall()]
    assert ordered == sorted(MIXED, key=lambda value: sort_key((value,)))


def tables(live_rows: list[tuple[Any, str]], rebuilt_rows: list[tuple[Any, str]]
           ) -> tuple[Cursor, Cursor]:
    cursors = []
    for content in (live_rows, rebuilt_rows):
        conn = sqlite3.connect(":memory:")
        conn.row_factory = sqlite3.Row
        conn.execute("CREATE TABLE t (id, amount TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", content)
        cursors.append(Cursor(conn.cursor(), "sqlite"))
    return cursors[0], cursors[1]


def test_keys_of_every_storage_class_in_one_column_are_walked() -> None:
    live, rebuilt = tables([(1, "a"), ("1", "b"), (b"1", "x")], [(1, "a"), ("1", "c")])
    assert key_columns(live, "t") == ["id", "amount"]  # no primary key: every column
    assert [d.describe() for d in compare("t", ["id"], live, rebuilt)] == [
        "t key ('1',) column amount: live 'b', rebuilt 'c'", "t key (b'1',): row live only"]


def test_a_table_the_walk_cannot_follow_is_compared_in_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    live, rebuilt = tables([(n, "a") for n in range(5)], [(n, "a") for n in range(1, 6)])
    monkeypatch.setattr("projections.table_diff.order_by", lambda *_: "id DESC")
    assert [d.describe() for d in compare("t", ["id"], live, rebuilt)] == [
        "t key (0,): row live only", "t key (5,): row rebuilt only"]
    assert [d.describe() for d in compare_rows("t", ["id"], {(1,): {"id": 1}},
                                               {(2,): {"id": 2}})] == [
        "t key (1,): row live only", "t key (2,): row rebuilt only"]


def test_text_that_is_not_utf8_is_named_not_a_crash() -> None:
    live, rebuilt = tables([(1, "a"), (2, "b")], [(1, "a"), (2, "b")])
    live.execute("UPDATE t SET amount = CAST(x'ff41' AS TEXT) WHERE id = 2")
    found = [d.describe() for d in compare("t", ["id"], live, rebuilt)]
    assert len(found) == 1 and found[0].startswith("t: a row cannot be read (")


def test_one_difference_more_than_kept_tells_there_are_more() -> None:
    live, rebuilt = tables([(n, "a") for n in range(10)], [(n, "b") for n in range(10)])
    assert len(compare("t", ["id"], live, rebuilt, most=4)) == 5
    live, rebuilt = tables([(n, "a") for n in range(4)], [(n, "b") for n in range(4)])
    assert len(compare("t", ["id"], live, rebuilt, most=4)) == 4
