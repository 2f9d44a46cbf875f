"""Royalty refusals on the fake: signing, schedules and currencies, reports, quarter closes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from domain import commands as c
from domain.errors import CurrencyMismatch, Duplicate, InvalidInput, InvalidTransition, NotFound
from domain.money import Money
from tests.unit.world import T0, World, eur, usd

SCHEDULE = ((Decimal("100000"), Decimal("0.05")), (None, Decimal("0.08")))
STARTS_ON = date(2026, 1, 1)


def agreement(partner_id: uuid.UUID, *, agreement_id: uuid.UUID | None = None,
              currency: str = "USD",
              schedule: tuple[tuple[Decimal | None, Decimal], ...] = SCHEDULE,
              minimum: Money | None = None) -> c.SignRoyaltyAgreement:
    return c.SignRoyaltyAgreement(T0, agreement_id or uuid.uuid4(), partner_id, currency,
                                  schedule, minimum, STARTS_ON)


def report(agreement_id: uuid.UUID, period: str = "2026-03", gross: Money | None = None,
           returns: Money | None = None) -> c.ReportRoyalty:
    return c.ReportRoyalty(T0, agreement_id, period, gross or usd("1000.00"),
                           returns or usd("0.00"))


def signed(world: World, minimum: str | None = "2000.00") -> tuple[uuid.UUID, uuid.UUID]:
    """(partner, agreement): an active licensor with an agreement starting 2026-01-01."""
    pid = world.partner()
    command = agreement(pid, minimum=usd(minimum) if minimum else None)
    world.run(command)
    return pid, command.id


def test_an_agreement_cannot_take_an_id_anything_else_holds(world: World) -> None:
    pid, existing = signed(world)
    for taken in (existing, pid, world.plan_id):
        refused = world.refuse(agreement(pid, agreement_id=taken), Duplicate)
        assert refused.extra == {"existing_id": str(taken)}


def test_an_unknown_partner_cannot_sign(world: World) -> None:
    world.refuse(agreement(uuid.uuid4()), NotFound)


@pytest.mark.parametrize("status", ["applied", "rejected", "suspended", "terminated"])
def test_only_an_active_partner_signs(world: World, status: str) -> None:
    refused = world.refuse(agreement(world.partner(status)), InvalidTransition)
    assert refused.extra == {"current_status": status}


def test_the_agreement_is_in_the_currency_the_partner_is_paid_in(world: World) -> None:
    refused = world.refuse(agreement(world.partner(), currency="EUR"), CurrencyMismatch)
    assert refused.extra == {"expected_currency": "USD"}


def test_the_quarterly_minimum_is_in_the_agreement_currency(world: World) -> None:
    refused = world.refuse(agreement(world.partner(), minimum=eur("100.00")), CurrencyMismatch)
    assert refused.extra == {"expected_currency": "USD"}


@pytest.mark.parametrize(("schedule", "field"), [
    ((), "schedule"),
    (((None, Decimal("1.5")),), "schedule.0.rate"),
    (((Decimal("100"), Decimal("0.1")), (Decimal("100"), Decimal("0.2")),
      (None, Decimal("0.3"))), "schedule.1.up_to"),
    (((Decimal("0"), Decimal("0.1")), (None, Decimal("0.2"))), "schedule.0.up_to"),
], ids=["empty", "rate-above-one", "not-ascending", "zero-ceiling"])
def test_a_schedule_must_be_well_formed(
    world: World, schedule: tuple[tuple[Decimal | None, Decimal], ...], field: str
) -> None:
    refused = world.refuse(agreement(world.partner(), schedule=schedule), InvalidInput)
    assert list(refused.errors) == [field]


def test_reporting_on_an_unknown_agreement_is_not_found(world: World) -> None:
    world.refuse(report(uuid.uuid4()), NotFound)
    world.refuse(report(world.partner()), NotFound)


@pytest.mark.parametrize(("period", "gross", "returns", "field"), [
    ("2025-12", "1000.00", "0.00", "period"),
    ("2026-13", "1000.00", "0.00", "period"),
    ("26-01", "1000.00", "0.00", "period"),
    ("2026-03", "1000.00", "1000.01", "returns"),
], ids=["before-start", "month-13", "malformed", "returns-above-gross"])
def test_a_report_needs_a_month_of_the_agreement_and_returns_within_sales(
    world: World, period: str, gross: str, returns: str, field: str
) -> None:
    _, agreement_id = signed(world)
    refused = world.refuse(report(agreement_id, period, usd(gross), usd(returns)),
                           InvalidInput)
    assert list(refused.errors) == [field]


@pytest.mark.parametrize("field", ["gross_sales", "returns"])
def test_report_figures_are_in_the_agreement_currency(world: World, field: str) -> None:
    _, agreement_id = signed(world)
    figures = {"gross": usd("1000.00"), "returns": usd("0.00")}
    figures["gross" if field == "gross_sales" else "returns"] = eur("0.00")
    refused = world.refuse(report(agreement_id, **figures), InvalidInput)
    assert list(refused.errors) == [field]


@pytest.mark.parametrize("status", ["suspended", "terminated"])
def test_a_partner_no_longer_active_accrues_no_royalties(world: World, status: str) -> None:
    pid, agreement_id = signed(world)
    world.run(c.SuspendPartner(T0, pid, "review") if status == "suspended"
              else c.TerminatePartner(T0, pid, "ended"))
    refused = world.refuse(report(agreement_id), InvalidTransition)
    assert refused.extra == {"current_status": status}


@pytest.mark.parametrize("quarter", ["2026-Q5", "2026-q1", "2026Q1", "2025-Q4"])
def test_a_close_needs_a_quarter_of_the_agreement(world: World, quarter: str) -> None:
    _, agreement_id = signed(world)
    refused = world.refuse(c.CloseRoyaltyQuarter(T0, agreement_id, quarter), InvalidInput)
    assert list(refused.errors) == ["quarter"]


def test_a_top_up_is_not_accrued_for_a_suspended_partner(world: World) -> None:
    pid, agreement_id = signed(world)
    world.run(c.SuspendPartner(T0, pid, "review"))
    refused = world.refuse(c.CloseRoyaltyQuarter(T0, agreement_id, "2026-Q1"),
                           InvalidTransition)
    assert refused.extra == {"current_status": "suspended"}
    pid, without_minimum = signed(world, minimum=None)
    world.run(c.SuspendPartner(T0, pid, "review"))
    world.run(c.CloseRoyaltyQuarter(T0, without_minimum, "2026-Q1"))  # nothing to accrue


def test_closing_a_quarter_of_an_unknown_agreement_is_not_found(world: World) -> None:
    world.refuse(c.CloseRoyaltyQuarter(T0, uuid.uuid4(), "2026-Q1"), NotFound)
