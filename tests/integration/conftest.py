"""Fixtures of the Kafka tests: topics and a group of their own on the session's broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.settings import Settings
from api.bootstrap import build_services
from api.services import Services
from tests.kafka_broker import Broker, kafka_settings


@pytest.fixture
def settings(database_url: str, broker: Broker) -> Settings:
    """Settings on a fresh store, with new topics and a new consumer group."""
    return kafka_settings(Settings(database_url=database_url), broker)


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    """Services built from those settings."""
    services = build_services(settings)
    yield services
    services.close()
