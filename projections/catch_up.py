"""Every read model caught up together, on demand or by a background follower."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from projections.runner import ProjectionFailed, ReadModelRunner

log = logging.getLogger(__name__)


class ReadModels:
    """Every read model of the service, caught up together."""

    def __init__(self, runners: Sequence[ReadModelRunner]) -> None:
        self.runners = list(runners)

    def setup(self) -> None:
        """Creates every read model's tables."""
        for runner in self.runners:
            runner.setup()

    def catch_up(self) -> int:
        """Catches every projection up and returns the lowest position among them.

        A stopped projection does not hold the others back: each is caught up, and the first
        failure is raised after all have run.
        """
        positions: list[int] = []
        failures: list[ProjectionFailed] = []
        for runner in self.runners:
            try:
                positions.append(runner.catch_up())
            except ProjectionFailed as failed:
                failures.append(failed)
                positions.append(runner.position())
        if failures:
            raise failures[0]
        return min(positions, default=0)

    def position(self) -> int:
        """The lowest position among the projections: what every read reflects at least."""
        return min((runner.position() for runner in self.runners), default=0)

    def get(self, name: str) -> ReadModelRunner:
        """The runner of one projection."""
        for runner in self.runners:
            if runner.name == name:
                return runner
        raise KeyError(name)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Catches up until every projection reaches `position`; False when time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.catch_up() >= position:
                    return True
            except ProjectionFailed:
                # a projection stopped beyond `position` still answers reads up to it
                if self.position() >= position:
                    return True
                raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


class Follower:
    """A background thread that keeps projections caught up with writes from other processes."""

    def __init__(self, projections: ReadModels, interval: float) -> None:
        self.projections = projections
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projection-follower", daemon=True)

    def start(self) -> None:
        """Starts following."""
        self._thread.start()

    def stop(self) -> None:
        """Stops after the current batch."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.projections.catch_up()
            except Exception:
                log.warning("projection catch-up failed; retrying in %ss", self.interval)
