"""Provenance: which request or message asked for each stored event.

One row per event, written in the events' transaction: the command it came from (so the
other events of that command can be found) and the source, as JSON: over HTTP the request
id, key id, method and path; over Kafka the topic, partition, offset and message id. Events
written by the CLI (demo, deal expiry) and events stored before provenance was recorded have
no row, and explain says so.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from adapters.sql import Database, RowsWrite

PROVENANCE_TABLE = (
    "CREATE TABLE IF NOT EXISTS provenance (originator_id TEXT NOT NULL, "
    "originator_version BIGINT NOT NULL, command_id TEXT NOT NULL, source TEXT NOT NULL, "
    "PRIMARY KEY (originator_id, originator_version))"
)
PROVENANCE_ROW = (("originator_id", "text"), ("originator_version", "bigint"),
                  ("command_id", "text"), ("source", "text"))
# A command's id: this process's random prefix and a count, unique without asking the
# operating system for randomness per command. A forked child (a server worker) draws its
# own prefix.
_PROCESS = uuid4().hex
_COMMANDS = itertools.count(1)


def _new_process() -> None:
    global _PROCESS, _COMMANDS
    _PROCESS, _COMMANDS = uuid4().hex, itertools.count(1)


os.register_at_fork(after_in_child=_new_process)
PROVENANCE_INDEX = "CREATE INDEX IF NOT EXISTS provenance_by_command ON provenance (command_id)"


def next_command_id() -> str:
    """A new command id, unique across processes and restarts."""
    return f"{_PROCESS}-{next(_COMMANDS)}"


class Provenance:
    """Records and reads where events came from."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def setup(self) -> None:
        self.db.create_tables([PROVENANCE_TABLE, PROVENANCE_INDEX])

    @staticmethod
    def rows(events: Sequence[tuple[UUID, int]],
             source: dict[str, Any]) -> list[tuple[str, int, str, str]]:
        """The rows for one command's events (none when it wrote none)."""
        command_id, text = next_command_id(), json.dumps(source, sort_keys=True)
        return [(str(stream), version, command_id, text) for stream, version in events]

    @staticmethod
    def record(rows: Sequence[tuple[str, int, str, str]]) -> list[RowsWrite]:
        """The side write for many commands' rows (none when there are none)."""
        if not rows:
            return []
        return [RowsWrite(table="provenance", columns=PROVENANCE_ROW, rows=tuple(rows))]

    def of(self, stream_id: UUID, version: int) -> tuple[str, dict[str, Any]] | None:
        """(command id, source) of one event, None when unrecorded."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute("SELECT command_id, source FROM provenance WHERE originator_id = ? "
                           "AND originator_version = ?", (str(stream_id), version))
            row = cursor.fetchone()
        return None if row is None else (str(row["command_id"]), json.loads(row["source"]))

    def command_events(self, command_id: str) -> list[tuple[UUID, int]]:
        """Every event one command wrote."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute("SELECT originator_id, originator_version FROM provenance "
                           "WHERE command_id = ?", (command_id,))
            return [(UUID(r["originator_id"]), int(r["originator_version"]))
                    for r in cursor.fetchall()]
