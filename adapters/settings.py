"""Configuration read from the environment, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_DATABASE_URL = "sqlite:///var/partnerledger.db"


class ConfigurationError(ValueError):
    """A setting that cannot be used as given."""


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads, with its default."""

    database_url: str = DEFAULT_DATABASE_URL
    port: int = 8080
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    inbound_topic: str = "partner.inbound"
    dlq_topic: str = "partner.inbound.dlq"
    events_topic: str = "partner.events"
    heads_topic: str = "partner.audit.heads"
    consumer_group: str = "partnerledger-ingest"
    topic_partitions: int = 6
    ingest_batch_size: int = 1000
    ingest_cache_size: int = 20_000
    kafka_max_poll_interval_ms: int = 300_000
    kafka_session_timeout_ms: int = 10_000
    min_position_timeout: float = 5.0
    follow_interval: float = 0.5
    audit_signing_key: str = ""
    audit_signing_key_file: str = ""
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `PARTNERLEDGER_*`, `PORT`, `KAFKA_BOOTSTRAP_SERVERS` and topic names."""
        env = os.environ if environ is None else environ
        try:
            return cls(
                database_url=env.get("PARTNERLEDGER_DATABASE_URL", DEFAULT_DATABASE_URL),
                port=int(env.get("PORT", "8080")),
                kafka_bootstrap_servers=bootstrap_servers(
                    env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")),
                inbound_topic=env.get("PARTNERLEDGER_INBOUND_TOPIC", "partner.inbound"),
                dlq_topic=env.get("PARTNERLEDGER_DLQ_TOPIC", "partner.inbound.dlq"),
                events_topic=env.get("PARTNERLEDGER_EVENTS_TOPIC", "partner.events"),
                heads_topic=env.get("PARTNERLEDGER_HEADS_TOPIC", "partner.audit.heads"),
                consumer_group=env.get("PARTNERLEDGER_CONSUMER_GROUP", "partnerledger-ingest"),
                topic_partitions=int(env.get("PARTNERLEDGER_TOPIC_PARTITIONS", "6")),
                ingest_batch_size=int(env.get("PARTNERLEDGER_INGEST_BATCH_SIZE", "1000")),
                ingest_cache_size=int(env.get("PARTNERLEDGER_INGEST_CACHE_SIZE", "20000")),
                kafka_max_poll_interval_ms=int(
                    env.get("PARTNERLEDGER_KAFKA_MAX_POLL_INTERVAL_MS", "300000")),
                kafka_session_timeout_ms=int(
                    env.get("PARTNERLEDGER_KAFKA_SESSION_TIMEOUT_MS", "10000")),
                min_position_timeout=float(env.get("PARTNERLEDGER_MIN_POSITION_TIMEOUT", "5")),
                follow_interval=float(env.get("PARTNERLEDGER_FOLLOW_INTERVAL", "0.5")),
                audit_signing_key=env.get("PARTNERLEDGER_AUDIT_SIGNING_KEY", ""),
                audit_signing_key_file=env.get("PARTNERLEDGER_AUDIT_SIGNING_KEY_FILE", ""),
            )
        except ValueError as error:
            raise ConfigurationError(f"Invalid setting: {error}") from error

    def eventsourcing_env(self) -> dict[str, str]:
        """The `eventsourcing` persistence settings that `database_url` stands for."""
        return {**store_env(self.database_url), **self.extra_env}


def bootstrap_servers(value: str) -> str:
    """`host:port[,host:port...]` as given, or ConfigurationError naming what is wrong."""
    servers = [server.strip() for server in value.split(",")]
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(
                f"KAFKA_BOOTSTRAP_SERVERS must be host:port[,host:port...], got {value!r}")
    return ",".join(servers)


def store_env(database_url: str) -> dict[str, str]:
    """Maps `sqlite:///path` or `postgresql://user:pw@host:port/db?schema=s` to library env."""
    url = urlsplit(database_url)
    if url.scheme == "sqlite":
        path = unquote(url.path)
        if url.netloc:
            raise ConfigurationError("Use sqlite:///relative/path.db or sqlite:////absolute/path.db")
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise ConfigurationError("The SQLite URL names no file.")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "adapters.recorders:SideWriteSQLiteRecorder",
        }
    if url.scheme in ("postgresql", "postgres"):
        query = parse_qs(url.query)
        try:
            port = url.port
        except ValueError as error:
            raise ConfigurationError(f"PARTNERLEDGER_DATABASE_URL: {error}") from error
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "adapters.recorders:SideWritePostgresRecorder",
        }
    raise ConfigurationError(
        "PARTNERLEDGER_DATABASE_URL must start with sqlite:/// or postgresql://, "
        f"got {database_url!r}"
    )


def redacted_url(database_url: str) -> str:
    """The URL without its password."""
    url = urlsplit(database_url)
    if url.password is None:
        return database_url
    netloc = url.netloc.replace(f":{url.password}@", ":***@")
    return url._replace(netloc=netloc).geturl()
