"""What docs/perf/ profiles run: `python -m tests.profile_targets ingest|commands sqlite|postgres`.

`ingest` is the Kafka bench at 8,000 payment.received (BENCH_KAFKA_MESSAGES to change it);
`commands` the batched command path, 20,000 applications after the library's own save.
PostgreSQL needs PARTNERLEDGER_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import os
import sys

from tests import bench, bench_kafka


def main(target: str, kind: str) -> None:
    with bench.store(kind) as svc:
        baseline = bench.library_baseline(svc, 40_000)
        if target == "ingest":
            row = bench_kafka.measure(kind, svc, baseline)[0]
            print(f"{row['value']:,.0f} messages/s, {row['events_per_second']:,.0f} events/s")
        else:
            print(f"{bench.batched_commands(svc, 20_000, 1000):,.0f} events/s "
                  f"(save {baseline:,.0f})")


if __name__ == "__main__":
    os.environ.setdefault("BENCH_KAFKA_MESSAGES", "8000")
    main(sys.argv[1], sys.argv[2])
