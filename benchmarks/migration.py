"""The legacy-secret migration vs a raw SCAN + pipeline script and vs a naive KEYS loop.

All three encrypt the same freshly seeded plaintext UserApiKeys hashes on the
same server in the same run.  Memory is the peak Python heap (tracemalloc) of
a child process while it runs the keyspace migration at N and at 10 x N keys.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import redis

from keyspace.core.crypto import Keyring, generate_key

FIELDS = ("api_key", "api_secret", "passphrase")


def seed_plain(r: redis.Redis, n: int) -> None:
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(
            f"user:{500_000_000_000_000_000 + i}:api:keys",
            mapping={"api_key": f"key-{i:08d}", "api_secret": f"SECRET{i:026d}", "passphrase": f"pass-{i}"},
        )
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def run_keyspace(url: str, key: str) -> float:
    import models  # noqa: F401
    from keyspace import Mapper
    from keyspace.ops.migrate import Runner

    mapper = Mapper.from_url(url, keyring=Keyring(key))
    started = time.perf_counter()
    reports = Runner(mapper, batch=1000).up(to="0001")
    elapsed = time.perf_counter() - started
    assert reports["tradingboost/0001"].ok, reports["tradingboost/0001"].as_dict()
    mapper.close()
    return elapsed


def run_raw(r: redis.Redis, keyring: Keyring) -> float:
    """What a careful one-off script does: SCAN, pipelined reads, encrypt, pipelined HSET (no CAS)."""
    started = time.perf_counter()
    cursor = 0
    while True:
        cursor, keys = r.scan(cursor, match="user:*:api:keys", count=1000)
        if keys:
            pipe = r.pipeline(transaction=False)
            for k in keys:
                pipe.hgetall(k)
            values = pipe.execute()
            pipe = r.pipeline(transaction=False)
            for k, stored in zip(keys, values, strict=True):
                new = {f: keyring.encrypt(v) for f, v in stored.items() if not v.startswith(b"gAAAAA")}
                if new:
                    pipe.hset(k, mapping=new)
            pipe.execute()
        if cursor == 0:
            return time.perf_counter() - started


def run_naive(r: redis.Redis, keyring: Keyring) -> float:
    """The guide's way: KEYS, then a round trip per read and per write."""
    started = time.perf_counter()
    for k in r.keys("user:*:api:keys"):
        stored = r.hgetall(k)
        new = {f: keyring.encrypt(v) for f, v in stored.items() if not v.startswith(b"gAAAAA")}
        if new:
            r.hset(k, mapping=new)
    return time.perf_counter() - started


def child_peak_memory(url: str, key: str) -> int:
    """Peak Python heap (KiB, tracemalloc) of a fresh child process while it runs the migration.

    Measured from just before the run (imports excluded), so it shows what
    the migration itself holds; a child keeps the runs independent.
    """
    code = (
        "import json, tracemalloc, models, keyspace.ops.migrate; "
        "from benchmarks.migration import run_keyspace; "
        "tracemalloc.start(); "
        f"run_keyspace({url!r}, {key!r}); "
        "print(json.dumps({'peak': tracemalloc.get_traced_memory()[1]}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak"]) // 1024


def run(url: str, port: int, quick: bool) -> dict[str, Any]:
    r = redis.Redis(port=port)
    n = 10_000 if quick else 100_000
    key = generate_key()
    keyring = Keyring(key)
    results: dict[str, Any] = {}
    seed_plain(r, n)
    t_keyspace = run_keyspace(url, key)
    seed_plain(r, n)
    t_raw = run_raw(r, keyring)
    seed_plain(r, n)
    t_naive = run_naive(r, keyring)
    results["migration_keys"] = n
    results["migration_vs_raw_throughput_ratio"] = round(t_raw / t_keyspace, 3)
    results["migration_vs_naive_speedup"] = round(t_naive / t_keyspace, 2)
    results["migration_keys_per_second"] = round(n / t_keyspace)
    small, large = (10_000, 50_000) if quick else (100_000, 1_000_000)
    seed_plain(r, small)
    peak_small = child_peak_memory(url, key)
    seed_plain(r, large)
    peak_large = child_peak_memory(url, key)
    r.flushall()
    results["migration_peak_memory_ratio"] = round(peak_large / peak_small, 3)
    results["migration_peak_memory_kib"] = {str(small): peak_small, str(large): peak_large}
    return results
