"""Fixtures of the unit tests.

Every unit test runs with the domain's direct recording checked against the library's own
(tests/unit/recording_twin.py): each event recorded here is also recorded the library's way,
and both must agree byte for byte.
"""

from __future__ import annotations

import pytest

from tests.unit.recording_twin import Twins, checked
from tests.unit.world import World


@pytest.fixture(autouse=True)
def twins(monkeypatch: pytest.MonkeyPatch) -> Twins:
    """The twin check, on for every unit test."""
    return checked(monkeypatch)


@pytest.fixture
def world() -> World:
    """A fresh fake ledger holding one plan."""
    return World()
