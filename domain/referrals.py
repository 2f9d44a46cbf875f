"""Referrals: leads with an attribution window, first touch wins, conversion to a customer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.dates import add_months
from domain.errors import Duplicate, InvalidTransition, PartnerLedgerError
from domain.ids import derived_id
from domain.partners import normalise_email
from domain.recording import RecordsDirectly


class AttributionExpired(PartnerLedgerError):
    """The referral's attribution window closed before the conversion."""

    problem = "attribution-expired"


def email_domain(email: str) -> str:
    """The part after the @, normalised."""
    return normalise_email(email).rpartition("@")[2]


def referral_status_at(status: str, attribution_expires_at: datetime, when: datetime) -> str:
    """What a reader sees at `when`: a pending referral past its window is expired."""
    if status == "pending" and when > attribution_expires_at:
        return "expired"
    return status


class Referral(Aggregate, metaclass=RecordsDirectly):
    """A lead a partner sent, earning if it converts inside its window."""

    @event("Recorded")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        partner_id: UUID,
        lead_email: str,
        lead_company: str,
        attribution_expires_at: datetime,
        status: str,
        reason: str | None,
        occurred_at: datetime,
    ) -> None:
        self.partner_id = partner_id
        self.lead_email = lead_email
        self.lead_company = lead_company
        self.attribution_expires_at = attribution_expires_at
        self.status = status
        self.reason = reason
        self.recorded_at = occurred_at
        self.customer_id: str | None = None
        self.converted_at: datetime | None = None
        self.points = 0

    def status_at(self, when: datetime) -> str:
        """A pending referral past its window reads as expired."""
        return referral_status_at(self.status, self.attribution_expires_at, when)

    def check_convert(self, occurred_at: datetime) -> None:
        """Only a pending referral converts, and only inside its window."""
        status = self.status_at(occurred_at)
        if status == "expired":
            raise AttributionExpired(
                f"The attribution window closed at {self.attribution_expires_at.isoformat()}.",
                attribution_expires_at=self.attribution_expires_at.isoformat(),
            )
        if status != "pending":
            raise InvalidTransition(
                f"Cannot convert a referral that is {status}.", current_status=status
            )

    def convert(self, customer_id: str, points: int, occurred_at: datetime) -> None:
        """pending → converted: the lead became `customer_id`."""
        self.check_convert(occurred_at)
        self._converted(customer_id, points, occurred_at)

    @event("Converted")
    def _converted(self, customer_id: str, points: int, occurred_at: datetime) -> None:
        self.status = "converted"
        self.customer_id = customer_id
        self.converted_at = occurred_at
        self.points = points


class LeadClaim(Aggregate, metaclass=RecordsDirectly):
    """First touch: which referral holds a lead's email."""

    @staticmethod
    def id_for(email: str) -> UUID:
        """Derived from the normalised email, so two partners racing for a lead collide."""
        return derived_id(f"partnerledger:lead-email:{normalise_email(email)}")

    @event("Opened")
    def __init__(self, id: UUID, email: str) -> None:  # noqa: A002
        self.email = email
        self.referral_id: UUID | None = None
        self.expires_at: datetime | None = None
        self.converted = False

    def check_free(self, occurred_at: datetime) -> None:
        """Refuses while an open referral, or a conversion, holds the lead."""
        if self.referral_id is None:
            return
        if self.converted or (self.expires_at is not None and occurred_at <= self.expires_at):
            raise Duplicate(
                f"This lead is already held by referral {self.referral_id} "
                "(first touch wins).",
                public_detail="This lead is already held by another referral "
                "(first touch wins).",
                existing_referral_id=str(self.referral_id),
            )

    def hold(self, referral_id: UUID, expires_at: datetime, occurred_at: datetime) -> None:
        """Gives the lead to a new referral."""
        self.check_free(occurred_at)
        self._held(referral_id, expires_at)

    def mark_converted(self, referral_id: UUID) -> None:
        """The holding referral converted: the lead is a customer for good."""
        if self.referral_id == referral_id:
            self._converted(referral_id)

    @event("Held")
    def _held(self, referral_id: UUID, expires_at: datetime) -> None:
        self.referral_id, self.expires_at, self.converted = referral_id, expires_at, False

    @event("Converted")
    def _converted(self, referral_id: UUID) -> None:
        self.converted = True


class CustomerAttribution(Aggregate, metaclass=RecordsDirectly):
    """Which partner a billing customer came from, and since when."""

    @staticmethod
    def id_for(customer_id: str) -> UUID:
        """Derived from the billing system's customer id."""
        return derived_id(f"partnerledger:customer:{customer_id}")

    @event("Attributed")
    def __init__(
        self,
        id: UUID,  # noqa: A002
        customer_id: str,
        partner_id: UUID,
        referral_id: UUID,
        converted_at: datetime,
    ) -> None:
        self.customer_id = customer_id
        self.partner_id = partner_id
        self.referral_id = referral_id
        self.converted_at = converted_at

    def in_commission_window(self, when: datetime, referral_months: int) -> bool:
        """Whether a payment at `when` earns commission: from the conversion on, for
        `referral_months` calendar months."""
        return self.converted_at <= when < add_months(self.converted_at, referral_months)
