"""Where the time goes: one workload under cProfile, keyspace and the hand-written baseline.

    python -m benchmarks.profile get            # also: save, get_many, save_many, async_get, async_save
    python -m benchmarks.profile get --top 25 --side keyspace

Prints the top functions by own time for each side (a profile inflates every Python
call, so read it for proportions, not for speed; ``python -m benchmarks`` measures).
For sampling without that distortion, ``py-spy record -o out.svg -- python -m
benchmarks.profile get --side keyspace`` (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio

from benchmarks.common import Account, accounts, hand_decode, hand_get, hand_mapping, hand_save, plain

N = 5000
BULK = 10_000


def workloads(url: str, port: int) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    from keyspace import AsyncMapper, Mapper
    from keyspace.io.links import LinkOptions

    r = redis.Redis(port=port)
    mapper = Mapper.from_url(url)
    objs = accounts(BULK)
    hand_objs = plain(objs)
    mapper.save_many(objs)
    keys = [{"id": i} for i in range(BULK)]

    def h_get_many() -> None:
        for start in range(0, BULK, 500):
            ids = range(start, start + 500)
            pipe = r.pipeline(transaction=False)
            for i in ids:
                pipe.hgetall(f"bench:account:{i}")
            for i, raw in zip(ids, pipe.execute(), strict=True):
                hand_decode(i, raw)

    def h_save_many() -> None:
        for start in range(0, BULK, 500):
            pipe = r.pipeline(transaction=False)
            for a in hand_objs[start : start + 500]:
                pipe.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))
            pipe.execute()

    def in_asyncio(kind: str, side: str) -> Callable[[], Any]:
        async def go() -> None:
            amapper = AsyncMapper.from_url(url, link_options=LinkOptions(max_connections=100))
            client = redis.asyncio.Redis(port=port, max_connections=100)

            async def one(i: int) -> None:
                if side == "hand" and kind == "get":
                    hand_decode(i, await client.hgetall(f"bench:account:{i}"))
                elif side == "hand":
                    a = hand_objs[i]
                    await client.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))
                elif kind == "get":
                    await amapper.get(Account, id=i)
                else:
                    await amapper.save(objs[i])

            for chunk in range(0, N, 100):
                await asyncio.gather(*(one(i) for i in range(chunk, chunk + 100)))
            await amapper.aclose()
            await client.aclose()

        return lambda: asyncio.run(go())

    return {
        "get": (
            lambda: [hand_get(r, i) for i in range(N)],
            lambda: [mapper.get(Account, id=i) for i in range(N)],
        ),
        "save": (
            lambda: _each(hand_objs[:N], lambda a: hand_save(r, a)),
            lambda: _each(objs[:N], mapper.save),
        ),
        "get_many": (h_get_many, lambda: mapper.get_many(Account, keys)),
        "save_many": (h_save_many, lambda: mapper.save_many(objs)),
        "async_get": (in_asyncio("get", "hand"), in_asyncio("get", "keyspace")),
        "async_save": (in_asyncio("save", "hand"), in_asyncio("save", "keyspace")),
    }


def _each(items: Any, fn: Callable[[Any], None]) -> None:
    for item in items:
        fn(item)


def profile(fn: Callable[[], Any], top: int) -> str:
    fn()  # warm
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "workload", choices=["get", "save", "get_many", "save_many", "async_get", "async_save"]
    )
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--side", choices=["both", "hand", "keyspace"], default="both")
    args = parser.parse_args()
    from keyspace.testing.server import running_server

    with running_server() as server:
        hand, ours = workloads(server.url, server.port)[args.workload]
        for side, fn in (("hand-written", hand), ("keyspace", ours)):
            if args.side in ("both", side.split("-")[0]):
                print(f"=== {args.workload}: {side} ===")
                print(profile(fn, args.top))


if __name__ == "__main__":
    main()
