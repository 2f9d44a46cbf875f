"""Payout runs and payouts: moving available money to partners, confirmed or failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.ids import derived_id
from domain.money import Money
from domain.recording import RecordsDirectly


class Payout(Aggregate, metaclass=RecordsDirectly):
    """Money on its way to one partner, in one currency."""

    @staticmethod
    def id_for(run_id: UUID, partner_id: UUID) -> UUID:
        """One payout per partner per run, with an id anyone can derive."""
        return derived_id(f"partnerledger:payout:{run_id}:{partner_id}")

    @event("Started")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        partner_id: UUID,
        run_id: UUID,
        amount: Money,
        as_of: datetime,
        settlement: bool,
        occurred_at: datetime,
    ) -> None:
        self.partner_id = partner_id
        self.run_id = run_id
        self.amount = amount
        self.as_of = as_of
        self.settlement = settlement
        self.started_at = occurred_at
        self.status = "in_payout"
        self.reference: str | None = None
        self.reason: str | None = None
        self.closed_at: datetime | None = None

    def _check_open(self, command: str) -> None:
        if self.status != "in_payout":
            raise InvalidTransition(f"Cannot {command} a payout that is {self.status}.",
                                    current_status=self.status)

    def confirm(self, reference: str, occurred_at: datetime) -> None:
        """in_payout → paid."""
        self._check_open("confirm")
        self._confirmed(reference, occurred_at)

    def fail(self, reason: str, occurred_at: datetime) -> None:
        """in_payout → failed: the money is available again."""
        self._check_open("fail")
        self._failed(reason, occurred_at)

    @event("Confirmed")
    def _confirmed(self, reference: str, occurred_at: datetime) -> None:
        self.status, self.reference, self.closed_at = "paid", reference, occurred_at

    @event("Failed")
    def _failed(self, reason: str, occurred_at: datetime) -> None:
        self.status, self.reason, self.closed_at = "failed", reason, occurred_at


class PayoutRun(Aggregate, metaclass=RecordsDirectly):
    """One run over every partner's account, and the payouts it made."""

    @event("Completed")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        as_of: datetime,
        payouts: list[dict[str, Any]],
        skipped: dict[str, str],
        occurred_at: datetime,
    ) -> None:
        self.as_of = as_of
        self.payouts = payouts  # {id, partner_id, amount, settlement} as made by the run
        self.payout_ids: list[UUID] = [p["id"] for p in payouts]
        self.skipped = skipped
        self.ran_at = occurred_at
