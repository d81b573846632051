"""Migration 0001 vs a raw SCAN + pipeline script and vs a naive KEYS loop, same server, same run.

    python -m benchmarks.migration            # 100k keys; memory at 100k and 1M keys
    python -m benchmarks.migration --quick    # 20k keys; memory at 20k and 100k keys

All three bring the same freshly seeded plaintext API-key hashes (the Telegram
bot's shape: three secrets plus ``uid`` and ``last_update_time``) into the
application's stored form, ``enc_v1:`` + Fernet token.  keyspace does more per
key than either baseline — the lease, a checkpoint per batch, a compare-and-set
script that keeps the TTL, the stored-form classification and, before every
write, the read-equivalence check (one decryption of every value it writes) —
and must still keep >= 0.75x the raw script's throughput and >= 5x the naive
loop's.  The baselines use ``cryptography``'s Fernet, as a hand-written script
would.  Rounds alternate (keyspace, raw, naive) so that drift on the machine
hits all three; each figure is the best round.  Memory is the peak Python heap
(tracemalloc) of a child process while it runs the keyspace migration, at N
and at 10 x N keys: flat means it does not grow with the keyspace.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
from cryptography.fernet import Fernet

from benchmarks.common import Figure
from keyspace.core.crypto import Keyring, generate_key

ENVELOPE = b"enc_v1:"
SECRETS = (b"api_key", b"api_secret", b"passphrase")
ROOT = Path(__file__).resolve().parent.parent


def seed_plain(r: redis.Redis, n: int) -> None:
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        uid = 500_000_000_000_000_000 + i
        pipe.hset(
            f"user:{uid}:api:keys",
            mapping={
                "api_key": f"key-{i:08d}",
                "api_secret": f"SECRET{i:026d}",
                "passphrase": f"pass-{i}",
                "uid": str(uid),
                "last_update_time": str(1_735_000_000 + i),
            },
        )
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def check(r: redis.Redis, key: str, n: int) -> None:
    """Every secret is now ``enc_v1:`` + a token of the original plaintext (sampled)."""
    fernet = Fernet(key.encode())
    step = max(1, n // 200)
    for i in range(0, n, step):
        stored = r.hget(f"user:{500_000_000_000_000_000 + i}:api:keys", "api_secret")
        assert stored is not None and stored.startswith(ENVELOPE), stored
        assert fernet.decrypt(stored[len(ENVELOPE) :]) == f"SECRET{i:026d}".encode()


def run_keyspace(url: str, key: str, n: int | None = None) -> float:
    os.environ.setdefault("KEYSPACE_PROJECT", str(ROOT))  # the TradingBoost schema and its 0001
    from keyspace import Mapper
    from keyspace.ops.migrate import Runner

    mapper = Mapper.from_url(url, keyring=Keyring(key))
    started = time.perf_counter()
    reports = Runner(mapper, batch=1000).up(to="0001")
    elapsed = time.perf_counter() - started
    report = reports["tradingboost/0001"]
    assert report.ok and (n is None or report.changed == n), report.as_dict()
    mapper.close()
    return elapsed


def run_raw(r: redis.Redis, key: str) -> float:
    """What a careful one-off script does: SCAN, pipelined reads, encrypt, pipelined HSET (no CAS)."""
    fernet = Fernet(key.encode())
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
                new = {
                    f: ENVELOPE + fernet.encrypt(v)
                    for f, v in stored.items()
                    if f in SECRETS and not v.startswith(ENVELOPE)
                }
                if new:
                    pipe.hset(k, mapping=new)
            pipe.execute()
        if cursor == 0:
            return time.perf_counter() - started


def run_naive(r: redis.Redis, key: str) -> float:
    """The guide's way: KEYS, then a round trip per read and per write."""
    fernet = Fernet(key.encode())
    started = time.perf_counter()
    for k in r.keys("user:*:api:keys"):
        stored = r.hgetall(k)
        new = {f: ENVELOPE + fernet.encrypt(v) for f, v in stored.items() if f in SECRETS}
        if new:
            r.hset(k, mapping=new)
    return time.perf_counter() - started


def child_peak_memory(url: str, key: str) -> int:
    """Peak Python heap (KiB, tracemalloc) of a fresh child process while it runs the migration.

    Measured from just before the run (imports done first), so it shows what
    the migration itself holds; a child keeps the runs independent.
    """
    code = (
        "import json, tracemalloc, keyspace.ops.migrate; "
        "from benchmarks.migration import run_keyspace; "
        "tracemalloc.start(); "
        f"run_keyspace({url!r}, {key!r}); "
        "print(json.dumps({'peak': tracemalloc.get_traced_memory()[1]}))"
    )
    env = {**os.environ, "KEYSPACE_PROJECT": str(ROOT), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak"]) // 1024


def figures(url: str, port: int, quick: bool, rounds: int | None = None) -> list[Figure]:
    """The migration figures: per round, each of the three on freshly seeded keys, their order
    alternating (keyspace first, then the raw script first); then the memory of keyspace's run."""
    r = redis.Redis(port=port)
    n = 20_000 if quick else 100_000
    rounds = rounds or 3
    key = generate_key()
    runs: dict[str, Callable[[], float]] = {
        "keyspace": lambda: run_keyspace(url, key, n),
        "raw": lambda: run_raw(r, key),
        "naive": lambda: run_naive(r, key),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(rounds):
        for name in ("keyspace", "raw", "naive") if i % 2 == 0 else ("raw", "keyspace", "naive"):
            seed_plain(r, n)
            seconds[name].append(runs[name]())
            check(r, key, n)
    ks = seconds["keyspace"]
    median = {name: round(statistics.median(values), 3) for name, values in seconds.items()}
    small, large = (20_000, 100_000) if quick else (100_000, 1_000_000)
    seed_plain(r, small)
    peak_small = child_peak_memory(url, key)
    seed_plain(r, large)
    peak_large = child_peak_memory(url, key)
    r.flushall()
    r.close()
    return [
        Figure(
            "migration_vs_raw_throughput_ratio",
            f"legacy-secret migration of {n:,} hashes, keyspace / raw SCAN + pipeline script (throughput)",
            [raw / k for raw, k in zip(seconds["raw"], ks, strict=True)],
            ">= 0.9",
            extra={"keys": n, "keys_per_second": round(n / median["keyspace"]), "seconds": median},
        ),
        Figure(
            "migration_vs_naive_speedup",
            "the same, keyspace vs naive KEYS + per-key loop (speed-up)",
            [naive / k for naive, k in zip(seconds["naive"], ks, strict=True)],
            ">= 8",
        ),
        Figure(
            "migration_peak_memory_ratio",
            f"migration peak Python heap, {large:,} / {small:,} keys",
            [peak_large / peak_small],
            "flat (<= 1.2)",
            extra={"peak_kib": {str(small): peak_small, str(large): peak_large}},
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (median of)")
    args = parser.parse_args()
    from keyspace.testing.server import running_server

    with running_server() as server:
        found = figures(server.url, server.port, args.quick, args.rounds)
    for f in found:
        spread = f"{min(f.samples):.3f}-{max(f.samples):.3f}"
        print(f"{f.key:36} {f.median:8.3f}  ({spread})  {f.target}")
    print(json.dumps({f.key: f.as_dict() for f in found}))


if __name__ == "__main__":
    main()
