"""Positions with a DCA counter and an entry price.

python examples/04_positions.py [--url …]
"""

from __future__ import annotations

from decimal import Decimal

from _common import parse

from keyspace import Mapper
from models import DcaCount, EntryPrice, Position, PositionState

USER = "500000000000000201"
WHERE = dict(user_id=USER, symbol="BTC-USDT-SWAP", side="long")


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        mapper.save(Position(**WHERE, size=Decimal("0.5"), entry_price=Decimal("64000"), leverage=10))
        mapper.save(PositionState(user_id=USER, symbol="BTC-USDT-SWAP", state="open"))
        mapper.save(EntryPrice(**WHERE, price=Decimal("64000")))
        for price in (Decimal("63000"), Decimal("62000")):  # two DCA buys
            n = mapper.incr(DcaCount, **WHERE)
            mapper.update(Position, **WHERE, size=Decimal("0.5") * (n + 1))
            mapper.save(EntryPrice(**WHERE, price=(Decimal("64000") + price) / 2))
            print(f"DCA #{n}: size {mapper.get(Position, **WHERE).size}")
        print("entry price:", mapper.get(EntryPrice, **WHERE).price)
        print("dca count  :", mapper.get(DcaCount, **WHERE).count)
        print("positions  :", [p.symbol for p in mapper.scan(Position, user_id=USER)])
        assert mapper.get(DcaCount, **WHERE).count == 2
        for model in (Position, DcaCount, EntryPrice):
            mapper.delete(model, **WHERE)
        mapper.delete(PositionState, user_id=USER, symbol="BTC-USDT-SWAP")


if __name__ == "__main__":
    main()
