"""Payout netting, written once: what a payout run takes from an account's live state is what
the balance rule shows as available, whatever the order and dating of the entries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.accounts import PartnerAccount, ledger_entries
from domain.ledger import balances_at
from domain.money import Money

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = uuid.UUID(int=1)

steps = st.lists(st.one_of(
    # an accrual of `cents`, held `pick` days, dated `shift` days from the clock
    st.tuples(st.just("accrue"), st.integers(1, 10_000), st.integers(0, 20),
              st.integers(-9, 9)),
    # a reversal of the `pick`-th accrual, dated `shift` days from the clock (business time
    # may put a reversal before its accrual)
    st.tuples(st.just("reverse"), st.integers(1, 5_000), st.integers(0, 99),
              st.integers(-9, 9)),
    st.tuples(st.just("run"), st.just(0), st.just(0), st.just(0)),
    st.tuples(st.just("confirm"), st.just(0), st.integers(0, 99), st.just(0)),
    st.tuples(st.just("fail"), st.just(0), st.integers(0, 99), st.just(0)),
), max_size=30)


def usd(cents: int) -> Money:
    return Money(Decimal(cents).scaleb(-2), "USD")


@settings(max_examples=300, deadline=None)
@given(history=steps, later=st.integers(0, 40))
def test_a_run_takes_exactly_what_the_balance_rule_shows_available(
    history: list[tuple[str, int, int, int]], later: int
) -> None:
    account = PartnerAccount(id=PartnerAccount.id_for(uuid.uuid4()), partner_id=uuid.uuid4(),
                             currency="USD")
    events: list[Any] = []
    clock = T0
    accruals: list[uuid.UUID] = []
    open_payouts: list[uuid.UUID] = []
    paid_out_at = T0  # the last payout event
    for number, (kind, cents, pick, shift) in enumerate(history):
        clock += timedelta(days=1)
        when = clock + timedelta(days=shift)
        if kind == "accrue":
            accruals.append(account.accrue(
                source_type="payment", source_id=str(number), basis=usd(cents * 5),
                amount=usd(cents), base_rate=Decimal("0.2"), tier="", tier_bonus=Decimal(0),
                plan_id=PLAN, plan_version=1, available_at=when + timedelta(days=pick),
                occurred_at=when))
        elif kind == "reverse" and accruals:
            account.reverse(accrual_id=accruals[pick % len(accruals)], source_type="refund",
                            source_id=str(number), amount=usd(cents), rate=Decimal("0.2"),
                            plan_id=PLAN, plan_version=1, occurred_at=when)
        elif kind == "run" and account.payable(clock)[0].amount > 0:  # as a run skips
            payout = uuid.uuid4()
            account.start_payout(payout, uuid.uuid4(), clock, clock)
            open_payouts.append(payout)
            paid_out_at = clock
        elif kind in ("confirm", "fail") and open_payouts:
            payout = open_payouts.pop(pick % len(open_payouts))
            if kind == "confirm":
                account.confirm_payout(payout, "wire", clock)
            else:
                account.fail_payout(payout, "bounced", clock)
            paid_out_at = clock
        events += account.collect_events()
        # from the last payout event on, the live state knows everything a run needs
        as_of = paid_out_at + timedelta(days=later)
        payable, _, _ = account.payable(as_of)
        balances = balances_at(ledger_entries(events), as_of)
        assert payable.amount == balances.available
        assert balances.earned - balances.reversed == (
            balances.pending + balances.available + balances.in_payout + balances.paid)
