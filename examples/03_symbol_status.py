"""Per-symbol trading state: start and stop a symbol the way the application does, list what runs.

python examples/03_symbol_status.py [--url …]

Since the application's commit d0acc17 a user trades several symbols; the beat scheduler
starts a cycle for every member of ``user:{id}:active_symbols`` that has a timeframe.  The
global ``user:{id}:trading:status`` (model ``TradingStatus``) is deprecated; migration 0003
moves it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from _common import parse

from keyspace import Mapper
from models import ActiveSymbols, SymbolStartedAt, SymbolStatus, SymbolTimeframe

UID = "500000000000000101"


def start(mapper: Mapper, user_id: str, symbol: str, timeframe: str) -> None:
    """What ``MultiSymbolService.add_symbol`` writes
    (HYPERRSI/src/services/multi_symbol_service.py:158-172)."""
    keys = {"user_id": user_id, "symbol": symbol}
    mapper.save(SymbolTimeframe(**keys, timeframe=timeframe))
    mapper.save(SymbolStatus(**keys, status="running"))
    mapper.save(SymbolStartedAt(**keys, started_at=datetime.now(UTC)))  # stored as str(epoch float)
    mapper.add(ActiveSymbols, symbol, user_id=user_id)  # last: what the scheduler reads


def stop(mapper: Mapper, user_id: str, symbol: str) -> None:
    """What ``remove_symbol`` does: leave the set, delete the per-symbol keys."""
    mapper.remove(ActiveSymbols, symbol, user_id=user_id)
    for model in (SymbolStatus, SymbolTimeframe, SymbolStartedAt):
        mapper.delete(model, user_id=user_id, symbol=symbol)


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        start(mapper, UID, "BTC-USDT-SWAP", "1m")
        start(mapper, UID, "ETH-USDT-SWAP", "1H")
        print("active  :", sorted(mapper.members(ActiveSymbols, user_id=UID)))
        raw = mapper.clients["app"].get(f"user:{UID}:symbol:BTC-USDT-SWAP:started_at")
        print(
            "started :",
            raw,
            "->",
            mapper.get(SymbolStartedAt, user_id=UID, symbol="BTC-USDT-SWAP").started_at,
        )
        running = list(mapper.scan(SymbolStatus, status="running"))  # replaces KEYS user:*:symbol:*:status
        print("running :", [(s.user_id, s.symbol) for s in running])
        assert len(running) == 2
        stop(mapper, UID, "ETH-USDT-SWAP")
        print("after stop:", [s.symbol for s in mapper.scan(SymbolStatus, user_id=UID)])
        stop(mapper, UID, "BTC-USDT-SWAP")
        assert mapper.members(ActiveSymbols, user_id=UID) == set()


if __name__ == "__main__":
    main()
