"""The hostile-input run (`python -m tests.hostile`) against `partnerledger serve --demo`, as
`make run` starts it: gunicorn, the demo program, the demo tokens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.demo import tokens_file
from tests.e2e.helpers import free_port
from tests.hostile import Run, demo_tokens


@pytest.fixture
def demo_server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`partnerledger serve --demo` on a free port, in a directory of its own."""
    port = free_port()
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url, "PORT": str(port)}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--demo", "--workers", "2"],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path.cwd())}, stdout=log,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.2)
        yield url, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.mark.slow
def test_a_hostile_run_leaves_the_service_ready_current_and_paying_nothing_early(
    demo_server: tuple[str, Path], database_url: str,
) -> None:
    url, directory = demo_server
    internal, partner = demo_tokens(directory / tokens_file(database_url))
    run = Run(url, internal, partner)
    assert run.all(), [what for ok, what in run.results if not ok]
    assert len(run.results) > 20
    server_log = (directory / "server.log").read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
