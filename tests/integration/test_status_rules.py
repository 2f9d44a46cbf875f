"""The read model's status filters, in SQL, agree with the domain's rule on both stores: an
open deal past its protection window, or a pending referral past its attribution window,
reads as expired."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services import Services
from domain.deals import OPEN_STATES, deal_status_at
from domain.referrals import referral_status_at
from projections.commissions import (
    DEAL_COLUMNS,
    REFERRAL_COLUMNS,
    deal_status,
    list_deals,
    list_referrals,
    open_deals_past_window,
    referral_status,
)
from projections.timestamps import iso

DEAL_STATUSES = ("registered", "approved", "won", "lost", "expired", "rejected")
REFERRAL_STATUSES = ("pending", "converted", "rejected", "expired")
PARTNER = str(uuid.UUID(int=7))
T0 = datetime(2026, 1, 1, tzinfo=UTC)

offsets = st.sampled_from([timezone(timedelta(hours=h)) for h in (-11, -3, 0, 2, 14)])
moments = st.integers(min_value=0, max_value=10**6).map(lambda n: T0 + timedelta(seconds=n))


@st.composite
def histories(draw: st.DrawFn, statuses: tuple[str, ...]) -> tuple[list[tuple[str, datetime]],
                                                                    datetime]:
    """Rows of (stored status, window end), and a reading time often right at an end."""
    rows = draw(st.lists(st.tuples(st.sampled_from(statuses), moments), max_size=10))
    if rows and draw(st.booleans()):
        end = draw(st.sampled_from([end for _, end in rows]))
        now = end + timedelta(microseconds=draw(st.sampled_from([-1, 0, 1])))
    else:
        now = draw(moments) + timedelta(microseconds=draw(st.integers(0, 999_999)))
    return rows, now.astimezone(draw(offsets))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(DEAL_STATUSES))
def test_deal_status_filters_mirror_the_domain(
    services: Services, history: tuple[list[tuple[str, datetime]], datetime]
) -> None:
    rows, now = history
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("DELETE FROM deals")
        for seq, (status, protected_until) in enumerate(rows, start=1):
            cursor.execute(
                f"INSERT INTO deals ({DEAL_COLUMNS}) VALUES "
                "(?, ?, ?, 'C', 'c.example', '1', 'USD', ?, NULL, ?, NULL, NULL, ?, NULL, 1)",
                (str(uuid.UUID(int=seq)), seq, PARTNER, status, iso(protected_until),
                 iso(T0)))
        expected = {str(uuid.UUID(int=seq)): deal_status_at(status, protected_until, now)
                    for seq, (status, protected_until) in enumerate(rows, start=1)}
        every = list_deals(cursor, PARTNER, None, 0, 100, now).rows
        assert {str(r["deal_id"]): deal_status(r, now) for r in every} == expected
        for status in DEAL_STATUSES:
            found = [str(r["deal_id"]) for r in list_deals(cursor, PARTNER, status, 0, 100, now)
                     .rows]
            assert found == [i for i, s in expected.items() if s == status], status
        stored = {str(uuid.UUID(int=seq)): status for seq, (status, _) in enumerate(rows, 1)}
        assert set(open_deals_past_window(cursor, now, 100)) == {
            i for i, s in expected.items() if s == "expired" and stored[i] in OPEN_STATES}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(REFERRAL_STATUSES))
def test_referral_status_filters_mirror_the_domain(
    services: Services, history: tuple[list[tuple[str, datetime]], datetime]
) -> None:
    rows, now = history
    with services.db.transaction(commit=False) as cursor:
        cursor.execute("DELETE FROM referrals")
        for seq, (status, expires_at) in enumerate(rows, start=1):
            cursor.execute(
                f"INSERT INTO referrals ({REFERRAL_COLUMNS}) VALUES "
                "(?, ?, ?, 'l@c.example', 'C', ?, NULL, NULL, ?, ?, NULL, 0, 1)",
                (str(uuid.UUID(int=seq)), seq, PARTNER, status, iso(expires_at), iso(T0)))
        expected = {str(uuid.UUID(int=seq)): referral_status_at(status, expires_at, now)
                    for seq, (status, expires_at) in enumerate(rows, start=1)}
        every = list_referrals(cursor, PARTNER, None, 0, 100, now).rows
        assert {str(r["referral_id"]): referral_status(r, now) for r in every} == expected
        for status in REFERRAL_STATUSES:
            found = [str(r["referral_id"])
                     for r in list_referrals(cursor, PARTNER, status, 0, 100, now).rows]
            assert found == [i for i, s in expected.items() if s == status], status
