"""Service code on asyncio: AsyncMapper, concurrent reads, and redis_context() for raw commands.

python examples/06_async_service.py [--url …]
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from _common import parse

from keyspace import AsyncMapper, redis_context
from models import Position, SymbolStatus


async def main(url: str) -> None:
    async with AsyncMapper.from_url(url) as mapper:  # in the application: AsyncMapper.from_env()
        users = [f"5000000000000004{i:02d}" for i in range(20)]
        await mapper.save_many(
            [SymbolStatus(user_id=u, symbol="BTC-USDT-SWAP", status="running") for u in users]
        )
        await mapper.save_many(
            [
                Position(user_id=u, symbol="BTC-USDT-SWAP", side="long", size=str(i))
                for i, u in enumerate(users)
            ]
        )
        # 20 concurrent requests share the pool; each gets its own reply
        statuses = await asyncio.gather(
            *(mapper.get(SymbolStatus, user_id=u, symbol="BTC-USDT-SWAP") for u in users)
        )
        print("running:", sum(s.status == "running" for s in statuses))
        positions = await mapper.get_many(
            Position, [dict(user_id=u, symbol="BTC-USDT-SWAP", side="long") for u in users]
        )
        print("total size:", sum(Decimal(p.size) for p in positions))  # sizes are kept as written
        live = [s.user_id async for s in mapper.scan(SymbolStatus, status="running")]
        print("scan found", len(live), "running traders")
        # raw commands with the same breaker and time budgets; the connection always goes back
        async with redis_context(mapper.links["app"]) as redis:
            await redis.set("example:heartbeat", "ok", ex=60)
            print("heartbeat:", await redis.get("example:heartbeat"))
            await redis.delete("example:heartbeat")
        for u in users:
            await mapper.delete(SymbolStatus, user_id=u, symbol="BTC-USDT-SWAP")
            await mapper.delete(Position, user_id=u, symbol="BTC-USDT-SWAP", side="long")


if __name__ == "__main__":
    asyncio.run(main(parse(__doc__ or "").url))
