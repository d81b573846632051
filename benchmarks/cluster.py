"""Bulk get_many / save_many on a real 3-primary cluster vs a hand-written redis-py cluster pipeline.

Throughput ratios (higher is better).  Before issue 16 this machine measured
1.54 (save) and 1.39 (get); the targets hold keyspace to no slower than that.
"""

from __future__ import annotations

import redis

from benchmarks.common import Account, Figure, accounts, hand_decode, hand_mapping, paired, plain

N = 10_000
CHUNK = 500


def run(quick: bool) -> list[Figure]:
    from keyspace import Mapper
    from keyspace.testing.server import running_cluster

    rounds = 5 if quick else 9
    with running_cluster() as cluster:
        rc = redis.RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port)
        mapper = Mapper.from_url(cluster.url, cluster=True)
        objs = accounts(N)
        hand_objs = plain(objs)
        mapper.save_many(objs)

        def hand_save() -> None:
            for start in range(0, N, CHUNK):
                pipe = rc.pipeline(transaction=False)
                for a in hand_objs[start : start + CHUNK]:
                    pipe.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))
                pipe.execute()

        def hand_get() -> None:
            for start in range(0, N, CHUNK):
                pipe = rc.pipeline(transaction=False)
                ids = range(start, min(start + CHUNK, N))
                for i in ids:
                    pipe.hgetall(f"bench:account:{i}")
                for i, raw in zip(ids, pipe.execute(), strict=True):
                    hand_decode(i, raw)

        keys = [{"id": i} for i in range(N)]
        figures = [
            Figure(
                "cluster_bulk_save_throughput_ratio",
                f"cluster (3 primaries) bulk save_many ({N:,}), keyspace / hand-written RedisCluster pipe",
                paired(rounds, hand_save, lambda: mapper.save_many(objs), throughput=True),
                ">= 1.5",
                note="1.54 before issue 16",
            ),
            Figure(
                "cluster_bulk_get_throughput_ratio",
                f"cluster (3 primaries) bulk get_many ({N:,}), keyspace / hand-written RedisCluster pipeline",
                paired(rounds, hand_get, lambda: mapper.get_many(Account, keys), throughput=True),
                ">= 1.4",
                note="1.39 before issue 16",
            ),
        ]
        mapper.close()
        rc.close()
    return figures
