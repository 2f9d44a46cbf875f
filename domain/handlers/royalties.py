"""Handlers of the royalty commands: sign an agreement, report sales, close a quarter."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain import commands as c
from domain.accounts import PartnerAccount, entry_id
from domain.errors import CurrencyMismatch
from domain.handlers.ports import (
    Aggregates,
    account_of,
    check_new_id,
    partner_and_account,
    plan_of,
)
from domain.money import Money
from domain.partners import Partner
from domain.plans import Plan, PlanVersion
from domain.royalties import Bracket, RoyaltyAgreement, check_schedule


def sign_agreement_loads(command: c.SignRoyaltyAgreement) -> list[UUID]:
    """The new agreement's id, the partner and its account."""
    return [command.id, *partner_and_account(command.partner_id)]


def sign_agreement(command: c.SignRoyaltyAgreement, aggregates: Aggregates,
         occurred_at: datetime) -> RoyaltyAgreement:
    """Signs a royalty agreement in the partner's plan currency."""
    check_new_id(aggregates, command.id)
    partner = aggregates.get(Partner, command.partner_id)
    partner.check_active("sign royalty agreements")
    plan, _ = plan_of(partner, aggregates, occurred_at)
    if command.currency != plan.currency:
        raise CurrencyMismatch(
            f"The agreement is in {command.currency}; this partner is paid in {plan.currency}.",
            expected_currency=plan.currency)
    schedule = [Bracket(up_to, rate) for up_to, rate in command.schedule]
    check_schedule(schedule)
    minimum = command.minimum_per_quarter
    if minimum is not None and minimum.currency != command.currency:
        raise CurrencyMismatch("minimum_per_quarter must be in the agreement currency.",
                               expected_currency=command.currency)
    agreement = RoyaltyAgreement(
        id=command.id, partner_id=partner.id, currency=command.currency,
        schedule=[[str(b.up_to) if b.up_to is not None else None, str(b.rate)]
                  for b in schedule],
        minimum_per_quarter=minimum, starts_on=command.starts_on, occurred_at=occurred_at,
    )
    aggregates.add(agreement)
    return agreement


def _post(account: PartnerAccount, plan: Plan, version: PlanVersion, source_type: str,
          source_id: str, basis: Money, amount: Money, rate: Decimal,
          reductions: list[tuple[UUID, Decimal]], occurred_at: datetime) -> None:
    """A positive difference accrues; a negative one reverses the planned accruals."""
    if amount.amount > 0:
        account.accrue(source_type=source_type, source_id=source_id, basis=basis,
                       amount=amount, base_rate=rate, tier="", tier_bonus=Decimal(0),
                       plan_id=plan.id, plan_version=version.number,
                       available_at=version.terms.hold_ends(occurred_at),
                       occurred_at=occurred_at)
    for number, (accrual_id, piece) in enumerate(reductions, start=1):
        account.reverse(accrual_id=accrual_id, source_type=source_type,
                        source_id=f"{source_id}:{number}", amount=Money(piece, amount.currency),
                        rate=rate, plan_id=plan.id, plan_version=version.number,
                        occurred_at=occurred_at)


def _split(agreement: RoyaltyAgreement, key: str, source_type: str, source_id: str,
           amount: Money) -> tuple[UUID | None, list[tuple[UUID, Decimal]]]:
    """The new accrual's id, or the reversals a reduction becomes."""
    if amount.amount > 0:
        return entry_id("accrual", source_type, source_id), []
    if amount.amount < 0:
        return None, agreement.reduction_plan(key, -amount.amount)
    return None, []


def _marginal_rate(agreement: RoyaltyAgreement, net: Decimal) -> Decimal:
    for bracket in agreement.schedule:
        if bracket.up_to is None or net <= bracket.up_to:
            return bracket.rate
    return agreement.schedule[-1].rate


def agreement_loads(command: c.ReportRoyalty | c.CloseRoyaltyQuarter) -> list[UUID]:
    """The agreement (its partner is found through it)."""
    return [command.agreement_id]


def report_royalty(command: c.ReportRoyalty, aggregates: Aggregates,
           occurred_at: datetime) -> RoyaltyAgreement:
    """Records (or restates) a period's sales and accrues or reverses the difference."""
    agreement = aggregates.get(RoyaltyAgreement, command.agreement_id)
    partner = aggregates.get(Partner, agreement.partner_id)
    partner.check_active("accrue royalties")
    plan, version = plan_of(partner, aggregates, occurred_at)
    difference = agreement.check_report(command.period, command.gross_sales, command.returns)
    account = account_of(partner, plan.currency, aggregates)
    number = agreement.report_count + 1
    source_id = f"{agreement.id}:{command.period}:{number}"
    net = command.gross_sales.amount - command.returns.amount
    year_net = agreement.year_net(agreement.year_of(command.period), (command.period, net))
    rate = _marginal_rate(agreement, year_net)
    accrual_id, reductions = _split(agreement, command.period, "royalty_report", source_id,
                                    difference)
    agreement.report(command.period, command.gross_sales, command.returns, accrual_id,
                     reductions, occurred_at)
    _post(account, plan, version, "royalty_report", source_id, Money(net, agreement.currency),
          difference, rate, reductions, occurred_at)
    quarter = agreement.quarter_of(command.period)
    if agreement.is_closed(quarter):
        top_up = agreement.top_up_difference(quarter)
        if top_up.amount != 0:
            top_up_source = f"{agreement.id}:{quarter}:{number}"
            top_up_id, top_up_reductions = _split(agreement, quarter, "royalty_quarter",
                                                  top_up_source, top_up)
            agreement.adjust_top_up(quarter, top_up_id, top_up_reductions, occurred_at)
            _post(account, plan, version, "royalty_quarter", top_up_source, top_up, top_up,
                  Decimal(1), top_up_reductions, occurred_at)
    return agreement


def close_royalty_quarter(command: c.CloseRoyaltyQuarter, aggregates: Aggregates,
                  occurred_at: datetime) -> RoyaltyAgreement:
    """Closes a quarter, accruing the top-up to its minimum."""
    agreement = aggregates.get(RoyaltyAgreement, command.agreement_id)
    top_up = agreement.check_close(command.quarter)
    if top_up is None:
        return agreement  # closed already: nothing changes
    partner = aggregates.get(Partner, agreement.partner_id)
    if top_up.amount > 0:
        partner.check_active("accrue a royalty top-up")
    plan, version = plan_of(partner, aggregates, occurred_at)
    source_id = f"{agreement.id}:{command.quarter}:close"
    accrual_id = entry_id("accrual", "royalty_quarter", source_id) if top_up.amount > 0 else None
    agreement.close_quarter(command.quarter, accrual_id, occurred_at)
    if top_up.amount > 0:
        account = account_of(partner, plan.currency, aggregates)
        _post(account, plan, version, "royalty_quarter", source_id, top_up, top_up,
              Decimal(1), [], occurred_at)
    return agreement
