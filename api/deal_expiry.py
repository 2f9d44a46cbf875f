"""`partnerledger deals expire`: the expiry of every open deal past its protection window."""

from __future__ import annotations

from uuid import UUID

from adapters.clock import utc_now
from api.services import Services
from domain import commands as c
from projections.commissions import open_deals_past_window


def expire_lapsed_deals(svc: Services, batch_size: int) -> int:
    """Records, batch by batch, the expiry of every open deal past its window; how many."""
    expired = 0
    while True:
        svc.projections.catch_up()
        with svc.db.transaction(commit=False) as cursor:
            due = open_deals_past_window(cursor, utc_now(), batch_size)
        if not due:
            break
        result = svc.app.execute_batch([c.ExpireDeal(None, UUID(i)) for i in due])
        done = sum(1 for outcome in result.outcomes if outcome.error is None)
        expired += done
        if done == 0:
            break  # nothing left that can expire (already closed meanwhile)
    svc.projections.catch_up()
    return expired
