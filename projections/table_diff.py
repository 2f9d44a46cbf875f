"""Comparing two versions of one table row by row, holding neither.

Both are read in the order of their key, as the database sorts it, and walked side by side:
memory stays at a stretch of rows whatever the table's size. The walk decides which side is
behind by comparing keys in Python, so the database is asked for an order Python agrees
with: NULL first, then numbers, then text by code point (UTF-8 bytes: `BINARY` on SQLite,
`"C"` on PostgreSQL), then bytes. Should a side still come back in an order the walk does
not expect (a type this does not know), that table is compared in memory instead.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from adapters.sql import Cursor

# differences kept per table: a read model wrong everywhere is named by its first ones, and
# a `MORE` marker says there are others
MOST_DIFFERENCES = 1000
MORE = "(more)"
TEXT_TYPES = {"text", "character varying", "character"}


@dataclass(frozen=True)
class Difference:
    """One cell, or a whole row, where the rebuilt read model and the live one disagree."""

    table: str
    key: tuple[Any, ...]
    column: str  # "(row)" when the row exists on one side only
    live: Any
    rebuilt: Any

    def describe(self) -> str:
        if self.column == MORE:
            return f"{self.table}: more differences than are kept"
        if self.column == "(unreadable)":
            return f"{self.table}: a row cannot be read ({self.live})"
        if self.column == "(row)":
            where = "live only" if self.live else "rebuilt only"
            return f"{self.table} key {self.key!r}: row {where}"
        return (f"{self.table} key {self.key!r} column {self.column}: "
                f"live {self.live!r}, rebuilt {self.rebuilt!r}")


class Unordered(Exception):
    """A side came back in an order the walk cannot follow."""


def sort_key(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """A key as the walk orders it, the way the ORDER BY of `order_by` sorts it."""
    ranked: list[tuple[int, Any]] = []
    for value in key:
        if value is None:
            ranked.append((0, 0))
        elif isinstance(value, float) and math.isnan(value):  # neither before nor after
            raise Unordered("a NaN in a key")
        elif isinstance(value, str):
            ranked.append((2, value))
        elif isinstance(value, bytes | bytearray | memoryview):
            ranked.append((3, bytes(value)))
        else:  # numbers; on PostgreSQL a column's own type (dates, uuids, ...)
            ranked.append((1, value))
    return tuple(ranked)


def key_columns(cursor: Cursor, table: str) -> list[str]:
    """The table's primary key columns (all columns when it has none)."""
    if cursor.dialect == "sqlite":
        cursor.execute(f"PRAGMA table_info({table})")
        info = cursor.fetchall()
        keyed = sorted((int(r["pk"]), str(r["name"])) for r in info if int(r["pk"]) > 0)
        return [name for _, name in keyed] or [str(r["name"]) for r in info]
    cursor.execute(
        "SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(?) AND i.indisprimary ORDER BY a.attnum", (table,))
    names = [str(r["name"]) for r in cursor.fetchall()]
    if names:
        return names
    cursor.execute("SELECT column_name AS name FROM information_schema.columns "
                   "WHERE table_schema = current_schema() AND table_name = ? "
                   "ORDER BY ordinal_position", (table,))
    return [str(r["name"]) for r in cursor.fetchall()]


def order_by(cursor: Cursor, table: str, key: list[str]) -> str:
    """The ORDER BY list that sorts the table's rows as `sort_key` does."""
    if cursor.dialect == "sqlite":  # NULLs sort first; a collation applies to text only
        return ", ".join(f"{column} COLLATE BINARY" for column in key)
    cursor.execute("SELECT column_name AS name, data_type FROM information_schema.columns "
                   "WHERE table_schema = current_schema() AND table_name = ?", (table,))
    text = {str(r["name"]) for r in cursor.fetchall() if str(r["data_type"]) in TEXT_TYPES}
    return ", ".join(f'{column} COLLATE "C" NULLS FIRST' if column in text
                     else f"{column} NULLS FIRST" for column in key)


def _walk(cursor: Cursor, table: str, order: str) -> Generator[dict[str, Any], None, None]:
    """The table's rows in key order, a stretch at a time."""
    statement = f"SELECT * FROM {table} ORDER BY {order}"  # noqa: S608
    with closing(cursor.stream(statement)) as stretches:  # its server-side cursor, closed
        for rows in stretches:
            yield from (dict(row) for row in rows)


