"""Setup problems (no broker, no database, a malformed setting) told to the operator in one line."""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import Any

import click
import psycopg
from eventsourcing.persistence import PersistenceError
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from adapters.settings import DEFAULT_DATABASE_URL, ConfigurationError, Settings, redacted_url
from domain.errors import PartnerLedgerError

# the command line's own logger: what it logs reads as coming from `partnerledger`
log = logging.getLogger("partnerledger")

STORE_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error)


def operator_message(error: Exception) -> str | None:
    """One line saying what is wrong with the setup, or None for an error that is a bug."""
    env = os.environ
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS", Settings.kafka_bootstrap_servers)
    if isinstance(error, ConfigurationError):
        message = str(error)
    elif isinstance(error, PartnerLedgerError):
        message = error.detail
    elif isinstance(error, STORE_ERRORS):
        url = env.get("PARTNERLEDGER_DATABASE_URL", DEFAULT_DATABASE_URL)
        message = f"cannot use the database {redacted_url(url)}: {error}"
    elif isinstance(error, KafkaConnectionError | KafkaTimeoutError):
        message = f"no Kafka broker reachable at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)"
    elif isinstance(error, KafkaError):
        message = f"Kafka at {bootstrap}: {error}"
    elif isinstance(error, OSError):
        message = str(error)
    else:
        return None
    return " ".join(message.split())  # one line, whatever the driver's message looks like


class OperatorErrors(click.Group):
    """Every command: a setup problem (no broker, no database, a malformed setting) is one
    line on stderr and exit status 1, not a traceback (which `--log-level debug` adds)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = operator_message(error)
            if message is None:
                raise
            log.debug("%s", message, exc_info=True)
            raise click.ClickException(message) from None
