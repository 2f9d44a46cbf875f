"""Bulk rows: `Cursor.insert_rows` (many rows in one statement, whatever the values hold) and
`Cursor.stream` (a large result in bounded pieces), on both stores."""

from __future__ import annotations

from api.services import Services

COLUMNS = (("id", "bigint"), ("label", "text"), ("note", "text"))


def test_awkward_values_arrive_as_they_were_sent(services: Services) -> None:
    rows = [
        (1, "plain", None),
        (2, "a\x1fseparator", "tab\tand\nnewline"),
        (3, "\x1e", "a record separator alone is not a null"),
        (4, "", "empty text is not a null"),
        (5, "ünïcødé ✓", "back\\slash and 'quotes' and \"doubles\""),
        (-9_223_372_036_854_775_808, "smallest bigint", "NULL"),
    ]
    with services.db.transaction() as cursor:
        cursor.execute("CREATE TABLE insert_rows_probe (id BIGINT PRIMARY KEY, label TEXT, "
                       "note TEXT)")
        cursor.insert_rows("insert_rows_probe", COLUMNS, rows)
        cursor.insert_rows("insert_rows_probe", COLUMNS, [(1, "again", "ignored")],
                           "ON CONFLICT (id) DO NOTHING")
        cursor.insert_rows("insert_rows_probe", COLUMNS, [])
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT id, label, note FROM insert_rows_probe ORDER BY id")
        back = [(int(r["id"]), r["label"], r["note"]) for r in cursor.fetchall()]
    assert back == sorted(rows)


def test_many_rows_in_one_statement(services: Services) -> None:
    rows = [(n, f"{n:x}" * 8, None if n % 7 == 0 else str(n)) for n in range(5000)]
    with services.db.transaction() as cursor:
        cursor.execute("CREATE TABLE insert_rows_many (id BIGINT PRIMARY KEY, label TEXT, "
                       "note TEXT)")
        cursor.insert_rows("insert_rows_many", COLUMNS, rows)
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("SELECT id, label, note FROM insert_rows_many ORDER BY id")
        assert [(int(r["id"]), r["label"], r["note"]) for r in cursor.fetchall()] == rows


def test_a_large_result_streams_in_bounded_pieces(services: Services) -> None:
    rows = [(n, f"label {n}", None) for n in range(12_345)]
    with services.db.transaction() as cursor:
        cursor.execute("CREATE TABLE stream_probe (id BIGINT PRIMARY KEY, label TEXT, note TEXT)")
        cursor.insert_rows("stream_probe", COLUMNS, rows)
    with services.db.transaction(commit=False) as cursor:
        pieces = list(cursor.stream("SELECT id, label, note FROM stream_probe ORDER BY id",
                                    size=5000))
        assert [len(piece) for piece in pieces] == [5000, 5000, 2345]
        assert [(int(r["id"]), r["label"], r["note"]) for piece in pieces
                for r in piece] == rows
        assert sorted(pieces[0][0].keys()) == ["id", "label", "note"]
        # the transaction goes on after a stream, and a stream can follow a stream
        assert sum(len(p) for p in cursor.stream("SELECT id FROM stream_probe WHERE id < ?",
                                                   (10,))) == 10
