"""Money in a body: the field reads plain amounts directly, and answers exactly as its schema.

Every value below goes through a body with a `MoneyField` and through the same body with a
plain nested field (what it was before the field read anything itself): the same Money, or the
same errors.
"""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

from api.schemas.common import (
    InputSchema,
    MoneyField,
    MoneySchema,
    SignedMoneySchema,
    text_already_checked,
)
from domain.money import Money


class Body(InputSchema):
    amount = MoneyField(required=True)


class SignedBody(InputSchema):
    amount = MoneyField(SignedMoneySchema, required=True)


class NestedBody(InputSchema):
    amount = fields.Nested(MoneySchema, required=True)


class NestedSignedBody(InputSchema):
    amount = fields.Nested(SignedMoneySchema, required=True)


VALUES: list[Any] = [
    {"amount": "12.50", "currency": "USD"},
    {"currency": "USD", "amount": "12.5"},
    {"amount": "0", "currency": "JPY"},
    {"amount": "-0.00", "currency": "USD"},
    {"amount": "-12.50", "currency": "USD"},
    {"amount": "1.234", "currency": "KWD"},
    {"amount": "1.234", "currency": "USD"},
    {"amount": "12.50", "currency": "usd"},
    {"amount": "12.50", "currency": "XXX"},
    {"amount": "", "currency": "USD"},
    {"amount": "1e3", "currency": "USD"},
    {"amount": "NaN", "currency": "USD"},
    {"amount": " 12.50", "currency": "USD"},
    {"amount": "9" * 40, "currency": "USD"},
    {"amount": 12.5, "currency": "USD"},
    {"amount": 12, "currency": "USD"},
    {"amount": None, "currency": "USD"},
    {"amount": "12.50", "currency": None},
    {"amount": "12.50"},
    {"currency": "USD"},
    {"amount": "12.50", "currency": "USD", "note": "x"},
    {"amount": "12.50", "cur": "USD"},
    {"amount": "12\x00", "currency": "USD"},
    {"amount": "12.50", "currency": "US\ud800"},
    {},
    [],
    ["12.50", "USD"],
    "12.50 USD",
    12.5,
]


def outcome(schema: Schema, value: Any) -> tuple[str, Any]:
    try:
        return "ok", schema.load(value)
    except ValidationError as error:
        return "refused", error.messages


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize(("body", "nested"), [(Body(), NestedBody()),
                                              (SignedBody(), NestedSignedBody())],
                         ids=["unsigned", "signed"])
def test_the_field_answers_as_its_schema(body: Schema, nested: Schema, value: Any) -> None:
    read = outcome(body, {"amount": value})
    assert read == outcome(nested, {"amount": value})
    if read[0] == "ok":
        assert isinstance(read[1]["amount"], Money)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_same_inside_a_document_checked_whole(value: Any) -> None:
    """A Kafka message's text is checked once, before its schemas run: only the text check
    is skipped, nothing else."""
    with text_already_checked():
        read = outcome(Body(), {"amount": value})
        expected = outcome(NestedBody(), {"amount": value})
    assert read == expected


def test_plain_amounts_are_read_without_loading_the_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the nested schema was loaded")

    monkeypatch.setattr(MoneySchema, "load", refuse)
    loaded = Body().load({"amount": {"amount": "12.5", "currency": "USD"}})
    assert loaded == {"amount": Money.parse("12.50", "USD")}
    with pytest.raises(AssertionError, match="nested schema"):
        Body().load({"amount": {"amount": "12.5", "currency": "USD", "x": 1}})
