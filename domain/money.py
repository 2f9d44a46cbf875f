"""Money and rates: exact decimals with a currency, rounded once, half-even."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from domain.currencies import MINOR_UNITS
from domain.errors import CurrencyMismatch, InvalidInput


def minor_units(currency: str) -> int:
    """Digits after the decimal point for an ISO 4217 currency."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise InvalidInput.field("currency", f"Unknown ISO 4217 currency {currency!r}.") from None


def check_currency(currency: str) -> str:
    """Returns the code when it is a currency partners can be paid in."""
    minor_units(currency)
    return currency


# Fifteen integer digits (a quadrillion) is beyond any commission, and keeps every sum and
# product exact within Decimal's default 28-digit precision.
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 12


def decimal_text(value: Decimal) -> str:
    """A decimal as plain digits, never in exponent form ("0.0000001", not "1E-7")."""
    return format(value, "f")


def parse_decimal(text: object, field: str) -> Decimal:
    """Strictly parses a decimal string: digits, one optional point, optional leading minus.

    Floats, exponents, NaN, infinities and surrounding spaces are refused: a money path
    never guesses what a sender meant.
    """
    if not isinstance(text, str):
        raise InvalidInput.field(field, "Must be a decimal string such as \"12.50\".")
    body = text[1:] if text.startswith("-") else text
    whole, _, fraction = body.partition(".")
    if not whole.isdigit() or not (fraction == "" or fraction.isdigit()) or body.endswith("."):
        raise InvalidInput.field(field, f"Not a decimal number: {text!r}.")
    if not whole.isascii() or not fraction.isascii():
        raise InvalidInput.field(field, f"Not a decimal number: {text!r}.")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(fraction) > MAX_FRACTION_DIGITS:
        raise InvalidInput.field(
            field,
            f"At most {MAX_INTEGER_DIGITS} digits before the point and "
            f"{MAX_FRACTION_DIGITS} after it.",
        )
    try:
        value = Decimal(text)
        return value.copy_abs() if value.is_zero() else value  # no negative zero
    except InvalidOperation:  # pragma: no cover - excluded by the checks above
        raise InvalidInput.field(field, f"Not a decimal number: {text!r}.") from None


def decimal_places(value: Decimal) -> int:
    """How many digits a decimal carries after its point."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    return max(0, -exponent)


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount in one currency, never more precise than the currency's minor unit."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise TypeError(f"Money amount must be a finite Decimal, got {self.amount!r}")
        places = minor_units(self.currency)
        if decimal_places(self.amount) > places:
            raise InvalidInput.field(
                "amount",
                f"{self.currency} allows {places} decimal place(s); got {self.amount}.",
            )

    @classmethod
    def parse(
        cls,
        amount: object,
        currency: object,
        *,
        field: str = "amount",
        allow_negative: bool = False,
    ) -> Money:
        """Builds money from the JSON shape's strings, refusing anything inexact."""
        if not isinstance(currency, str):
            raise InvalidInput.field("currency", "Must be an ISO 4217 code such as \"USD\".")
        check_currency(currency)
        value = parse_decimal(amount, field)
        places = minor_units(currency)
        if decimal_places(value) > places:
            raise InvalidInput.field(
                field, f"{currency} allows {places} decimal place(s); got {amount}."
            )
        if value < 0 and not allow_negative:
            raise InvalidInput.field(field, "Must not be negative.")
        return cls(value.quantize(Decimal(1).scaleb(-places)), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in a currency: one value per currency, shared, since money is immutable
        (every new payment and account starts from two of them)."""
        zero = _ZEROS.get(currency)
        if zero is None:  # an unknown currency raises here, so only ISO 4217 codes are kept
            quantum = Decimal(1).scaleb(-minor_units(currency))
            zero = _ZEROS[currency] = cls(Decimal(0).quantize(quantum), currency)
        return zero

    @classmethod
    def rounded(cls, exact: Decimal, currency: str) -> Money:
        """The single rounding step: half-even to the currency's minor unit."""
        quantum = Decimal(1).scaleb(-minor_units(currency))
        return cls(exact.quantize(quantum, rounding=ROUND_HALF_EVEN), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def times(self, rate: Decimal) -> Money:
        """This amount times a rate, rounded once."""
        return Money.rounded(self.amount * rate, self.currency)

    def to_json(self) -> dict[str, str]:
        """The wire shape: amount as a string with the currency's minor unit."""
        return {"amount": decimal_text(self.amount), "currency": self.currency}


_ZEROS: dict[str, Money] = {}


def parse_rate(text: object, field: str) -> Decimal:
    """A commission or bonus rate: a decimal string from 0 to 1 inclusive."""
    value = parse_decimal(text, field)
    if value < 0 or value > 1:
        raise InvalidInput.field(field, "Must be between 0 and 1 (e.g. \"0.15\" for 15%).")
    return value