def _in_memory(cursor: Cursor, table: str, key: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - names are class constants
    return {tuple(row[k] for k in key): dict(row) for row in cursor.fetchall()}


def compare(table: str, key: list[str], live: Cursor, rebuilt: Cursor,
            most: int | None = None) -> list[Difference]:
    """The differences between the live and the rebuilt version of one table, in key
    order: at most `most` of them (`MOST_DIFFERENCES`), then a `MORE` marker if there are
    others."""
    most = MOST_DIFFERENCES if most is None else most
    order = order_by(live, table, key)
    try:
        try:
            with (closing(_walk(live, table, order)) as a,
                  closing(_walk(rebuilt, table, order)) as b):
                found = compare_ordered(table, key, a, b, most + 1)
        except Unordered:
            found = compare_rows(table, key, _in_memory(live, table, key),
                                 _in_memory(rebuilt, table, key))
    except sqlite3.OperationalError as error:
        if "decode" not in str(error):
            raise
        # text that is not UTF-8, written by hand: the application never stores it
        return [Difference(table, (), "(unreadable)", str(error), None)]
    if len(found) > most:
        return [*found[:most], Difference(table, (), MORE, None, None)]
    return found


def compare_ordered(table: str, key: list[str], live: Iterator[dict[str, Any]],
                    rebuilt: Iterator[dict[str, Any]], most: int) -> list[Difference]:
    """The walk over two sides in key order; Unordered when a side is not."""
    found: list[Difference] = []
    behind: dict[str, tuple[Any, ...]] = {}

    def step(side: str, rows: Iterator[dict[str, Any]]) -> tuple[dict[str, Any] | None, Any]:
        row = next(rows, None)
        if row is None:
            return None, None
        ranked = sort_key(tuple(row[k] for k in key))
        try:
            if side in behind and ranked < behind[side]:
                raise Unordered(f"{table}: {side} rows out of key order")
        except (TypeError, ArithmeticError) as error:  # e.g. a decimal NaN
            raise Unordered(f"{table}: keys the walk cannot compare") from error
        behind[side] = ranked
        return row, ranked

    a, a_key = step("live", live)
    b, b_key = step("rebuilt", rebuilt)
    while (a is not None or b is not None) and len(found) < most:
        try:
            live_first = b is None or (a is not None and a_key < b_key)
            rebuilt_first = not live_first and (a is None or b_key < a_key)
        except (TypeError, ArithmeticError) as error:  # e.g. a decimal NaN
            raise Unordered(f"{table}: keys the walk cannot compare") from error
        if live_first:
            assert a is not None
            found.append(Difference(table, tuple(a[k] for k in key), "(row)", True, False))
            a, a_key = step("live", live)
        elif rebuilt_first:
            assert b is not None
            found.append(Difference(table, tuple(b[k] for k in key), "(row)", False, True))
            b, b_key = step("rebuilt", rebuilt)
        else:
            assert a is not None and b is not None
            found += cells(table, tuple(a[k] for k in key), a, b)
            a, a_key = step("live", live)
            b, b_key = step("rebuilt", rebuilt)
    return found[:most]


def cells(table: str, key: tuple[Any, ...], live: dict[str, Any],
          rebuilt: dict[str, Any]) -> list[Difference]:
    """The columns where two versions of one row differ."""
    return [Difference(table, key, column, value, rebuilt.get(column))
            for column, value in live.items() if value != rebuilt.get(column)]


def compare_rows(table: str, key: list[str], live: dict[tuple[Any, ...], dict[str, Any]],
                 rebuilt: dict[tuple[Any, ...], dict[str, Any]]) -> list[Difference]:
    """Every difference between two versions of one table held in memory."""
    found: list[Difference] = []
    for row_key in sorted(set(live) | set(rebuilt), key=repr):
        a, b = live.get(row_key), rebuilt.get(row_key)
        if a is None or b is None:
            found.append(Difference(table, row_key, "(row)", a is not None, b is not None))
            continue
        found += cells(table, row_key, a, b)
    return found
