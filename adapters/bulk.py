"""Many rows into PostgreSQL in one statement, without psycopg's per-element list dumping.

`INSERT ... SELECT * FROM unnest(array, array, ...)` takes one array per column: one round
trip and one plan however many rows, where `executemany` binds and runs the statement once
per row. psycopg builds a list parameter element by element in Python, several times slower
than the insert itself, so a column of numbers and text travels as one string that the
server splits (`string_to_array`); a column holding the separator, or other values, as a
list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

UNIT_SEPARATOR, NULL_MARK = "\x1f", "\x1e"


def joined_column(values: Sequence[Any]) -> str | None:
    """A column's values as one string, split by the unit separator with None as the
    record separator; None when a value is neither a number nor text, or holds either."""
    try:
        joined, nulls = UNIT_SEPARATOR.join(values), 0  # all text: the usual case, in C
    except TypeError:
        if all(type(value) is int for value in values):
            return UNIT_SEPARATOR.join(map(str, values))  # digits and signs only
        texts: list[str] = []
        nulls = 0
        for value in values:
            if value is None:
                texts.append(NULL_MARK)
                nulls += 1
            elif isinstance(value, int) and not isinstance(value, bool):
                texts.append(str(value))
            elif isinstance(value, str):
                texts.append(value)
            else:
                return None
        joined = UNIT_SEPARATOR.join(texts)
    if joined.count(UNIT_SEPARATOR) != len(values) - 1 or joined.count(NULL_MARK) != nulls:
        return None
    if "\x00" in joined:
        return None  # PostgreSQL text cannot hold it; a list parameter reports it clearly
    return joined


def unnest_insert(raw: Any, table: str, columns: Sequence[tuple[str, str]],
                  rows: Sequence[Sequence[Any]], conflict: str = "") -> None:
    """Inserts rows with one statement on a psycopg cursor; `columns` are (name, SQL type)."""
    names = ", ".join(name for name, _ in columns)
    arrays: list[str] = []
    params: list[Any] = []
    for (_, kind), values in zip(columns, zip(*rows, strict=True), strict=True):
        joined = joined_column(values)
        if joined is None:
            arrays.append(f"%s::{kind}[]")
            params.append(list(values))
        else:
            arrays.append(f"string_to_array(%s, E'\\x1f', E'\\x1e')::{kind}[]")
            params.append(joined)
    raw.execute(f"INSERT INTO {table} ({names}) "  # noqa: S608
                f"SELECT * FROM unnest({', '.join(arrays)}) {conflict}", params)
