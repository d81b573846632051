"""Bulk get_many / save_many on a real 3-primary cluster vs a hand-written redis-py cluster pipeline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import redis


def run(quick: bool, rounds: int) -> dict[str, Any]:
    from benchmarks.common import Account, PlainAccount, hand_decode, hand_mapping, paired
    from keyspace import Mapper
    from keyspace.testing.server import running_cluster

    n = 10_000
    with running_cluster() as cluster:
        rc = redis.RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port)
        mapper = Mapper.from_url(cluster.url, cluster=True)
        accounts = [
            Account(id=i, name=f"user-{i}", balance=Decimal("1234.56"), leverage=10, active=True)
            for i in range(n)
        ]
        plain = [PlainAccount(**a.model_dump()) for a in accounts]
        mapper.save(accounts[0])

        def hand_save() -> None:
            for start in range(0, n, 500):
                pipe = rc.pipeline(transaction=False)
                for a in plain[start : start + 500]:
                    pipe.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))
                pipe.execute()

        def hand_get() -> None:
            for start in range(0, n, 500):
                pipe = rc.pipeline(transaction=False)
                ids = range(start, min(start + 500, n))
                for i in ids:
                    pipe.hgetall(f"bench:account:{i}")
                for i, raw in zip(ids, pipe.execute(), strict=True):
                    hand_decode(i, raw)

        keys = [{"id": i} for i in range(n)]
        b, c = paired(rounds, hand_save, lambda: mapper.save_many(accounts))
        save_ratio = round(b / c, 3)
        b, c = paired(rounds, hand_get, lambda: mapper.get_many(Account, keys))
        get_ratio = round(b / c, 3)
        mapper.close()
        rc.close()
    return {"cluster_bulk_save_throughput_ratio": save_ratio, "cluster_bulk_get_throughput_ratio": get_ratio}
