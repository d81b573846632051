"""Scan memory: the peak Python heap while streaming N instances, at N and at 10 x N (flat: ~1).

tracemalloc's peak from the start of the scan, so only what the scan holds is
counted (one SCAN batch at a time; the keys already seen, with dedupe, are
switched off here so that the figure shows the batches alone).
"""

from __future__ import annotations

import gc
import tracemalloc

import redis

from benchmarks.common import Account, Figure
from keyspace import Mapper


def seed(r: redis.Redis, n: int) -> None:
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(
            f"bench:account:{i}", mapping={"name": "n", "balance": "1", "leverage": "1", "active": "true"}
        )
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def run(url: str, port: int, quick: bool) -> list[Figure]:
    small = 20_000 if quick else 100_000
    large = small * (3 if quick else 10)
    r = redis.Redis(port=port)
    seed(r, large)
    mapper = Mapper.from_url(url)

    def peak(limit: int) -> int:
        gc.collect()
        tracemalloc.start()
        for n, _ in enumerate(mapper.scan(Account, dedupe=False), 1):
            if n >= limit:
                break
        found = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return found

    peaks = [(peak(small), peak(large)) for _ in range(2)]
    mapper.close()
    r.flushall()
    r.close()
    return [
        Figure(
            "scan_peak_memory_ratio",
            f"scan peak Python heap, {large:,} / {small:,} instances streamed",
            [b / a for a, b in peaks],
            "flat (<= 1.2)",
            extra={"peak_kib": {str(small): peaks[-1][0] // 1024, str(large): peaks[-1][1] // 1024}},
        )
    ]
