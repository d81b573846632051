"""asyncio: keyspace's AsyncMapper vs hand-written redis.asyncio, 100 concurrent tasks.

Both sides get the same pool size (100 connections; keyspace's default is
REDIS_MAX_CONNECTIONS=50) and run the same batches of 100 tasks under
``asyncio.gather``; a round times one pass of each, their order alternating.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

from benchmarks.common import Account, Figure, PlainAccount, accounts, hand_decode, hand_mapping, plain

TASKS = 100
RECORDS = 1000


def run(url: str, port: int, quick: bool) -> list[Figure]:
    return asyncio.run(_run(url, port, quick))


async def _run(url: str, port: int, quick: bool) -> list[Figure]:
    from keyspace import AsyncMapper
    from keyspace.io.links import LinkOptions

    blocks = 20 if quick else 40  # batches of 100 tasks per side and round
    rounds = 9 if quick else 21
    mapper = AsyncMapper.from_url(url, link_options=LinkOptions(max_connections=TASKS))
    client = redis.asyncio.Redis(port=port, max_connections=TASKS)
    objs = accounts(RECORDS)
    hand_objs = plain(objs)
    await mapper.save_many(objs)

    async def hand_get(i: int) -> PlainAccount:
        raw = await client.hgetall(f"bench:account:{i % RECORDS}")
        return hand_decode(i % RECORDS, raw)

    async def ours_get(i: int) -> Any:
        return await mapper.get(Account, id=i % RECORDS)

    async def hand_save(i: int) -> None:
        a = hand_objs[i % RECORDS]
        await client.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))

    async def ours_save(i: int) -> None:
        await mapper.save(objs[i % RECORDS])

    turn = {"hand": 0, "ours": 0}

    async def batch(side: str, fn: Callable[[int], Awaitable[Any]]) -> float:
        start = turn[side]
        turn[side] = (start + TASKS) % RECORDS
        began = time.perf_counter()
        await asyncio.gather(*(fn(i) for i in range(start, start + TASKS)))
        return time.perf_counter() - began

    async def paired(hand: Any, ours: Any) -> list[float]:
        await batch("hand", hand)
        await batch("ours", ours)
        ratios = []
        for r in range(rounds):
            gc.collect()
            b = c = 0.0
            for j in range(blocks):  # one batch of 100 tasks per block, interleaved
                if (r + j) % 2:
                    c += await batch("ours", ours)
                    b += await batch("hand", hand)
                else:
                    b += await batch("hand", hand)
                    c += await batch("ours", ours)
            ratios.append(c / b)
        return ratios

    figures = [
        Figure(
            "async_get_100_tasks_time_ratio",
            "asyncio get, 100 concurrent tasks, keyspace / hand-written redis.asyncio (time)",
            await paired(hand_get, ours_get),
            "<= 1.03",
            extra={"operations_per_round": TASKS * blocks},
        ),
        Figure(
            "async_save_100_tasks_time_ratio",
            "asyncio save, 100 concurrent tasks, keyspace / hand-written redis.asyncio (time)",
            await paired(hand_save, ours_save),
            "<= 1.03",
            extra={"operations_per_round": TASKS * blocks},
        ),
    ]
    await mapper.aclose()
    await client.aclose()
    return figures
