"""Trading status by OKX uid or Telegram id, and every running trader (SCAN, never KEYS).

python examples/03_trading_status.py [--url …]
"""

from __future__ import annotations

from _common import parse

from keyspace import Mapper
from models import TradingStatus


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        # both ids: both keys are written (one atomic call on a single server)
        mapper.save(TradingStatus(okx_uid="500000000000000101", telegram_id="700101", status="running"))
        mapper.save(TradingStatus(okx_uid="500000000000000102", status="stopped"))
        mapper.save(TradingStatus(okx_uid="500000000000000103", status="running"))
        print("by telegram id:", mapper.get(TradingStatus, telegram_id="700101"))
        running = list(mapper.scan(TradingStatus, status="running"))  # replaces KEYS user:*:trading:status
        for status in running:
            print("running:", status.okx_uid or f"telegram {status.telegram_id}")
        assert len(running) == 3  # 2 traders, one of them under both ids
        mapper.save(TradingStatus(okx_uid="500000000000000103", status="stopped"))
        print(
            "running now:",
            mapper.count(TradingStatus) and len(list(mapper.scan(TradingStatus, status="running"))),
        )
        for uid in ("500000000000000101", "500000000000000102", "500000000000000103"):
            mapper.delete(TradingStatus, okx_uid=uid)
        mapper.delete(TradingStatus, telegram_id="700101")


if __name__ == "__main__":
    main()
