"""The partner lifecycle: applied, active, rejected, suspended, terminated."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Duplicate, InvalidTransition
from domain.ids import derived_id
from domain.money import Money
from domain.recording import RecordsDirectly
from domain.tiers import BASE_TIER, RevenueHistory, Tier, promotion_due

PARTNER_TYPES = ("referral", "reseller", "technology", "agency", "advocate")

# command -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({"applied"}), "active"),
    "reject": (frozenset({"applied"}), "rejected"),
    "suspend": (frozenset({"active"}), "suspended"),
    "reactivate": (frozenset({"suspended"}), "active"),
    "terminate": (frozenset({"active", "suspended"}), "terminated"),
}

# What PATCH /partners/{id} may correct.
EDITABLE = ("name", "company", "country")

# An email may apply again only once its earlier application is over.
CLOSED_STATES = frozenset({"rejected", "terminated"})


def normalise_email(email: str) -> str:
    """Emails compare without case or surrounding space."""
    return email.strip().lower()


class Partner(Aggregate, metaclass=RecordsDirectly):
    """A company or person paid by the program."""

    @event("Applied")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        name: str,
        email: str,
        company: str,
        type: str,  # noqa: A002
        country: str,
        occurred_at: datetime,
    ) -> None:
        self.name = name
        self.email = email
        self.company = company
        self.type = type
        self.country = country
        self.status = "applied"
        self.tier = BASE_TIER
        self.plan_id: UUID | None = None
        # [[business time, plan id], ...]: the plan in force from each time on
        self.plan_history: list[list[Any]] = []
        self.applied_at = occurred_at
        self.updated_at = occurred_at
        self.status_reason: str | None = None

    def check_transition(self, command: str) -> None:
        """Raises before anything is recorded when the state does not allow `command`."""
        sources, _ = TRANSITIONS[command]
        if self.status not in sources:
            raise InvalidTransition(
                f"Cannot {command} a partner that is {self.status}.",
                current_status=self.status,
            )

    def approve(self, plan_id: UUID, occurred_at: datetime) -> None:
        """Admits the applicant on a plan."""
        self.check_transition("approve")
        self._approved(plan_id, occurred_at)

    def reject(self, reason: str | None, occurred_at: datetime) -> None:
        """Turns the application down."""
        self.check_transition("reject")
        self._rejected(reason, occurred_at)

    def suspend(self, reason: str | None, occurred_at: datetime) -> None:
        """Pauses earning; the partner's history and balances stay."""
        self.check_transition("suspend")
        self._suspended(reason, occurred_at)

    def reactivate(self, occurred_at: datetime) -> None:
        """Ends a suspension."""
        self.check_transition("reactivate")
        self._reactivated(occurred_at)

    def terminate(self, reason: str | None, occurred_at: datetime) -> None:
        """Ends the partnership for good."""
        self.check_transition("terminate")
        self._terminated(reason, occurred_at)

    def change_details(self, changes: dict[str, str | None], occurred_at: datetime) -> bool:
        """Corrects the name, company or country; False when nothing differs (no event).
        A closed partner's record stays as it was closed."""
        changed: dict[str, str] = {k: v for k, v in changes.items()
                   if k in EDITABLE and v is not None and getattr(self, k) != v}
        if not changed:
            return False
        if self.is_closed:
            raise InvalidTransition(f"A partner that is {self.status} cannot be edited.",
                                    current_status=self.status)
        self._details_changed(changed, {k: getattr(self, k) for k in changed}, occurred_at)
        return True

    @event("DetailsChanged")
    def _details_changed(self, changes: dict[str, str], previous: dict[str, str],
                         occurred_at: datetime) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.updated_at = occurred_at

    @property
    def is_active(self) -> bool:
        """Only active partners register deals and referrals, and earn."""
        return self.status == "active"

    def check_active(self, action: str) -> None:
        """Refuses `action` for a partner that is not active."""
        if not self.is_active:
            raise InvalidTransition(
                f"A partner that is {self.status} cannot {action}.", current_status=self.status
            )

    def promote_if_due(
        self, tiers: Sequence[Tier], revenue: RevenueHistory, occurred_at: datetime
    ) -> None:
        """Moves an active partner up to the tier its trailing revenue reaches, if higher."""
        if not self.is_active:
            return
        due = promotion_due(tiers, self.tier, revenue, occurred_at)
        if due is not None:
            tier, trailing_revenue = due
            self._tier_promoted(self.tier, tier.name, trailing_revenue, occurred_at)

    @event("TierPromoted")
    def _tier_promoted(
        self, from_tier: str, to_tier: str, trailing_revenue: Money, occurred_at: datetime
    ) -> None:
        self.tier = to_tier
        self.updated_at = occurred_at

    @property
    def is_closed(self) -> bool:
        """Rejected and terminated partners free their email for a new application."""
        return self.status in CLOSED_STATES

    def plan_at(self, when: datetime) -> UUID | None:
        """The plan in force at business time `when` (the first one before it)."""
        history = self.__dict__.get("plan_history") or []
        found = history[0][1] if history else self.plan_id
        for since, plan_id in history:
            if since <= when:
                found = plan_id
        return found

    def plan_ids(self) -> list[UUID]:
        """Every plan the partner has been on, first to last."""
        return [plan_id for _, plan_id in self.__dict__.get("plan_history") or []]

    def move_to_plan(self, plan_id: UUID, occurred_at: datetime) -> bool:
        """Moves the partner to another plan from `occurred_at` on; False when it is already
        on it then. A move may not be dated before the last plan change: what was earned
        under a plan stays earned under it."""
        if self.plan_id is None or self.is_closed:
            raise InvalidTransition(f"A partner that is {self.status} has no plan to move "
                                    "from.", current_status=self.status)
        history = self.__dict__.get("plan_history") or []
        if history and occurred_at < history[-1][0]:
            raise InvalidTransition(
                "A plan move may not be dated before the partner's last plan change "
                f"({history[-1][0].isoformat()}).", current_status=self.status)
        if self.plan_id == plan_id:
            return False
        self._plan_changed(self.plan_id, plan_id, occurred_at)
        return True

    @event("PlanChanged")
    def _plan_changed(self, from_plan_id: UUID, plan_id: UUID, occurred_at: datetime) -> None:
        self.plan_id = plan_id
        self.__dict__.setdefault("plan_history", []).append([occurred_at, plan_id])
        self.updated_at = occurred_at

    @event("Approved")
    def _approved(self, plan_id: UUID, occurred_at: datetime) -> None:
        self.updated_at = occurred_at
        self.plan_id = plan_id
        self.__dict__.setdefault("plan_history", []).append([occurred_at, plan_id])
        self.status = "active"
        self.status_reason = None

    @event("Rejected")
    def _rejected(self, reason: str | None, occurred_at: datetime) -> None:
        self.updated_at = occurred_at
        self.status = "rejected"
        self.status_reason = reason

    @event("Suspended")
    def _suspended(self, reason: str | None, occurred_at: datetime) -> None:
        self.updated_at = occurred_at
        self.status = "suspended"
        self.status_reason = reason

    @event("Reactivated")
    def _reactivated(self, occurred_at: datetime) -> None:
        self.updated_at = occurred_at
        self.status = "active"
        self.status_reason = None

    @event("Terminated")
    def _terminated(self, reason: str | None, occurred_at: datetime) -> None:
        self.updated_at = occurred_at
        self.status = "terminated"
        self.status_reason = reason


class EmailClaim(Aggregate, metaclass=RecordsDirectly):
    """Uniqueness index: which partner, if any, holds an email address."""

    @staticmethod
    def id_for(email: str) -> UUID:
        """The claim's id is derived from the normalised email, so two writers collide."""
        return derived_id(f"partnerledger:partner-email:{normalise_email(email)}")

    @event("Opened")
    def __init__(self, id: UUID, partner_id: UUID) -> None:  # noqa: A002
        self.partner_id: UUID | None = partner_id

    def claim(self, partner_id: UUID) -> None:
        """Gives the email to a new applicant; refused while another holds it."""
        if self.partner_id is not None:
            raise Duplicate(
                "A partner with this email has already applied.",
                existing_partner_id=str(self.partner_id),
            )
        self._claimed(partner_id)

    def release(self, partner_id: UUID) -> None:
        """Frees the email when its holder is rejected or terminated."""
        if self.partner_id == partner_id:
            self._released()

    @event("Claimed")
    def _claimed(self, partner_id: UUID) -> None:
        self.partner_id = partner_id

    @event("Released")
    def _released(self) -> None:
        self.partner_id = None
