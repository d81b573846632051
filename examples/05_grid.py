"""GRID: the per-exchange user hash ('1'/'0' booleans, plaintext secrets by policy), users and defaults.

python examples/05_grid.py [--url …]
"""

from __future__ import annotations

from _common import parse

from keyspace import Mapper
from models import GridDefaultSettings, GridUser, GridUserIds

USER = "500000000000000301"
KEY = f"okx:user:{USER}"


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        app = mapper.clients["app"]
        # what GRID's save_user writes, with its 30-day expiry (GRID/database/redis_database.py:918-945)
        app.hset(
            KEY,
            mapping={
                "api_key": "grid-key",
                "api_secret": "grid-secret",
                "password": "pw",
                "is_running": "0",
                "grid_num": "20",
                "running_symbols": '["BTC-USDT-SWAP"]',
            },
        )
        app.expire(KEY, 2592000)
        user = mapper.get(GridUser, exchange="okx", user_id=USER)
        print("read     :", user.is_running, user.grid_num, user.running_symbols, user.api_key)  # masked
        user.is_running = True  # only this field is written, as '1' (GRID's readers compare == '1')
        mapper.save(user)
        print("stored   :", app.hget(KEY, "is_running"), "ttl", app.ttl(KEY))  # the TTL is left as it was
        print("secret   :", app.hget(KEY, "api_key"))  # plaintext by policy: GRID's readers do not decrypt

        mapper.save(GridDefaultSettings(exchange="okx", grid_num="20", leverage="5"))  # free-form fields
        print("defaults :", mapper.get(GridDefaultSettings, exchange="okx").model_extra)
        mapper.add(GridUserIds, USER, "42", exchange="okx")
        print("grid users:", sorted(mapper.members(GridUserIds, exchange="okx")))
        for model in (GridDefaultSettings, GridUserIds):
            mapper.delete(model, exchange="okx")
        mapper.delete(GridUser, exchange="okx", user_id=USER)


if __name__ == "__main__":
    main()
