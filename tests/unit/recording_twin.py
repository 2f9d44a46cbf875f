"""Every event the domain records directly, recorded again the library's way, on a twin.

`checked()` wraps each aggregate's direct methods and creation: the call runs as it does in
production, then the same call runs through the library's own `@event` machinery on a deep
copy of the aggregate as it was before, with the clock stopped at the same instant. Both must
raise the same error or record the same events (topic, originator, version and stored state,
byte for byte) and leave the same state behind (encoded as a snapshot would hold it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.domain import (
    Aggregate,
    CanCreateTimestamp,
    CommandMethodDecorator,
    MetaAggregate,
    datetime_now_with_tzinfo,
    decorated_func_callers,
)
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
)

from adapters.transcodings import registered
from domain import (
    accounts,
    billing,
    deals,
    ingest_offsets,
    partners,
    payouts,
    plans,
    referrals,
    royalties,
)
from domain.recording import RecordsDirectly

MODULES = (accounts, billing, deals, ingest_offsets, partners, payouts, plans, referrals,
           royalties)


def aggregate_classes() -> list[Any]:
    """Every aggregate class the domain defines."""
    return [value for module in MODULES for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Aggregate)
            and value.__module__ == module.__name__]



MAPPER = Mapper(transcoder=registered(JSONTranscoder()))


def stored(events: list[Any]) -> list[tuple[Any, ...]]:
    rows = [MAPPER.to_stored_event(event) for event in events]
    return [(row.originator_id, row.originator_version, row.topic, row.state) for row in rows]


def _plain(value: Any) -> Any:
    """A value as nested builtins, exactly (a decimal keeps its digits, a dict its order)."""
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, dict):
        return [(key, _plain(item)) for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) for item in value), key=repr)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__qualname__, _plain(vars(value)))
    return (type(value).__qualname__, value)


def state(aggregate: Any) -> Any:
    return _plain({k: v for k, v in vars(aggregate).items() if k != "_pending_events"})


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    real = CanCreateTimestamp.__dict__["create_timestamp"]
    CanCreateTimestamp.create_timestamp = classmethod(lambda cls: moment)  # type: ignore[assignment]
    try:
        yield
    finally:
        CanCreateTimestamp.create_timestamp = real  # type: ignore[method-assign]


def _outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return call(), None
    except Exception as error:
        return None, error


def _same_error(direct: BaseException | None, library: BaseException | None) -> None:
    assert (type(direct), str(direct)) == (type(library), str(library))


class Twins:
    """Counts the calls checked, so a test can see the check ran."""

    def __init__(self) -> None:
        self.checked = 0

    def method(self, direct: Callable[..., None], decorator: CommandMethodDecorator,
               ) -> Callable[..., None]:
        def checked(aggregate: Any, *args: Any, **kwargs: Any) -> None:
            twin = copy.deepcopy(aggregate)
            with _clock_at(datetime_now_with_tzinfo()):
                done = _outcome(lambda: direct(aggregate, *args, **kwargs))
                again = _outcome(lambda: decorator.__get__(twin, type(twin))(*args, **kwargs))
            _same_error(done[1], again[1])
            assert stored(aggregate.pending_events) == stored(twin.pending_events)
            assert state(aggregate) == state(twin)
            self.checked += 1
            if done[1] is not None:
                raise done[1]

        return checked

    def creation(self, direct: Callable[..., Any]) -> Callable[..., Any]:
        def checked(cls: Any, *args: Any, **kwargs: Any) -> Any:
            with _clock_at(datetime_now_with_tzinfo()):
                done = _outcome(lambda: direct(cls, *args, **kwargs))
                again = _outcome(lambda: MetaAggregate.__call__(cls, *args, **kwargs))
            _same_error(done[1], again[1])
            if done[1] is not None:
                raise done[1]
            assert stored(done[0].pending_events) == stored(again[0].pending_events)
            assert state(done[0]) == state(again[0])
            self.checked += 1
            return done[0]

        return checked


def checked(monkeypatch: pytest.MonkeyPatch) -> Twins:
    """Wraps every direct recording of the domain with its twin check."""
    twins = Twins()
    decorators = {decorator.decorated_func.__qualname__: decorator
                  for decorator in decorated_func_callers}
    for cls in aggregate_classes():
        for name, value in list(vars(cls).items()):
            decorator = decorators.get(getattr(value, "__qualname__", ""))
            if callable(value) and decorator is not None and name != "__init__":
                monkeypatch.setattr(cls, name, twins.method(value, decorator))
    monkeypatch.setattr(RecordsDirectly, "__call__",
                        twins.creation(RecordsDirectly.__call__))
    return twins
