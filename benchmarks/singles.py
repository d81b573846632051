"""Sync single and bulk operations: keyspace vs hand-written redis-py doing the same validation.

Single operations compare time per operation (keyspace / hand-written: lower is
better); bulk operations compare throughput (keyspace / hand-written pipeline of
500 commands per round trip, keyspace's default chunk: higher is better), 10,000
records per side and round in interleaved calls of 2,000.
"""

from __future__ import annotations

import redis

from benchmarks.common import (
    Account,
    Figure,
    accounts,
    hand_decode,
    hand_get,
    hand_mapping,
    hand_save,
    paired,
    plain,
)
from keyspace import Mapper

BULK = 10_000  # records per side and round
BULK_BLOCK = 2000  # records per save_many/get_many call (interleaved blocks)
CHUNK = 500  # commands per round trip: keyspace's default chunk, and the hand-written pipeline's


def run(url: str, port: int, quick: bool) -> list[Figure]:
    block = 100  # operations per interleaved block
    blocks = 10 if quick else 20  # blocks per side and round
    rounds = 9 if quick else 21
    bulk_rounds = 9 if quick else 21
    r = redis.Redis(port=port)
    mapper = Mapper.from_url(url)
    objs = accounts(BULK)
    hand_objs = plain(objs)
    mapper.save_many(objs)  # the scripts are loaded, the keys exist
    turn = {"hand": 0, "ours": 0}  # each block works on the next 100 records

    def records(side: str) -> range:
        start = turn[side]
        turn[side] = (start + block) % BULK
        return range(start, start + block)

    def k_save() -> None:
        for i in records("ours"):
            mapper.save(objs[i])

    def h_save() -> None:
        for i in records("hand"):
            hand_save(r, hand_objs[i])

    def k_get() -> None:
        for i in records("ours"):
            mapper.get(Account, id=i)

    def h_get() -> None:
        for i in records("hand"):
            hand_get(r, i)

    bulk_turn = {"hand": 0, "ours": 0}

    def bulk(side: str) -> range:
        start = bulk_turn[side]
        bulk_turn[side] = (start + BULK_BLOCK) % BULK
        return range(start, start + BULK_BLOCK)

    def k_save_many() -> None:
        part = bulk("ours")
        mapper.save_many(objs[part.start : part.stop])

    def h_save_many() -> None:
        part = bulk("hand")
        for start in range(part.start, part.stop, CHUNK):
            pipe = r.pipeline(transaction=False)
            for a in hand_objs[start : start + CHUNK]:
                pipe.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))
            pipe.execute()

    keys = [{"id": i} for i in range(BULK)]

    def k_get_many() -> None:
        part = bulk("ours")
        mapper.get_many(Account, keys[part.start : part.stop])

    def h_get_many() -> None:
        part = bulk("hand")
        out = []
        for start in range(part.start, part.stop, CHUNK):
            ids = range(start, start + CHUNK)
            pipe = r.pipeline(transaction=False)
            for i in ids:
                pipe.hgetall(f"bench:account:{i}")
            for i, raw in zip(ids, pipe.execute(), strict=True):
                out.append(hand_decode(i, raw))

    figures = [
        Figure(
            "single_save_time_ratio",
            "single save time, keyspace / hand-written redis-py",
            paired(rounds, h_save, k_save, blocks=blocks),
            "<= 1.03",
            extra={"operations_per_round": block * blocks},
        ),
        Figure(
            "single_get_time_ratio",
            "single get time, keyspace / hand-written redis-py",
            paired(rounds, h_get, k_get, blocks=blocks),
            "<= 1.03",
            extra={"operations_per_round": block * blocks},
        ),
        Figure(
            "bulk_save_throughput_ratio",
            f"bulk save_many throughput, keyspace / hand-written pipeline ({CHUNK} per round trip)",
            paired(bulk_rounds, h_save_many, k_save_many, blocks=BULK // BULK_BLOCK, throughput=True),
            ">= 1.0",
        ),
        Figure(
            "bulk_get_throughput_ratio",
            f"bulk get_many throughput, keyspace / hand-written pipeline ({CHUNK} per round trip)",
            paired(bulk_rounds, h_get_many, k_get_many, blocks=BULK // BULK_BLOCK, throughput=True),
            ">= 1.0",
        ),
    ]
    mapper.close()
    r.close()
    return figures
