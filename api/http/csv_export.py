"""CSV exports of lists: the same rows and figures as the JSON, every row from the cursor on.

A list answers CSV when asked with `?format=csv` or `Accept: text/csv`. The columns are read
from the JSON items the list would answer, so the figures cannot differ; the rows are fetched
and sent page by page, so an export of any length streams in constant memory. Text a caller
wrote (names, references, reasons, source ids) is prefixed with `'` where a spreadsheet would
read it as a formula; amounts are never altered.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response, request

CSV = "text/csv"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_PAGE = 500


@dataclass(frozen=True)
class Column:
    """A CSV column: its header, how to read it from a JSON item, and whether it is text a
    caller wrote."""

    header: str
    read: Callable[[dict[str, Any]], Any]
    text: bool = False


def field(name: str, text: bool = False) -> Column:
    return Column(name, lambda item: item[name], text)


def money(name: str, header: str | None = None) -> Column:
    return Column(header or name, lambda item: (item[name] or {}).get("amount"))


def wants_csv(query: dict[str, Any]) -> bool:
    """`?format=csv`, or `Accept` preferring text/csv to JSON."""
    if query.get("format") is not None:
        return bool(query["format"] == "csv")
    best = request.accept_mimetypes.best_match(["application/json", CSV])
    return best == CSV and request.accept_mimetypes[CSV] > request.accept_mimetypes[
        "application/json"]


def cell(value: Any, text: bool) -> str:
    if value is None:
        return ""
    shown = str(value)
    if text and shown.startswith(FORMULA_START):
        return "'" + shown
    return shown


Fetch = Callable[[int], tuple[list[dict[str, Any]], int | None]]


def csv_response(filename: str, columns: Sequence[Column], fetch: Fetch, after: int) -> Response:
    """A streamed CSV of every item `fetch` yields from `after` on, a page at a time."""

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([column.header for column in columns])
        cursor: int | None = after
        while cursor is not None:
            items, cursor = fetch(cursor)
            for item in items:
                writer.writerow([cell(column.read(item), column.text) for column in columns])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    # the fetches hold what they need, so the body streams without the request's context
    response = Response(rows(), mimetype=CSV)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Vary"] = "Accept"
    return response


def csv_doc(schema: str) -> dict[str, Any]:
    """The 200 answer documented as JSON (the list's schema) or CSV."""
    return {"responses": {"200": {"content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
        CSV: {"schema": {"type": "string"}}}}}}
