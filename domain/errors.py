"""The project's exception root and the domain rules' refusals.

Each error names the rule it protects; the API maps `problem` to an HTTP status in one place.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID


class PartnerLedgerError(Exception):
    """Root of every error partnerledger raises on purpose.

    A refusal that names another partner's records (a deal holding a domain, a referral
    holding a lead) sets `public_detail`: what a partner other than `owner_id` is told, with
    none of the extra members.
    """

    problem = "error"

    def __init__(
        self,
        detail: str,
        *,
        public_detail: str | None = None,
        owner_id: UUID | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.public_detail = public_detail
        self.owner_id = owner_id

    def told_to_partner(self, partner_id: UUID | None) -> tuple[str, dict[str, Any]]:
        """The detail and extra members a partner may read: all of them, unless the refusal
        names another partner's records or cannot tell whose they are."""
        if self.public_detail is None or (
            self.owner_id is not None and self.owner_id == partner_id
        ):
            return self.detail, self.extra
        return self.public_detail, {}


class InvalidInput(PartnerLedgerError):
    """A value breaks a field rule; `errors` maps field names to messages."""

    problem = "validation-error"

    def __init__(self, errors: dict[str, list[str]], detail: str = "Invalid input.") -> None:
        super().__init__(detail)
        self.errors = errors

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        """One message for one field."""
        return cls({name: [message]}, detail=f"{name}: {message}")


class NotFound(PartnerLedgerError):
    """The named resource does not exist (or is not visible to the caller)."""

    problem = "not-found"


class InvalidTransition(PartnerLedgerError):
    """The aggregate's current state does not allow the command."""

    problem = "invalid-transition"


class Duplicate(PartnerLedgerError):
    """A natural key (an email, a billing id) is already taken."""

    problem = "duplicate"


class CurrencyMismatch(PartnerLedgerError):
    """Money in a currency other than the partner's plan currency."""

    problem = "currency-mismatch"


class WriteConflict(PartnerLedgerError):
    """Concurrent writers kept winning the race for the same records; retrying will work."""

    problem = "write-conflict"
