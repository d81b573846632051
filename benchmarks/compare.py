"""keyspace vs redis.asyncio with 100 concurrent tasks, and vs redis-om's HashModel.

redis-om is optional (``pip install redis-om``); without it those figures are
left out and the table says so.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import redis.asyncio


def run_async(url: str, port: int, quick: bool) -> dict[str, Any]:
    from benchmarks.common import Account, PlainAccount, hand_decode
    from keyspace import AsyncMapper

    total = 5000 if quick else 20000
    concurrency = 100

    async def go() -> dict[str, Any]:
        from keyspace.io.links import LinkOptions

        # the same pool size on both sides (keyspace's default is REDIS_MAX_CONNECTIONS=50)
        mapper = AsyncMapper.from_url(url, link_options=LinkOptions(max_connections=concurrency))
        client = redis.asyncio.Redis(port=port, max_connections=concurrency)
        await mapper.save_many(
            [
                Account(id=i, name=f"u{i}", balance=Decimal("1.5"), leverage=3, active=True)
                for i in range(1000)
            ]
        )

        async def hand(i: int) -> PlainAccount:
            raw = await client.hgetall(f"bench:account:{i % 1000}")
            return hand_decode(i % 1000, raw)

        async def ours(i: int) -> Any:
            return await mapper.get(Account, id=i % 1000)

        async def timed(fn: Any) -> float:
            best = float("inf")
            for _ in range(3 if quick else 5):
                start = time.perf_counter()
                for chunk in range(0, total, concurrency):
                    await asyncio.gather(*(fn(i) for i in range(chunk, chunk + concurrency)))
                best = min(best, time.perf_counter() - start)
            return best

        b = c = float("inf")
        for _ in range(2 if quick else 3):  # alternate, so drift on the machine hits both alike
            b = min(b, await timed(hand))
            c = min(c, await timed(ours))
        await mapper.aclose()
        await client.aclose()
        return {"async_get_100_tasks_time_ratio": round(c / b, 3)}

    return asyncio.run(go())


def run_redis_om(url: str, quick: bool) -> dict[str, Any]:
    try:
        import os

        os.environ["REDIS_OM_URL"] = url
        from redis_om import HashModel as OmHashModel
        from redis_om import get_redis_connection
    except ImportError:
        return {"redis_om": "not installed (pip install redis-om)"}
    from benchmarks.common import Account, paired
    from keyspace import Mapper

    n = 2000 if quick else 10000
    db = get_redis_connection(url=url)

    class OmAccount(OmHashModel, index=True):  # the same unencrypted 4-field model
        name: str
        balance: float
        leverage: int
        active: int

        class Meta:
            database = db

    mapper = Mapper.from_url(url)
    ours = [
        Account(id=i, name=f"user-{i}", balance=Decimal("1234.56"), leverage=10, active=True)
        for i in range(n)
    ]
    theirs = [
        OmAccount(pk=str(i), name=f"user-{i}", balance=1234.56, leverage=10, active=1) for i in range(n)
    ]
    rounds = 3
    results: dict[str, Any] = {}
    b, c = paired(rounds, lambda: [o.save() for o in theirs], lambda: [mapper.save(a) for a in ours])
    results["vs_redis_om_save_speedup"] = round(b / c, 2)
    b, c = paired(
        rounds,
        lambda: [OmAccount.get(str(i)) for i in range(n)],
        lambda: [mapper.get(Account, id=i) for i in range(n)],
    )
    results["vs_redis_om_get_speedup"] = round(b / c, 2)
    b, c = paired(rounds, lambda: OmAccount.add(theirs), lambda: mapper.save_many(ours))
    results["vs_redis_om_bulk_save_speedup"] = round(b / c, 2)
    keys = [{"id": i} for i in range(n)]
    b, c = paired(
        rounds, lambda: [OmAccount.get(str(i)) for i in range(n)], lambda: mapper.get_many(Account, keys)
    )  # redis-om has no bulk read: its users loop over get()
    results["vs_redis_om_bulk_get_speedup"] = round(b / c, 2)
    mapper.close()
    return results
