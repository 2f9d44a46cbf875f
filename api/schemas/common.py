"""Shared fields and shapes: decimals, rates, money, occurred_at, problems, paging."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
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

MAX_CURSOR = 2**63 - 1


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


class InputSchema(Schema):
    """Base of every input: text must be storable as it is, everywhere."""

    @pre_load
    def refuse_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
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

    amount = fields.String(required=True,
                           metadata={"example": "123.45", "pattern": DECIMAL_PATTERN})
    currency = fields.String(required=True, metadata={"example": "USD", "pattern": "^[A-Z]{3}$"})

    @post_load
    def to_money(self, data: dict[str, Any], **kwargs: Any) -> Money:
        try:
            return Money.parse(data["amount"], data["currency"])
        except InvalidInput as error:
            raise ValidationError(error.errors) from None


def money_json(money: Money) -> dict[str, str]:
    """Money as the wire shape."""
    return money.to_json()


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


class MoneyOut(Schema):
    """Money in an answer: {"amount": "123.45", "currency": "USD"}."""

    amount = fields.String(required=True,
                           metadata={"example": "123.45", "pattern": DECIMAL_PATTERN})
    currency = fields.String(required=True, metadata={"example": "USD", "pattern": "^[A-Z]{3}$"})


class ProblemSchema(Schema):
    """application/problem+json (RFC 9457); some refusals add the members after `errors`."""

    class Meta:
        unknown = INCLUDE  # a refusal may carry members beyond those declared here

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "validation-error: {field: [messages]}."})
    conflicting_deal_id = fields.String(metadata={
        "description": "deal-conflict: the holding deal, for internal and auditor keys and "
        "for the partner holding it; never for another partner."})
    existing_referral_id = fields.String(metadata={
        "description": "duplicate lead: the holding referral, on the same terms."})
    existing_id = fields.String(metadata={"description": "duplicate: the id already taken."})
    existing_partner_id = fields.String(metadata={
        "description": "duplicate application: the partner holding the email."})
    current_status = fields.String(metadata={"description": "invalid-transition."})
    expected_currency = fields.String(metadata={"description": "currency-mismatch."})
    points_balance = fields.Integer(metadata={"description": "insufficient-points."})
    attribution_expires_at = fields.String(metadata={"description": "attribution-expired."})
    refundable = fields.Nested(MoneyOut, metadata={
        "description": "refund-exceeds-payment: what is left to refund."})


class ReadQuerySchema(InputSchema):
    """Reads may wait until the read model has reached a position."""

    min_position = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=MAX_CURSOR),
        metadata={"description": "Wait (bounded) until the read reflects this log position."},
    )


class PageQuerySchema(ReadQuerySchema):
    """Lists page with `limit` and an opaque `cursor`."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


def encode_cursor(seq: int | None) -> str | None:
    """An opaque cursor for the row after which the next page starts."""
    if seq is None:
        return None
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position a cursor stands for; a cursor not made by us is a 422."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "seq" or not value.isascii() or not value.isdigit() or len(value) > 19:
            raise ValueError(text)
        if int(value) > MAX_CURSOR:
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.field("cursor", "Not a cursor returned by this API.") from None
