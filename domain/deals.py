"""Deal registration: protection windows, first-come conflicts, approval and closing."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, InvalidTransition, PartnerLedgerError
from domain.ids import derived_id
from domain.money import Money
from domain.recording import RecordsDirectly

OPEN_STATES = frozenset({"registered", "approved"})
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(domain: str) -> str:
    """Customer domains compare in lower case, without `www.` or a trailing dot."""
    value = domain.strip().lower().rstrip(".")
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    value = value.removeprefix("www.")
    if not _DOMAIN.match(value):
        raise InvalidInput.field("customer.domain", f"Not a domain name: {domain!r}.")
    return value


def deal_status_at(status: str, protected_until: datetime, when: datetime) -> str:
    """What a reader sees at `when`: an open deal past its protection window is expired."""
    if status in OPEN_STATES and when > protected_until:
        return "expired"
    return status


class DealConflict(PartnerLedgerError):
    """Another registration holds the customer domain; the refused attempt is recorded."""

    problem = "deal-conflict"
    keeps_events = True  # the audit record of the refused attempt is saved all the same


class Deal(Aggregate, metaclass=RecordsDirectly):
    """A partner's registered opportunity with one customer."""

    @event("Registered")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        partner_id: UUID,
        customer_name: str,
        customer_domain: str,
        estimated_value: Money,
        protected_until: datetime,
        occurred_at: datetime,
    ) -> None:
        self.partner_id = partner_id
        self.customer_name = customer_name
        self.customer_domain = customer_domain
        self.estimated_value = estimated_value
        self.protected_until = protected_until
        self.registered_at = occurred_at
        self.status = "registered"
        self.reason: str | None = None
        self.amount: Money | None = None
        self.new_customer: bool | None = None
        self.closed_at: datetime | None = None

    def status_at(self, when: datetime) -> str:
        """What a reader sees at `when`: an open deal past its window is expired."""
        return deal_status_at(self.status, self.protected_until, when)

    def _check(self, command: str, allowed: frozenset[str], when: datetime) -> None:
        status = self.status_at(when)
        if status not in allowed:
            raise InvalidTransition(
                f"Cannot {command} a deal that is {status}.", current_status=status
            )

    def approve(self, occurred_at: datetime) -> None:
        """registered → approved, inside the protection window."""
        self._check("approve", frozenset({"registered"}), occurred_at)
        self._approved(occurred_at)

    def reject(self, reason: str | None, occurred_at: datetime) -> None:
        """An open deal is turned down."""
        self._check("reject", OPEN_STATES, occurred_at)
        self._rejected(reason, occurred_at)

    def check_win(self, occurred_at: datetime) -> None:
        """Only an approved deal still inside its window can be won."""
        self._check("close-won", frozenset({"approved"}), occurred_at)

    def win(self, amount: Money, new_customer: bool, occurred_at: datetime) -> None:
        """approved → won, for `amount`."""
        self.check_win(occurred_at)
        self._won(amount, new_customer, occurred_at)

    def lose(self, reason: str | None, occurred_at: datetime) -> None:
        """An open deal is lost."""
        self._check("close-lost", OPEN_STATES, occurred_at)
        self._lost(reason, occurred_at)

    def expire(self, occurred_at: datetime) -> None:
        """Records the expiry that reads already show, once."""
        if self.status == "expired" or self.status_at(occurred_at) != "expired":
            raise InvalidTransition(
                f"Only an open deal past its window expires; this one is "
                f"{self.status_at(occurred_at)}.",
                current_status=self.status_at(occurred_at),
            )
        self._expired(self.protected_until)

    @event("Approved")
    def _approved(self, occurred_at: datetime) -> None:
        self.status = "approved"

    @event("Rejected")
    def _rejected(self, reason: str | None, occurred_at: datetime) -> None:
        self.status, self.reason, self.closed_at = "rejected", reason, occurred_at

    @event("Won")
    def _won(self, amount: Money, new_customer: bool, occurred_at: datetime) -> None:
        self.status, self.amount, self.new_customer = "won", amount, new_customer
        self.closed_at = occurred_at

    @event("Lost")
    def _lost(self, reason: str | None, occurred_at: datetime) -> None:
        self.status, self.reason, self.closed_at = "lost", reason, occurred_at

    @event("Expired")
    def _expired(self, occurred_at: datetime) -> None:
        self.status, self.closed_at = "expired", occurred_at


class DomainRegistration(Aggregate, metaclass=RecordsDirectly):
    """Which deal, if any, holds a customer domain: first come, first protected."""

    @staticmethod
    def id_for(domain: str) -> UUID:
        """Derived from the normalised domain, so simultaneous registrations collide."""
        return derived_id(f"partnerledger:deal-domain:{domain}")

    @event("Opened")
    def __init__(self, id: UUID, domain: str) -> None:  # noqa: A002
        self.domain = domain
        self.deal_id: UUID | None = None
        self.partner_id: UUID | None = None
        self.protected_until: datetime | None = None
        self.conflicts = 0

    def holder_at(self, when: datetime) -> UUID | None:
        """The deal protecting this domain at `when`, if any."""
        if self.deal_id is None or self.protected_until is None or when > self.protected_until:
            return None
        return self.deal_id

    def hold(
        self, deal_id: UUID, partner_id: UUID, protected_until: datetime, occurred_at: datetime
    ) -> None:
        """Gives the domain to a new deal, or records the refused attempt and raises."""
        holder = self.holder_at(occurred_at)
        if holder is not None:
            self._conflict_recorded(deal_id, partner_id, holder, occurred_at)
            raise DealConflict(
                f"Customer domain {self.domain} is protected by deal {holder} until "
                f"{self.protected_until.isoformat() if self.protected_until else '?'}.",
                public_detail=f"Customer domain {self.domain} is protected by another "
                "registration.",
                owner_id=self.partner_id,
                conflicting_deal_id=str(holder),
            )
        self._held(deal_id, partner_id, protected_until, occurred_at)

    def release(self, deal_id: UUID, occurred_at: datetime) -> None:
        """Frees the domain when its deal closes; a later holder is left alone."""
        if self.deal_id == deal_id:
            self._released(deal_id, occurred_at)

    @event("Held")
    def _held(
        self, deal_id: UUID, partner_id: UUID, protected_until: datetime, occurred_at: datetime
    ) -> None:
        self.deal_id, self.partner_id, self.protected_until = deal_id, partner_id, protected_until

    @event("Released")
    def _released(self, deal_id: UUID, occurred_at: datetime) -> None:
        self.deal_id = self.partner_id = self.protected_until = None

    @event("ConflictRecorded")
    def _conflict_recorded(
        self, attempted_deal_id: UUID, partner_id: UUID, holding_deal_id: UUID,
        occurred_at: datetime,
    ) -> None:
        self.conflicts += 1
