"""Fields every body shares: storable text, decimals, rates, currencies, money, business times."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
)

from adapters.clock import utc_now
from domain.business_time import (
    CLOCK_SKEW,
    PLAN_LEAD,
    date_error,
    describe_span,
    moment_error,
    period_error,
)
from domain.errors import InvalidInput
from domain.money import Money, check_currency, parse_decimal, parse_rate


def _bad_text(value: str) -> bool:
    """NUL cannot be stored in PostgreSQL text; lone surrogates cannot be encoded at all."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_bad_text(data: Any, path: str) -> dict[str, list[str]]:
    if isinstance(data, str):
        return {path or "_schema": ["Contains a character that is not allowed."]} \
            if _bad_text(data) else {}
    found: dict[str, list[str]] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            name = str(key)
            found.update(_find_bad_text(name, f"{path}.{name}" if path else name))
            found.update(_find_bad_text(value, f"{path}.{name}" if path else name))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.update(_find_bad_text(value, f"{path}.{index}" if path else str(index)))
    return found


def find_bad_text(document: Any) -> dict[str, list[str]]:
    """Every string (keys too) that cannot be stored, by path; empty when none."""
    return _find_bad_text(document, "")


# Set while a caller loads a document it has checked whole (see `text_already_checked`).
_TEXT_CHECKED: ContextVar[bool] = ContextVar("text_checked", default=False)


@contextmanager
def text_already_checked() -> Iterator[None]:
    """Schemas loaded inside skip the text check: the caller checked the whole document
    once (a message's envelope, its data and their nested parts would each walk it again)."""
    token = _TEXT_CHECKED.set(True)
    try:
        yield
    finally:
        _TEXT_CHECKED.reset(token)


class InputSchema(Schema):
    """Base of every input: text must be storable as it is, everywhere."""

    @pre_load
    def refuse_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
        if _TEXT_CHECKED.get():
            return data
        errors = _find_bad_text(data, "")
        if errors:
            raise ValidationError(errors)
        return data


def _messages(error: InvalidInput) -> list[str]:
    return [message for messages in error.errors.values() for message in messages]


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class DecimalString(fields.String):
    """A decimal number written as a JSON string, parsed exactly."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": DECIMAL_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Decimal:
        try:
            return parse_decimal(value, attr or "value")
        except InvalidInput as error:
            raise ValidationError(_messages(error)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format(value, "f")


class Rate(DecimalString):
    """A rate from "0" to "1" written as a decimal string, e.g. "0.15"."""

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Decimal:
        try:
            return parse_rate(value, attr or "rate")
        except InvalidInput as error:
            raise ValidationError(_messages(error)) from None


class CurrencyCode(fields.String):
    """An ISO 4217 code such as USD."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": "^[A-Z]{3}$", "example": "USD", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_currency(code)
        except InvalidInput as error:
            raise ValidationError(_messages(error)) from None


class MoneySchema(InputSchema):
    """Money on the wire: {"amount": "123.45", "currency": "USD"}."""

    allow_negative = False

    amount = fields.String(required=True,
                           metadata={"example": "123.45", "pattern": DECIMAL_PATTERN})
    currency = fields.String(required=True, metadata={"example": "USD", "pattern": "^[A-Z]{3}$"})

    @post_load
    def to_money(self, data: dict[str, Any], **kwargs: Any) -> Money:
        try:
            return Money.parse(data["amount"], data["currency"],
                               allow_negative=self.allow_negative)
        except InvalidInput as error:
            raise ValidationError(error.errors) from None


class SignedMoneySchema(MoneySchema):
    """Money that may be negative (a debit)."""

    allow_negative = True


class MoneyField(fields.Nested):
    """Money in a body, shaped, documented and refused by its schema (MoneySchema or
    SignedMoneySchema). The schema's load is generic machinery: a nested load per amount,
    with its own hooks and error store, cost 14 us of a Kafka message's 61 us of decoding.
    A value that is exactly {"amount": <text>, "currency": <text>}, with text that can be
    stored, is all that schema accepts, and becomes what its `to_money` makes of it, so it
    is parsed here directly; anything else (a missing, extra or mistyped key, an amount
    that does not parse) goes through the schema, for the same answer and the same errors.
    """

    def __init__(self, schema: type[MoneySchema] = MoneySchema, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.allow_negative = schema.allow_negative

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, partial: Any = None, **kwargs: Any
    ) -> Any:
        if type(value) is dict and len(value) == 2:
            amount, currency = value.get("amount"), value.get("currency")
            if (type(amount) is str and type(currency) is str
                    and (_TEXT_CHECKED.get() or not (_bad_text(amount) or _bad_text(currency)))):
                try:
                    return Money.parse(amount, currency, allow_negative=self.allow_negative)
                except InvalidInput:
                    pass  # the schema says why, as it always has
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


def business_time(ahead: timedelta = CLOCK_SKEW) -> Callable[[datetime], None]:
    """A validator: the time lies between 1970-01-01 and now plus `ahead` (SPEC section 2)."""

    def check(value: datetime) -> None:
        error = moment_error(value, utc_now(), ahead)
        if error is not None:
            raise ValidationError(error)

    return check


def business_date(value: date) -> None:
    """A validator for calendar dates: from 1970-01-01 to 366 days from today."""
    error = date_error(value, utc_now(), PLAN_LEAD)
    if error is not None:
        raise ValidationError(error)


def business_period(value: str) -> None:
    """A validator for "YYYY-MM" periods: not after the current month."""
    error = period_error(value, utc_now())
    if error is not None:
        raise ValidationError(error)


def moment_field(description: str, ahead: timedelta = CLOCK_SKEW) -> fields.AwareDateTime:
    """An optional, bounded business time."""
    return fields.AwareDateTime(
        load_default=None, validate=business_time(ahead),
        metadata={"description": f"{description} ISO 8601 with a zone, from 1970-01-01 to "
                  f"now + {describe_span(ahead)}."})


class CommandSchema(InputSchema):
    """Every command takes an optional business time."""

    occurred_at = moment_field("Business time; defaults to now.")
