"""Property: reversals never exceed the commission, and a full refund reverses it exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services import Services
from domain import commands as c
from domain.accounts import PartnerAccount
from domain.billing import Payment
from domain.money import Money
from tests.factories import terms

T0 = datetime(2026, 1, 1, tzinfo=UTC)

cents = st.integers(min_value=1, max_value=10_000_000)
rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.5"), places=4)


@st.composite
def refund_plans(draw: st.DrawFn) -> tuple[int, list[int], bool]:
    """A payment in cents, the refunds against it, and whether they add up to all of it."""
    paid = draw(cents)
    full = draw(st.booleans())
    total = paid if full else draw(st.integers(min_value=0, max_value=paid - 1))
    count = draw(st.integers(min_value=1, max_value=6))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=total),
                                min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, total]
    return paid, [b - a for a, b in pairwise(bounds) if b > a], full


def money(cents_: int) -> Money:
    return Money(Decimal(cents_).scaleb(-2), "USD")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=refund_plans(), rate=rates)
def test_reversals_never_exceed_and_a_full_refund_reverses_exactly(
    services: Services, plan: tuple[int, list[int], bool], rate: Decimal
) -> None:
    paid, refunds, full = plan
    app = services.app
    plan_id, partner_id = uuid.uuid4(), uuid.uuid4()
    app.execute(c.CreatePlan(T0, plan_id, terms(referral_rate=rate, tiers=())))
    app.execute(c.ApplyPartner(T0, partner_id, "P", f"{partner_id.hex}@p.example", "P",
                               "referral", "GB"))
    app.execute(c.ApprovePartner(T0, partner_id, plan_id))
    customer, referral = f"cust-{uuid.uuid4().hex}", uuid.uuid4()
    app.execute(c.RecordReferral(T0, referral, partner_id, f"{customer}@lead.example", "L"))
    app.execute(c.ConvertReferral(T0, referral, customer))
    payment_id = f"in_{uuid.uuid4().hex}"
    app.execute(c.RecordPayment(T0 + timedelta(days=1), payment_id, customer, money(paid)))
    payment = app.get_aggregate(Payment, Payment.id_for(payment_id))
    commission = payment.commission.amount if payment.commission else Decimal(0)
    assert commission == Money.rounded(money(paid).amount * rate, "USD").amount
    app.execute_batch([
        c.IssueRefund(T0 + timedelta(days=2), f"re_{payment_id}_{n}", payment_id, money(part))
        for n, part in enumerate(refunds)
    ])
    account = app.get_aggregate(PartnerAccount, PartnerAccount.id_for(partner_id))
    assert Decimal(0) <= account.reversed.amount <= commission
    if full:
        assert account.reversed.amount == commission
        assert account.earned == account.reversed
