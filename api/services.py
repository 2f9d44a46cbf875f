"""The composition root: builds every service from settings, once, in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.application import PartnerLedger
from adapters.clock import Clock, utc_now
from adapters.idempotency import IdempotencyStore
from adapters.inbox import Inbox
from adapters.keys import KeyStore
from adapters.settings import Settings
from adapters.sql import Database, setup_lock
from projections.commissions import Commissions
from projections.ledger import Ledger
from projections.partner_directory import PartnerDirectory
from projections.runner import Follower, ProjectionRunner, Projections

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the entry points use."""

    settings: Settings
    app: PartnerLedger
    db: Database
    keys: KeyStore
    idempotency: IdempotencyStore
    projections: Projections
    inbox: Inbox
    follower: Follower | None = None

    def start_following(self) -> None:
        """Keeps projections current with writes from other processes, in the background."""
        if self.follower is None and self.settings.follow_interval > 0:
            self.follower = Follower(self.projections, self.settings.follow_interval)
            self.follower.start()

    def close(self) -> None:
        """Stops the follower and closes the store's connections."""
        if self.follower is not None:
            self.follower.stop()
            self.follower = None
        self.app.close()


def build_services(settings: Settings, clock: Clock = utc_now) -> Services:
    """Opens the store, creates missing tables and catches projections up."""
    env = settings.eventsourcing_env()
    with setup_lock(env):
        app = PartnerLedger(env=env, clock=clock)
        db = app.db
        keys = KeyStore(db)
        idempotency = IdempotencyStore(db)
        projections = Projections([
            ProjectionRunner(app, db, PartnerDirectory()),
            ProjectionRunner(app, db, Commissions()),
            ProjectionRunner(app, db, Ledger()),
        ])
        inbox = Inbox(db, settings.consumer_group)
        keys.setup()
        idempotency.setup()
        inbox.setup()
        projections.setup()
    try:
        projections.catch_up()
    except Exception:
        log.exception("projections could not catch up on start")
    return Services(settings, app, db, keys, idempotency, projections, inbox)
