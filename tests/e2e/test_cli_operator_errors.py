"""A setup problem is one line on stderr and a non-zero exit, for every kind of command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import free_port


def run(env: dict[str, str], *args: str, level: str = "INFO") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "--log-level", level, *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=90, check=False)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line on stderr of a command that failed."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def store(tmp_path: Path) -> dict[str, str]:
    return {"PARTNERLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/pl.db"}


@pytest.mark.parametrize("args", [("ingest", "status"), ("ingest",),
                                  ("send", "partner.applied", '{"id": "3f0c2d9e-6b1b-4c56-9a39-'
                                   '0d5d5a1c1b11", "name": "N", "email": "n@n.example", '
                                   '"company": "C", "type": "referral", "country": "US"}')])
def test_no_broker_reachable(store: dict[str, str], args: tuple[str, ...]) -> None:
    address = f"127.0.0.1:{free_port()}"
    line = one_line(run({**store, "KAFKA_BOOTSTRAP_SERVERS": address}, *args))
    assert line == f"Error: no Kafka broker reachable at {address} (KAFKA_BOOTSTRAP_SERVERS)"


@pytest.mark.parametrize("value", ["localhost", "host:port", "a:9092,", "h:70000"])
def test_a_malformed_bootstrap_setting(store: dict[str, str], value: str) -> None:
    line = one_line(run({**store, "KAFKA_BOOTSTRAP_SERVERS": value}, "ingest", "status"))
    assert line == ("Error: Invalid setting: KAFKA_BOOTSTRAP_SERVERS must be "
                    f"host:port[,host:port...], got {value!r}")


@pytest.mark.parametrize(("url", "says"), [
    ("mysql://db/x", "must start with sqlite:/// or postgresql://"),
    ("sqlite:///", "The SQLite URL names no file."),
    ("postgresql://u@127.0.0.1:port/x", "Port could not be cast to integer"),
])
@pytest.mark.parametrize("args", [("dead-letters",), ("ingest", "status"), ("keys", "revoke", "k"),
                                  ("projections", "status")])
def test_a_malformed_database_url(url: str, says: str, args: tuple[str, ...]) -> None:
    line = one_line(run({"PARTNERLEDGER_DATABASE_URL": url}, *args))
    assert line.startswith("Error: ") and says in line


def test_an_unreachable_database_names_it_without_its_password() -> None:
    url = f"postgresql://ops:s3cret@127.0.0.1:{free_port()}/ledger"
    for args in (("dead-letters",), ("ingest", "reset-offsets", "--partition", "0", "--to",
                                     "earliest", "--reason", "r"), ("demo",)):
        line = one_line(run({"PARTNERLEDGER_DATABASE_URL": url}, *args))
        assert line.startswith("Error: cannot use the database postgresql://ops:***@127.0.0.1:")
        assert "s3cret" not in line
        assert "Connection refused" in line


def test_a_database_path_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = one_line(run({"PARTNERLEDGER_DATABASE_URL": f"sqlite:///{blocker}/sub/pl.db"},
                        "dead-letters"))
    assert line.startswith("Error: ") and str(blocker) in line


def test_debug_keeps_the_traceback(store: dict[str, str]) -> None:
    result = run({**store, "KAFKA_BOOTSTRAP_SERVERS": "h:x"}, "ingest", "status", level="debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: Invalid setting")
