"""keyspace vs hand-written redis-py, same server, same process, same run.

    python -m benchmarks            # full run (starts its own redis-server)
    python -m benchmarks --quick    # a short run

Every figure is a ratio against a baseline measured in the same run; the last
line printed is one JSON object with all of them.  Single operations compare
times (keyspace / hand-written: lower is better, target <= 1.15); bulk
operations compare throughput (keyspace / hand-written: higher is better,
target >= 0.8).  Each measurement is the best of several rounds, alternating
baseline and candidate so that drift on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import tracemalloc
from decimal import Decimal

import redis
from cryptography.fernet import Fernet

from benchmarks.common import (
    Account,
    PlainAccount,
    hand_decode,
    hand_get,
    hand_mapping,
    hand_save,
    paired,
)
from keyspace import Keyring, Mapper
from keyspace.testing.server import running_server


def run(quick: bool, with_migration: bool = True, with_cluster: bool = True) -> dict[str, object]:
    singles = 2000 if quick else 10000
    bulk = 10000
    rounds = 3 if quick else 5
    results: dict[str, object] = {}
    with running_server() as server:
        r = redis.Redis(port=server.port)
        mapper = Mapper.from_url(server.url)
        accounts = [
            Account(id=i, name=f"user-{i}", balance=Decimal("1234.56"), leverage=10, active=True)
            for i in range(bulk)
        ]
        plain = [PlainAccount(**a.model_dump()) for a in accounts]
        mapper.save(accounts[0])  # load the scripts once

        def k_save() -> None:
            for a in accounts[:singles]:
                mapper.save(a)

        def h_save() -> None:
            for a in plain[:singles]:
                hand_save(r, a)

        def k_get() -> None:
            for i in range(singles):
                mapper.get(Account, id=i)

        def h_get() -> None:
            for i in range(singles):
                hand_get(r, i)

        b, c = paired(rounds, h_save, k_save)
        results["single_save_time_ratio"] = round(c / b, 3)
        b, c = paired(rounds, h_get, k_get)
        results["single_get_time_ratio"] = round(c / b, 3)

        def k_save_many() -> None:
            mapper.save_many(accounts)

        def h_save_many() -> None:
            pipe = r.pipeline(transaction=False)
            for n, a in enumerate(plain, 1):
                pipe.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))
                if n % 500 == 0:
                    pipe.execute()
            pipe.execute()

        keys = [{"id": i} for i in range(bulk)]

        def k_get_many() -> None:
            mapper.get_many(Account, keys)

        def h_get_many() -> None:
            out = []
            for start in range(0, bulk, 500):
                pipe = r.pipeline(transaction=False)
                for i in range(start, min(start + 500, bulk)):
                    pipe.hgetall(f"bench:account:{i}")
                for i, raw in zip(range(start, start + 500), pipe.execute(), strict=False):
                    out.append(hand_decode(i, raw))

        b, c = paired(rounds, h_save_many, k_save_many)
        results["bulk_save_throughput_ratio"] = round(b / c, 3)
        b, c = paired(rounds, h_get_many, k_get_many)
        results["bulk_get_throughput_ratio"] = round(b / c, 3)

        # encryption: keyspace's per-field cost vs a bare Fernet call on the same data
        key = Fernet.generate_key()
        fernet = Fernet(key)
        keyring = Keyring(key.decode())
        data = [f"{i:032x}".encode() for i in range(singles)]
        tokens = [fernet.encrypt(d) for d in data]
        b, c = paired(rounds, lambda: [fernet.encrypt(d) for d in data], lambda: keyring.encrypt_many(data))
        results["encrypt_time_ratio"] = round(c / b, 3)
        b, c = paired(
            rounds, lambda: [fernet.decrypt(t) for t in tokens], lambda: keyring.classify_many(tokens)
        )
        results["decrypt_time_ratio"] = round(c / b, 3)

        # scan memory: peak while streaming N instances, N = small and 10 x small
        small = 20000 if quick else 100_000
        large = small * (3 if quick else 10)
        r.flushall()
        pipe = r.pipeline(transaction=False)
        for i in range(large):
            pipe.hset(
                f"bench:account:{i}", mapping={"name": "n", "balance": "1", "leverage": "1", "active": "true"}
            )
            if i % 5000 == 4999:
                pipe.execute()
        pipe.execute()

        def peak_scan(limit: int) -> int:
            gc.collect()
            tracemalloc.start()
            for n, _ in enumerate(mapper.scan(Account, dedupe=False), 1):
                if n >= limit:
                    break
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return peak

        p_small, p_large = peak_scan(small), peak_scan(large)
        results["scan_peak_memory_ratio"] = round(p_large / p_small, 3)
        results["scan_peak_memory_kib"] = {str(small): p_small // 1024, str(large): p_large // 1024}
        mapper.close()
        r.close()
        from benchmarks import compare

        results.update(compare.run_async(server.url, server.port, quick))
        r2 = redis.Redis(port=server.port)
        r2.flushall()
        results.update(compare.run_redis_om(server.url, quick))
        r2.flushall()
        r2.close()
        if with_migration:
            from benchmarks import migration

            results.update(migration.run(server.url, server.port, quick))
    if with_cluster:
        from benchmarks import cluster

        results.update(cluster.run(quick, rounds))
    results["machine"] = (
        f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--no-migration", action="store_true", help="skip the migration benchmark")
    parser.add_argument("--no-cluster", action="store_true", help="skip the cluster benchmark")
    args = parser.parse_args()
    results = run(args.quick, not args.no_migration, not args.no_cluster)
    targets = {
        "single_save_time_ratio": "<= 1.15",
        "single_get_time_ratio": "<= 1.15",
        "bulk_save_throughput_ratio": ">= 0.8",
        "bulk_get_throughput_ratio": ">= 0.8",
        "encrypt_time_ratio": "<= 1.2",
        "decrypt_time_ratio": "<= 1.2",
        "scan_peak_memory_ratio": "~1 (flat)",
        "async_get_100_tasks_time_ratio": "<= 1.15",
        "vs_redis_om_save_speedup": "> 1",
        "vs_redis_om_get_speedup": "> 1",
        "vs_redis_om_bulk_save_speedup": "> 1",
        "vs_redis_om_bulk_get_speedup": "> 1",
        "migration_vs_raw_throughput_ratio": ">= 0.7",
        "migration_vs_naive_speedup": ">= 5",
        "migration_peak_memory_ratio": "<= 1.2",
        "cluster_bulk_save_throughput_ratio": ">= 0.8",
        "cluster_bulk_get_throughput_ratio": ">= 0.8",
    }
    print(f"{'measure':36} {'value':>10}  target")
    for name, target in targets.items():
        if name not in results:
            continue
        print(f"{name:36} {results[name]!s:>10}  {target}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
