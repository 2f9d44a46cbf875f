"""Money: strict parsing, minor units per currency, one half-even rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import CurrencyMismatch, InvalidInput
from domain.money import Money, minor_units, parse_decimal, parse_rate


@pytest.mark.parametrize(("currency", "units"), [("USD", 2), ("EUR", 2), ("JPY", 0),
                                                   ("KWD", 3), ("BHD", 3), ("CLF", 4)])
def test_minor_units_follow_iso_4217(currency: str, units: int) -> None:
    assert minor_units(currency) == units


@pytest.mark.parametrize("code", ["usd", "XXX", "US", "ABC", ""])
def test_unknown_currencies_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Money.parse("1.00", code)
    assert "currency" in error.value.errors


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("12.5", "USD", "12.50"), ("0", "USD", "0.00"), ("1000", "JPY", "1000"),
    ("1.234", "KWD", "1.234"), ("007.10", "EUR", "7.10"),
])
def test_parse_keeps_the_exact_value_at_the_currency_scale(
    amount: str, currency: str, expected: str
) -> None:
    assert str(Money.parse(amount, currency).amount) == expected


@pytest.mark.parametrize(("amount", "currency"), [("12.345", "USD"), ("1.5", "JPY"),
                                                   ("0.0001", "KWD")])
def test_more_decimals_than_the_minor_unit_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Money.parse(amount, currency)
    assert "decimal place" in error.value.errors["amount"][0]


@pytest.mark.parametrize("text", [12.5, 12, "1e3", "NaN", "Infinity", " 1.00", "1.", ".5",
                                   "1,00", "+1", "--1", "", "١٢"])
def test_anything_but_a_plain_decimal_string_is_refused(text: object) -> None:
    with pytest.raises(InvalidInput):
        parse_decimal(text, "amount")


def test_negative_amounts_are_refused_unless_meaningful() -> None:
    with pytest.raises(InvalidInput):
        Money.parse("-1.00", "USD")
    assert Money.parse("-1.00", "USD", allow_negative=True).amount == Decimal("-1.00")


@pytest.mark.parametrize(("amount", "rate", "expected"), [
    ("100.30", "0.15", "15.04"),   # 15.045 -> half-even down to the even cent
    ("100.70", "0.15", "15.10"),   # 15.105 -> 15.10
    ("100.10", "0.15", "15.02"),   # 15.015 -> 15.02
    ("0.05", "0.5", "0.02"),       # 0.025 -> 0.02
    ("0.15", "0.5", "0.08"),       # 0.075 -> 0.08
])
def test_times_rounds_once_half_even(amount: str, rate: str, expected: str) -> None:
    assert str(Money.parse(amount, "USD").times(Decimal(rate)).amount) == expected


def test_jpy_rounds_to_whole_yen_half_even() -> None:
    assert Money.parse("25", "JPY").times(Decimal("0.1")).amount == Decimal("2")   # 2.5 -> 2
    assert Money.parse("35", "JPY").times(Decimal("0.1")).amount == Decimal("4")   # 3.5 -> 4


def test_arithmetic_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.parse("1", "USD") + Money.parse("1", "EUR")
    assert (Money.parse("1.10", "USD") - Money.parse("0.20", "USD")).amount == Decimal("0.90")


def test_money_never_holds_a_float() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "ok"), [("0", True), ("1", True), ("0.155", True),
                                           ("1.01", False), ("-0.1", False)])
def test_rates_lie_between_zero_and_one(text: str, ok: bool) -> None:
    if ok:
        assert parse_rate(text, "deal_rate") == Decimal(text)
    else:
        with pytest.raises(InvalidInput):
            parse_rate(text, "deal_rate")


def test_wire_shape_is_a_string_amount_with_currency() -> None:
    assert Money.parse("3", "USD").to_json() == {"amount": "3.00", "currency": "USD"}


@pytest.mark.parametrize(("currency", "text"), [("USD", "0.00"), ("JPY", "0"), ("KWD", "0.000")])
def test_zero_is_exact_at_the_currency_scale_and_shared(currency: str, text: str) -> None:
    zero = Money.zero(currency)
    assert zero == Money(Decimal(text), currency) and str(zero.amount) == text
    assert Money.zero(currency) is zero  # immutable, so one value serves every account


def test_zero_of_an_unknown_currency_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(InvalidInput):
            Money.zero("XXX")
