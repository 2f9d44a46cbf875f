"""Clawbacks, many random refund sequences: never above the commission, exact when refunded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.billing import Payment
from domain.money import Money

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, int, Decimal, list[int], bool]:
    currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    paid = draw(st.integers(min_value=1, max_value=10**12))
    rate = draw(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4))
    full = draw(st.booleans())
    total = paid if full else draw(st.integers(min_value=0, max_value=paid - 1))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=total), max_size=12)))
    bounds = [0, *cuts, total]
    return currency, paid, rate, [b - a for a, b in pairwise(bounds) if b > a], full


@settings(max_examples=500, deadline=None)
@given(history=histories())
def test_clawbacks_never_exceed_and_a_full_refund_reverses_exactly(
    history: tuple[str, int, Decimal, list[int], bool],
) -> None:
    currency, paid_minor, rate, refunds, full = history
    places = {"USD": 2, "JPY": 0, "KWD": 3}[currency]

    def money(minor: int) -> Money:
        return Money(Decimal(minor).scaleb(-places), currency)

    paid = money(paid_minor)
    commission = paid.times(rate)
    payment = Payment(
        id=uuid.uuid4(), payment_id="in_1", customer_id="c", amount=paid,
        partner_id=uuid.uuid4(), commission=commission, accrual_id=uuid.uuid4(), rate=rate,
        plan_id=uuid.uuid4(), plan_version=1, no_commission_reason=None, occurred_at=T0,
    )
    for n, part in enumerate(refunds):
        clawback = payment.refund(f"re_{n}", money(part), T0)
        assert clawback is not None
        assert clawback.amount >= 0
        assert payment.reversed <= commission
    if full:
        assert payment.reversed == commission
        assert payment.refunded == paid
