"""Billing refusals on the fake: billing ids reused with other details, refunds beyond payments."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain.billing import RefundExceedsPayment
from domain.errors import CurrencyMismatch, Duplicate, InvalidInput, NotFound
from tests.unit.world import World, day, eur, usd


@pytest.fixture
def paid(world: World) -> World:
    """A referred customer "cust-1" who paid 100.00 as "in_1" on day 5, and a customer
    nobody referred who paid 40.00 as "in_2"."""
    world.customer(world.partner(), "cust-1")
    world.run(c.RecordPayment(day(5), "in_1", "cust-1", usd("100.00")))
    world.run(c.RecordPayment(day(5), "in_2", "walk-in", usd("40.00")))
    return world


@pytest.mark.parametrize("payment", [
    c.RecordPayment(day(5), "in_1", "cust-1", usd("100.01")),
    c.RecordPayment(day(5), "in_1", "cust-2", usd("100.00")),
    c.RecordPayment(day(6), "in_1", "cust-1", usd("100.00")),
    c.RecordPayment(None, "in_2", "walk-in", usd("40.01")),
], ids=["amount", "customer", "date", "unreferred"])
def test_a_payment_id_repeats_only_with_the_same_details(
    paid: World, payment: c.RecordPayment
) -> None:
    refused = paid.refuse(payment, Duplicate)
    assert refused.extra == {"existing_id": payment.payment_id}


def test_a_referred_customers_payment_must_be_in_the_plan_currency(paid: World) -> None:
    refused = paid.refuse(c.RecordPayment(day(6), "in_3", "cust-1", eur("10.00")),
                          CurrencyMismatch)
    assert refused.extra == {"expected_currency": "USD"}


def test_a_refund_of_an_unknown_payment_is_not_found(paid: World) -> None:
    paid.refuse(c.IssueRefund(day(6), "re_1", "in_404", usd("1.00")), NotFound)


def test_a_refund_cannot_come_before_its_payment(paid: World) -> None:
    refused = paid.refuse(c.IssueRefund(day(4.99), "re_1", "in_1", usd("1.00")), InvalidInput)
    assert list(refused.errors) == ["occurred_at"]


@pytest.mark.parametrize(("payment_id", "amount", "left"), [
    ("in_1", "100.00", "70.00"), ("in_2", "40.00", "10.00")])
def test_refunds_cannot_add_up_to_more_than_the_payment(
    paid: World, payment_id: str, amount: str, left: str
) -> None:
    over = c.IssueRefund(day(6), "re_1", payment_id, usd(amount) + usd("0.01"))
    refused = paid.refuse(over, RefundExceedsPayment)
    assert refused.extra == {"refundable": {"amount": amount, "currency": "USD"}}
    paid.run(c.IssueRefund(day(6), "re_1", payment_id, usd("30.00")))
    over = c.IssueRefund(day(7), "re_2", payment_id, usd(left) + usd("0.01"))
    refused = paid.refuse(over, RefundExceedsPayment)
    assert refused.extra == {"refundable": {"amount": left, "currency": "USD"}}


def test_a_refund_must_be_in_the_payments_currency(paid: World) -> None:
    refused = paid.refuse(c.IssueRefund(day(6), "re_1", "in_1", eur("1.00")), CurrencyMismatch)
    assert refused.extra == {"expected_currency": "USD"}


@pytest.mark.parametrize("refund", [
    c.IssueRefund(day(6), "re_1", "in_1", usd("10.01")),
    c.IssueRefund(day(6), "re_1", "in_2", usd("10.00")),
    c.IssueRefund(day(7), "re_1", "in_1", usd("10.00")),
], ids=["amount", "payment", "date"])
def test_a_refund_id_repeats_only_with_the_same_details(
    paid: World, refund: c.IssueRefund
) -> None:
    paid.run(c.IssueRefund(day(6), "re_1", "in_1", usd("10.00")))
    paid.run(c.IssueRefund(None, "re_1", "in_1", usd("10.00")))  # a repeat changes nothing
    refused = paid.refuse(refund, Duplicate)
    assert refused.extra == {"existing_id": "re_1"}
