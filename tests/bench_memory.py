"""Peak memory for `make bench`: the ingest worker and a projection rebuild, each run as its
own `partnerledger` process over a store of some history and over one ten times larger.

The worker applies the same 3,000 payments either way, to partners whose accounts hold the
history (accruals and the monthly payouts that settled them, so their snapshots and
aggregates are the history's); the rebuild replays the whole ledger read model. Each process
reports its own peak resident set (VmHWM) as it exits; flat means the larger history costs
no more than noise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.inbox import Inbox
from api.kafka.messages import decode
from api.services import Services
from domain import commands as c
from tests.bench_kafka import program, wait_for
from tests.kafka_broker import Broker, kafka_settings, produce, settings_env

HISTORY = int(os.environ.get("BENCH_MEMORY_EVENTS", "15000"))
STREAM = 3000

# Runs the command line in this process and writes its peak RSS (kB) at exit: VmHWM, this
# process's own high-water mark (ru_maxrss would carry the spawning parent's over the exec).
PROBE = ("import atexit, sys\n"
         "out = sys.argv.pop(1)\n"
         "def peak():\n"
         "    for line in open('/proc/self/status'):\n"
         "        if line.startswith('VmHWM:'):\n"
         "            open(out, 'w').write(line.split()[1])\n"
         "atexit.register(peak)\n"
         "from api.cli.main import main\n"
         "sys.argv[0] = 'partnerledger'\n"
         "main()\n")


def peak_mb(args: list[str], env: dict[str, str],
            until: Callable[[subprocess.Popen[bytes]], None] | None = None) -> float:
    """Runs `partnerledger ARGS` in a probe; `until` (if given) stops it with SIGTERM once
    it returns. The process's peak RSS in MB."""
    out = Path(tempfile.mkstemp(suffix=".rss")[1])
    log = Path(tempfile.mkstemp(suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", PROBE, str(out), *args],
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            if until is not None:
                until(process)
                process.send_signal(signal.SIGTERM)
            if process.wait(600) != 0:
                raise RuntimeError(f"partnerledger {' '.join(args)} failed: "
                                   f"{log.read_text()[-2000:]}")
        finally:
            if process.poll() is None:
                process.kill()
    return int(out.read_text()) / 1024


def seed(svc: Services, events: int) -> list[Any]:
    """The bench program's partners, then payments of theirs until the store holds about
    `events` events, every partner paid out (and the payouts confirmed) after each 10,000
    payments as a program pays monthly; returns the stream of payments still to come."""
    setup, people, stream = program(200, events // 3 + STREAM)
    start_up = [decode(m.encode()).command for m in setup + people]
    svc.app.execute_batch(start_up)
    partners = tuple(cmd.partner_id for cmd in start_up if isinstance(cmd, c.ApprovePartner))
    history = [decode(m.encode()).command for m in stream[:-STREAM]]
    for start in range(0, len(history), 1000):
        batch = history[start:start + 1000]
        svc.app.execute_batch(batch)
        if start // 1000 % 10 == 9:
            when = batch[-1].occurred_at
            run = svc.app.execute(c.RunPayouts(when, uuid.uuid4(), when, partners)).aggregate
            svc.app.execute_batch([c.ConfirmPayout(when, payout, "wire")
                                   for payout in run.payout_ids])  # type: ignore[union-attr]
    svc.projections.catch_up()  # the live read models are current, as `projections run` keeps them
    return stream[-STREAM:]


def measure(kind: str, svc: Services, broker: Broker, events: int) -> tuple[float, float]:
    """(ingest worker's peak MB, ledger rebuild's peak MB) over a store of `events`."""
    settings = kafka_settings(svc.settings, broker)
    svc.settings, svc.inbox = settings, Inbox(svc.db, settings.consumer_group)
    stream = seed(svc, events)
    env = {**os.environ, **settings_env(settings)}

    def applied(_: subprocess.Popen[bytes]) -> None:
        produce(broker, settings.inbound_topic, stream)
        wait_for(svc, settings.inbound_topic, len(stream))
        time.sleep(0.5)  # settled: the peak is the work's, not the shutdown's

    worker = peak_mb(["ingest"], env, applied)
    rebuild = peak_mb(["projections", "rebuild", "ledger"], env)
    return worker, rebuild


def rows(kind: str, small: tuple[float, float], large: tuple[float, float]) -> list[dict[str, Any]]:
    """Four rows: each process at both sizes, the larger beside the smaller."""
    out = []
    for index, what in enumerate(("ingest worker, 3,000 payments", "ledger rebuild")):
        for size, figures, baseline in ((HISTORY, small, None), (HISTORY * 10, large, small)):
            out.append({"store": kind, "figure": f"peak RSS, {what}, store of {size:,} events",
                        "value": figures[index], "unit": "MB",
                        "baseline": None if baseline is None else baseline[index],
                        "target": "flat: within 10% or 10 MB of the 10x smaller"
                        if baseline is not None else None})
    return out
