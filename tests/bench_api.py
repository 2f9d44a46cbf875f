"""API reads under open-loop load: gunicorn with 2 workers, a fixed request rate, p50/p99.

Latency is counted from each request's scheduled start, so a slow server is not hidden by a
client that waits for it (no coordinated omission). The baseline is /healthz, which touches
no database, measured the same way in the same run.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adapters.settings import Settings
from api.bootstrap import build_services
from domain import commands as c

RATE = int(os.environ.get("BENCH_API_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "10"))
CLIENT_THREADS = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(database_url: str, partners: int) -> list[str]:
    svc = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        ids = [uuid.uuid4() for _ in range(partners)]
        svc.app.execute_batch([
            c.ApplyPartner(None, pid, f"P{n}", f"p{n}@load.example", "Co", "agency", "US")
            for n, pid in enumerate(ids)
        ])
        svc.projections.catch_up()
        return [str(pid) for pid in ids]
    finally:
        svc.close()


@contextmanager
def server(database_url: str, folder: Path) -> Iterator[tuple[int, str]]:
    port = free_port()
    env = {**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url, "PORT": str(port)}
    keys = subprocess.run(
        [sys.executable, "-m", "api.cli", "--log-level", "WARNING", "keys", "create", "--role",
         "internal"], env=env, capture_output=True, text=True, check=True, cwd=folder)
    token = keys.stdout.strip().splitlines()[-1]
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--log-level", "WARNING", "serve", "--workers", "2",
         "--threads", "8"], env=env, cwd=folder, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port, token
    finally:
        process.terminate()
        process.wait(timeout=30)


def load(port: int, token: str, paths: list[str]) -> dict[str, float]:
    """Sends RATE requests/s for SECONDS; returns achieved rate, p50, p99 and errors."""
    total = int(RATE * SECONDS)
    start = time.monotonic() + 0.2
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_index = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}"}
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= total:
                return
            scheduled = start + index / RATE
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("GET", paths[index % len(paths)], headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            elapsed = time.monotonic() - scheduled
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - start
    latencies.sort()
    return {
        "rate": len(latencies) / duration,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors[0],
    }


def measure(kind: str, database_url: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        ids = seed(database_url, 1000)
        with server(database_url, Path(folder)) as (port, token):
            reads = [f"/partners/{pid}" for pid in ids[:200]] + ["/partners?limit=20"]
            load(port, token, ["/healthz"])  # warm both workers up
            baseline = load(port, token, ["/healthz"])
            measured = load(port, token, reads)
    return [{
        "store": kind,
        "figure": f"API reads at {RATE}/s, gunicorn 2 workers",
        "value": measured["p99_ms"],
        "unit": "ms p99",
        "baseline": baseline["p99_ms"],
        "detail": {"reads": measured, "healthz": baseline},
        "target": "p99 < 25 ms",
    }]


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/api.db"
    print(json.dumps(measure("adhoc", url), indent=2))
