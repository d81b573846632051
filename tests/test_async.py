"""AsyncMapper: the same programs driven by the asyncio driver, on both backends."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from keyspace import AsyncMapper, BulkReadError, NotFound, ScanError, WrongType
from tests.models_for_tests import TCounter, TIds, TPosition, TQueue, TSecrets, TSession, TStatus

KEY = dict(user_id=1, symbol="BTC-USDT-SWAP", side="long")


async def test_round_trip_and_every_kind(amapper: AsyncMapper) -> None:
    p = TPosition(**KEY, size=Decimal("2"))
    await amapper.save(p)
    assert await amapper.get(TPosition, **KEY) == p
    assert await amapper.exists(TPosition, **KEY)
    await amapper.update(TPosition, **KEY, size="3")
    assert (await amapper.get_or_raise(TPosition, **KEY)).size == Decimal("3")
    await amapper.save(TSession(user_id=1, token="t"))
    assert 0 < await amapper.ttl(TSession, user_id=1) <= 86400
    assert await amapper.incr(TCounter, by=2, user_id=1) == 2
    assert await amapper.add(TIds, 1, 2, exchange="okx") == 2
    assert await amapper.members(TIds, exchange="okx") == {1, 2}
    assert await amapper.push(TQueue, "a", "b", name="q") == 2
    assert await amapper.range(TQueue, name="q") == ["a", "b"]
    await amapper.save(TSecrets(uid=1, api_key="a", api_secret="b", passphrase="c"))
    assert (await amapper.get(TSecrets, uid=1)).api_secret.get_secret_value() == "b"
    assert await amapper.delete(TPosition, **KEY)
    with pytest.raises(NotFound):
        await amapper.get_or_raise(TPosition, **KEY)


async def test_bulk_scan_and_errors(amapper: AsyncMapper) -> None:
    await amapper.save_many([TPosition(**dict(KEY, user_id=i), size=Decimal(i)) for i in range(1, 701)])
    got = await amapper.get_many(TPosition, [dict(KEY, user_id=i) for i in range(1, 702)])
    assert [g.user_id for g in got[:-1]] == list(range(1, 701)) and got[-1] is None
    assert await amapper.count(TPosition) == 700
    seen = [p.user_id async for p in amapper.scan(TPosition, count=50)]
    assert sorted(seen) == list(range(1, 701))
    raw = amapper.clients["app"]
    await raw.hset("t:user:5:position:BTC-USDT-SWAP:long", "size", "not-a-number")
    with pytest.raises(BulkReadError) as info:
        await amapper.get_many(TPosition, [dict(KEY, user_id=i) for i in (4, 5, 6)])
    assert info.value.results[0] is not None and info.value.results[1] is None
    good = []
    with pytest.raises(ScanError):
        async for p in amapper.scan(TPosition):
            good.append(p)
    assert len(good) == 699
    await raw.set("t:user:9:status", "x")
    await raw.delete("t:user:9:status")
    await raw.hset("t:user:9:status", "a", "b")
    with pytest.raises(WrongType):
        await amapper.get(TStatus, user_id=9)


async def test_concurrent_callers_each_get_their_own_reply(amapper: AsyncMapper) -> None:
    await amapper.save_many([TPosition(**dict(KEY, user_id=i), size=Decimal(i)) for i in range(100)])
    results = await asyncio.gather(*(amapper.get(TPosition, **dict(KEY, user_id=i)) for i in range(100)))
    assert [r.size for r in results] == [Decimal(i) for i in range(100)]
