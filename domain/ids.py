"""Ids derived from names: one aggregate per partner's account, customer, payment, email.

`derived_id` is uuid5 over the URL namespace, remembered for the names seen most recently:
a batch asks for the same account or customer id many times (once to load it, again to
handle each command), and computing one costs a SHA-1 and a UUID each time.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

# Bounded, so a long-running writer's memory stays flat (about 2 MB when full).
REMEMBERED = 8192


@lru_cache(maxsize=REMEMBERED)
def derived_id(name: str) -> UUID:
    """uuid5(NAMESPACE_URL, name)."""
    return uuid5(NAMESPACE_URL, name)
