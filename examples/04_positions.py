"""Positions: the shared hash several writers fill, a partial save, and the DCA keys around it.

python examples/04_positions.py [--url …]

Writers disagree on spelling (``leverage`` is "10.0" or "10", a missing price is "None"),
so those fields are text; a save writes only the fields set on the instance, so the other
writers' fields and the TTL one of them set stay as they are.
"""

from __future__ import annotations

from _common import parse

from keyspace import Mapper
from models import DcaCount, DcaLevels, Position, PositionState

USER = "500000000000000201"
WHERE = dict(user_id=USER, symbol="BTC-USDT-SWAP", side="long")
KEY = f"user:{USER}:position:BTC-USDT-SWAP:long"


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        app = mapper.clients["app"]
        # what the exchange fetcher writes (HYPERRSI/src/trading/modules/okx_position_fetcher.py:321-347)
        app.hset(
            KEY,
            mapping={
                "symbol": "BTC/USDT:USDT",
                "size": "3.0",
                "entry_price": "64000.0",
                "leverage": "10.0",
                "dca_count": "None",
                "last_update_time": "1735689600",
            },
        )
        app.expire(
            KEY, 86400
        )  # the websocket writer's expiry (HYPERRSI/src/services/websocket_service.py:482)
        position = mapper.get(Position, **WHERE)
        print("read    :", position.size, position.leverage, position.dca_count, position.last_update_time)
        print("kept    :", position.unknown_fields)  # the hash's own ccxt symbol field

        # the TP/SL writer sets its fields only: nothing else changes, the TTL stays
        mapper.save(Position(**WHERE, sl_price="60800.0", tp_prices="65280.0,66560.0"))
        print("stored  :", {k.decode(): v.decode() for k, v in sorted(app.hgetall(KEY).items())})
        print("ttl     :", app.ttl(KEY))

        mapper.save(PositionState(user_id=USER, symbol="BTC-USDT-SWAP", state=1))  # 1 = long
        mapper.save(DcaLevels(**WHERE, levels=["62720.0", "61440.0"]))
        for _ in range(2):  # two DCA entries
            n = mapper.incr(DcaCount, **WHERE)
            print(f"DCA #{n}")
        assert mapper.get(DcaCount, **WHERE).count == 2
        print("positions:", [p.symbol for p in mapper.scan(Position, user_id=USER)])
        for model in (Position, DcaCount, DcaLevels):
            mapper.delete(model, **WHERE)
        mapper.delete(PositionState, user_id=USER, symbol="BTC-USDT-SWAP")


if __name__ == "__main__":
    main()
