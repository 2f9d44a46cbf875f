"""Handlers of the plan commands: create a plan, revise it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import commands as c
from domain.handlers.ports import Aggregates, check_new_id
from domain.plans import Plan


def create_plan_loads(command: c.CreatePlan) -> list[UUID]:
    """The new plan's id, to check it is free."""
    return [command.id]


def create_plan(command: c.CreatePlan, aggregates: Aggregates, occurred_at: datetime) -> Plan:
    """Creates a plan whose first version takes effect at `occurred_at`."""
    check_new_id(aggregates, command.id)
    plan = Plan(id=command.id, terms=command.terms, occurred_at=occurred_at)
    aggregates.add(plan)
    return plan


def revise_plan_loads(command: c.RevisePlan) -> list[UUID]:
    """The plan."""
    return [command.plan_id]


def revise_plan(command: c.RevisePlan, aggregates: Aggregates, occurred_at: datetime) -> Plan:
    """Adds a version to the plan, effective from `occurred_at`."""
    plan = aggregates.get(Plan, command.plan_id)
    plan.revise(command.changes, occurred_at)
    return plan
