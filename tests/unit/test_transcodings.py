"""The events' transcoder writes exactly the bytes the library's own JSON transcoder writes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import (
    JSONTranscoder,
    TranscodingNotRegisteredError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.transcodings import EventTranscoder, registered
from domain.money import Money

LIBRARY = registered(JSONTranscoder())
EVENTS = registered(EventTranscoder())

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "é", "\u2028", "\"quoted\"", "back\\slash", "tab\tnew\nline", "\x00\x1f", "💶"])
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text
    | st.uuids() | st.decimals(allow_nan=False, places=4)
    | st.datetimes(timezones=st.just(UTC)) | st.dates()
    | st.builds(Money, st.decimals(min_value=-10**6, max_value=10**6, places=2),
                st.just("USD"))
    | st.sets(st.uuids(), max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(text, values, max_size=8))
def test_any_state_encodes_to_the_librarys_bytes(state: dict[str, Any]) -> None:
    assert EVENTS.encode(state) == LIBRARY.encode(state)
    assert EVENTS.decode(EVENTS.encode(state)) == LIBRARY.decode(LIBRARY.encode(state))


def test_an_accrual_encodes_to_the_librarys_bytes() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    state = {"accrual_id": uuid.uuid4(), "basis": Money(Decimal("100.00"), "USD"),
             "rate": Decimal("0.1500"), "occurred_at": moment, "plan_version": 3,
             "starts": date(2026, 1, 1), "tier": "gold", "reason": None, "nan": float("nan")}
    assert EVENTS.encode(state) == LIBRARY.encode(state)


def test_what_is_not_a_state_goes_the_librarys_way() -> None:
    for value in ("text", 12, [1, "two"], None):
        assert EVENTS.encode(value) == LIBRARY.encode(value)


def test_an_unregistered_type_is_refused_as_the_library_refuses_it() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        EVENTS.encode({"when": complex(1, 2)})
    assert EVENTS.encode({"ok": 1}) == b'{"ok":1}'  # and the next state is unaffected
