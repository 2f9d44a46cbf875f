"""Money in read models: integer minor units beside the currency, summed exactly in SQL."""

from __future__ import annotations

from decimal import Decimal

from domain.money import Money, minor_units


def to_minor(money: Money) -> int:
    """12.34 USD -> 1234."""
    return int(money.amount.scaleb(minor_units(money.currency)))


def from_minor(minor: int, currency: str) -> Money:
    """1234, USD -> 12.34 USD."""
    places = minor_units(currency)
    return Money(Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)), currency)
