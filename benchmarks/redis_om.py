"""keyspace vs redis-om's HashModel on the same four unencrypted fields.

redis-om is optional (``pip install -e '.[bench]'``); without it these figures
are left out and the report says so.  Figures are speed-ups (redis-om time /
keyspace time: higher is better); redis-om has no bulk read, so its users loop
over ``get``.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.common import Account, Figure, accounts, paired
from keyspace import Mapper


def _saves(mapper: Mapper, objs: list[Account], which: range) -> None:
    for i in which:
        mapper.save(objs[i])


def available() -> bool:
    try:
        import redis_om  # noqa: F401
    except ImportError:
        return False
    return True


def run(url: str, quick: bool) -> list[Figure]:
    os.environ["REDIS_OM_URL"] = url
    from redis_om import HashModel as OmHashModel
    from redis_om import get_redis_connection

    n = 2000 if quick else 10_000  # records of the bulk figures
    block = 100  # single operations per interleaved block
    blocks = 5 if quick else 10
    rounds = 5 if quick else 9
    db = get_redis_connection(url=url)

    class OmAccount(OmHashModel, index=True):  # type: ignore[call-arg]
        name: str
        balance: float
        leverage: int
        active: int

        class Meta:
            database = db

    mapper = Mapper.from_url(url)
    ours = accounts(n)
    theirs = [
        OmAccount(pk=str(i), name=f"user-{i}", balance=1234.56, leverage=10, active=1) for i in range(n)
    ]
    keys = [{"id": i} for i in range(n)]
    om_get: Any = OmAccount.get
    OmAccount.add(theirs)
    mapper.save_many(ours)
    turn = {"theirs": 0, "ours": 0}

    def records(side: str) -> range:
        start = turn[side]
        turn[side] = (start + block) % n
        return range(start, start + block)

    def label(what: str) -> str:
        return f"{what}: redis-om time / keyspace time (speed-up)"

    figures = [
        Figure(
            "vs_redis_om_save_speedup",
            label("save"),
            paired(
                rounds,
                lambda: [theirs[i].save() for i in records("theirs")],
                lambda: _saves(mapper, ours, records("ours")),
                blocks=blocks,
                throughput=True,
            ),
            "> 1",
        ),
        Figure(
            "vs_redis_om_get_speedup",
            label("get"),
            paired(
                rounds,
                lambda: [om_get(str(i)) for i in records("theirs")],
                lambda: [mapper.get(Account, id=i) for i in records("ours")],
                blocks=blocks,
                throughput=True,
            ),
            "> 1",
        ),
        Figure(
            "vs_redis_om_bulk_save_speedup",
            label("bulk save"),
            paired(rounds, lambda: OmAccount.add(theirs), lambda: mapper.save_many(ours), throughput=True),
            "> 1",
        ),
        Figure(
            "vs_redis_om_bulk_get_speedup",
            label("bulk get (redis-om: a loop of get)"),
            paired(
                rounds,
                lambda: [om_get(str(i)) for i in range(n)],
                lambda: mapper.get_many(Account, keys),
                throughput=True,
            ),
            "> 1",
        ),
    ]
    mapper.close()
    return figures
