"""What every entry point is given: the application, its stores, the read models, settings."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.application import PartnerProgram
from adapters.idempotency import IdempotencyStore
from adapters.inbox import Inbox
from adapters.keys import KeyStore
from adapters.settings import Settings
from adapters.sql import Database
from projections.catch_up import Follower, ReadModels


@dataclass
class Services:
    """Everything the entry points use; api/bootstrap.py builds it."""

    settings: Settings
    app: PartnerProgram
    db: Database
    keys: KeyStore
    idempotency: IdempotencyStore
    projections: ReadModels
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
