"""Grid strategy: default settings per exchange and the set of grid users.

python examples/05_grid.py [--url …]
"""

from __future__ import annotations

from _common import parse

from keyspace import Mapper
from models import GridDefaultSettings, GridUserData, GridUserIds


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper:
        mapper.save(GridDefaultSettings(exchange_name="okx", grid_num="20", leverage="5"))  # free-form fields
        print("okx defaults:", mapper.get(GridDefaultSettings, exchange_name="okx").model_extra)
        mapper.add(GridUserIds, "500000000000000301", "500000000000000302", exchange_name="okx")
        print("grid users  :", sorted(mapper.members(GridUserIds, exchange_name="okx")))
        print("is member   :", mapper.contains(GridUserIds, "500000000000000301", exchange_name="okx"))
        mapper.remove(GridUserIds, "500000000000000302", exchange_name="okx")
        # per-user grid data comes in any Redis type; keyspace reads it (writes go through your own models)
        mapper.clients["app"].hset("okx:user:500000000000000301:levels", mapping={"1": "63000", "2": "64000"})
        data = mapper.get(GridUserData, exchange_name="okx", user_id="500000000000000301", name="levels")
        print("grid data   :", data.redis_type, data.value)
        mapper.delete(GridDefaultSettings, exchange_name="okx")
        mapper.delete(GridUserIds, exchange_name="okx")
        mapper.clients["app"].delete("okx:user:500000000000000301:levels")


if __name__ == "__main__":
    main()
