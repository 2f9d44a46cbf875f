"""The partner lifecycle: every transition, every refusal, and the email index."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from domain.errors import Duplicate, InvalidTransition
from domain.partners import TRANSITIONS, EmailClaim, Partner

NOW = datetime(2026, 3, 1, tzinfo=UTC)
STATES = ("applied", "active", "rejected", "suspended", "terminated")

# how to bring a fresh partner into each state
PATHS: dict[str, tuple[str, ...]] = {
    "applied": (),
    "active": ("approve",),
    "rejected": ("reject",),
    "suspended": ("approve", "suspend"),
    "terminated": ("approve", "terminate"),
}


def run(partner: Partner, command: str) -> None:
    calls: dict[str, Callable[[], None]] = {
        "approve": lambda: partner.approve(uuid.uuid4(), NOW),
        "reject": lambda: partner.reject("not a fit", NOW),
        "suspend": lambda: partner.suspend("fraud review", NOW),
        "reactivate": lambda: partner.reactivate(NOW),
        "terminate": lambda: partner.terminate("contract ended", NOW),
    }
    calls[command]()


def partner_in(state: str) -> Partner:
    partner = Partner(id=uuid.uuid4(), name="A", email="a@x.example", company="A",
                      type="referral", country="GB", occurred_at=NOW)
    for command in PATHS[state]:
        run(partner, command)
    assert partner.status == state
    return partner


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("command", sorted(TRANSITIONS))
def test_every_command_from_every_state(state: str, command: str) -> None:
    partner = partner_in(state)
    sources, target = TRANSITIONS[command]
    events_before = len(partner.pending_events)
    if state in sources:
        run(partner, command)
        assert partner.status == target
        assert len(partner.pending_events) == events_before + 1
    else:
        with pytest.raises(InvalidTransition):
            run(partner, command)
        assert partner.status == state
        assert len(partner.pending_events) == events_before


def test_the_allowed_transitions_are_exactly_the_specified_ones() -> None:
    allowed = {(s, cmd) for cmd, (sources, _) in TRANSITIONS.items() for s in sources}
    assert allowed == {
        ("applied", "approve"), ("applied", "reject"), ("active", "suspend"),
        ("suspended", "reactivate"), ("active", "terminate"), ("suspended", "terminate"),
    }


def test_approval_records_the_plan() -> None:
    partner = partner_in("applied")
    plan_id = uuid.uuid4()
    partner.approve(plan_id, NOW)
    assert partner.plan_id == plan_id


def test_email_claims_are_case_insensitive_and_released_on_close() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert EmailClaim.id_for(" Ops@Example.COM ") == EmailClaim.id_for("ops@example.com")
    claim = EmailClaim(id=EmailClaim.id_for("ops@example.com"), partner_id=first)
    with pytest.raises(Duplicate):
        claim.claim(second)
    claim.release(second)  # not the holder: nothing changes
    assert claim.partner_id == first
    claim.release(first)
    claim.claim(second)
    assert claim.partner_id == second
