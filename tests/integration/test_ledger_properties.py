"""Random histories of accruals, reversals, runs, confirmations and failures, on both stores.

At every step: earned - reversed = pending + available + in_payout + paid, in the read model
and in the domain. For every past date, the read model's balance as of that date equals the
balance rule replayed over the events up to that date; and a later `known_at` never changes
what the books showed at an earlier one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services import Services
from domain import commands as c
from domain.accounts import PartnerAccount, ledger_entries
from domain.errors import PartnerLedgerError
from domain.ledger import balances_at
from domain.money import Money
from projections.ledger import balances
from tests.factories import terms

T0 = datetime(2025, 1, 1, tzinfo=UTC)

step = st.one_of(
    st.tuples(st.just("pay"), st.integers(min_value=1, max_value=500_00)),
    st.tuples(st.just("refund"), st.integers(min_value=1, max_value=100)),  # % of a payment
    st.tuples(st.just("run"), st.just(0)),
    st.tuples(st.just("confirm"), st.just(0)),
    st.tuples(st.just("fail"), st.just(0)),
)


def cents(n: int) -> Money:
    return Money(Decimal(n).scaleb(-2), "USD")


def setup_partner(services: Services) -> tuple[uuid.UUID, str]:
    app = services.app
    plan, pid = uuid.uuid4(), uuid.uuid4()
    app.execute(c.CreatePlan(T0, plan, terms(hold_days=10, min_payout=cents(1), tiers=())))
    app.execute(c.ApplyPartner(T0, pid, "P", f"{pid.hex}@p.example", "P", "referral", "GB"))
    app.execute(c.ApprovePartner(T0, pid, plan))
    customer, referral = f"cust-{pid.hex}", uuid.uuid4()
    app.execute(c.RecordReferral(T0, referral, pid, f"{pid.hex}@lead.example", "L"))
    app.execute(c.ConvertReferral(T0, referral, customer))
    return pid, customer


def account_events(services: Services, pid: uuid.UUID) -> list[Any]:
    account_id = PartnerAccount.id_for(pid)
    return list(services.app.events.get(account_id))


def read_model(services: Services, pid: uuid.UUID, as_of: datetime,
               known_at: datetime) -> tuple[int, ...]:
    services.projections.catch_up()
    with services.db.transaction(commit=False) as cursor:
        [b] = balances(cursor, str(pid), as_of, known_at)
    return (b.earned, b.reversed, b.pending, b.available, b.in_payout, b.paid)


def rule(events: list[Any], as_of: datetime, known_at: datetime) -> tuple[int, ...]:
    known = [e for e in events if e.timestamp <= known_at]
    b = balances_at(ledger_entries(known), as_of)
    return tuple(int(x * 100) for x in (b.earned, b.reversed, b.pending, b.available,
                                        b.in_payout, b.paid))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_random_histories_keep_the_invariant_and_as_of_equals_replay(
    services: Services, steps: list[tuple[str, int]]
) -> None:
    app = services.app
    pid, customer = setup_partner(services)
    payments: list[tuple[str, int]] = []
    refunded: dict[str, int] = {}
    open_payouts: list[uuid.UUID] = []
    when = T0
    checkpoints: list[tuple[datetime, datetime]] = []
    for kind, value in steps:
        when += timedelta(days=4)
        try:
            if kind == "pay":
                payment_id = f"in_{uuid.uuid4().hex}"
                app.execute(c.RecordPayment(when, payment_id, customer, cents(value)))
                payments.append((payment_id, value))
            elif kind == "refund" and payments:
                payment_id, paid = payments[value % len(payments)]
                amount = max(1, (paid - refunded.get(payment_id, 0)) * value // 100)
                if refunded.get(payment_id, 0) + amount <= paid:
                    app.execute(c.IssueRefund(when, f"re_{uuid.uuid4().hex}", payment_id,
                                              cents(amount)))
                    refunded[payment_id] = refunded.get(payment_id, 0) + amount
            elif kind == "run":
                run = app.execute(c.RunPayouts(when, uuid.uuid4(), when, (pid,))).aggregate
                open_payouts += run.payout_ids  # type: ignore[union-attr]
            elif kind in ("confirm", "fail") and open_payouts:
                payout = open_payouts.pop(0)
                command = (c.ConfirmPayout(when, payout, "wire") if kind == "confirm"
                           else c.FailPayout(when, payout, "bounced"))
                app.execute(command)
        except PartnerLedgerError:
            pass
        recorded = datetime.now(UTC)
        checkpoints.append((when, recorded))
        figures = read_model(services, pid, when, recorded)
        earned, reversed_, pending, available, in_payout, paid = figures
        assert earned - reversed_ == pending + available + in_payout + paid
    events = account_events(services, pid)
    now = datetime.now(UTC)
    for as_of, recorded in checkpoints:
        # what the books show now about that date, and what they showed back then
        assert read_model(services, pid, as_of, now) == rule(events, as_of, now)
        assert read_model(services, pid, as_of, recorded) == rule(events, as_of, recorded)
        for day in range(0, 4):
            between = as_of - timedelta(days=day, hours=7)
            assert read_model(services, pid, between, now) == rule(events, between, now)
    # the live state a payout run uses agrees with the rule about what is available now
    account = app.get_aggregate(PartnerAccount, PartnerAccount.id_for(pid))
    assert account.payable(when)[0].amount == balances_at(ledger_entries(events), when).available
