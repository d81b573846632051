"""Quickstart: declare a model, save it, get it back, scan for it.

python examples/01_quickstart.py [--url redis://localhost:6379/0]
"""

from __future__ import annotations

from decimal import Decimal

from _common import parse

from keyspace import HashModel, Mapper
from models.types import Side, Symbol, UserId

UID = "500000000000000042"  # an OKX uid (18-19 digits); UserId also takes a Telegram id


class Watch(HashModel, key="example:user:{user_id}:watch:{symbol}:{side}", ttl=None):
    """A model of our own: its key template, Redis type (HASH) and TTL policy are declared once."""

    user_id: UserId
    symbol: Symbol
    side: Side
    alert_price: Decimal
    note: str | None = None


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        watch = Watch(user_id=UID, symbol="BTC-USDT-SWAP", side="long", alert_price=Decimal("70000"))
        mapper.save(watch)
        print("saved", watch.redis_key)  # the key is generated: example:user:500000000000000042:watch:…

        got = mapper.get(Watch, user_id=UID, symbol="BTC-USDT-SWAP", side="long")
        print("got  ", got)
        assert got == watch

        mapper.update(Watch, user_id=UID, symbol="BTC-USDT-SWAP", side="long", note="breakout")
        mapper.save(Watch(user_id=UID, symbol="ETH-USDT-SWAP", side="short", alert_price=Decimal("2500")))
        for item in mapper.scan(
            Watch, user_id=UID
        ):  # SCAN with MATCH example:user:500000000000000042:watch:*:*
            print("scan ", item.symbol, item.side, item.alert_price, item.note)
        print("count", mapper.count(Watch))
        assert mapper.get(Watch, user_id="500000000000000007", symbol="BTC-USDT-SWAP", side="long") is None
        for symbol, side in (("BTC-USDT-SWAP", "long"), ("ETH-USDT-SWAP", "short")):
            mapper.delete(Watch, user_id=UID, symbol=symbol, side=side)


if __name__ == "__main__":
    main()
