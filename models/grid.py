"""The GRID strategy's keys, one family per exchange prefix (grid.md).

Secrets in GRID hashes are plaintext by policy: every GRID reader hands them
to the exchange as stored (``GRID/database/redis_database.py:1103-1139``), so
they are ``Masked`` (masked in memory, never encrypted).  Booleans are
``'1'``/``'0'`` — what the strict ``== '1'`` and ``int()`` readers need
(``GRID/database/redis_database.py:751``, ``GRID/core/websocket.py:92``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict

from keyspace import BoolText, HashModel, JsonModel, Masked, NoneText, SetModel
from models.types import Exchange, GridUserId

Flag = Annotated[bool, BoolText(true="1", false="0")]
"""``'1'``/``'0'``; ``'true'``/``'false'``
(``GRID/services/user_management_service.py:121-122``) is read too."""

GRID_TTL = timedelta(days=30)  # RedisTTL.USER_DATA (shared/database/redis_patterns.py:47)


class GridUser(HashModel, key="{exchange}:user:{user_id}", ttl="keep", json_style="python"):
    """GRID's user record (HASH); id: GRID user id; secrets: plaintext by policy; TTL keep.

    TTL keep, not a fixed 30 days: ``save_user`` and the other ``redis_database``
    helpers refresh a 30-day expiry (``GRID/database/redis_database.py:940-945``), but
    most hot-path writers only HSET (``GRID/jobs/task_manager.py:86-91``,
    ``GRID/routes/feature_route.py:1570-1572``, …) and leave it as it is, and a hash
    they create has none.  A keyspace save is neither kind of writer: it leaves the
    expiry the application gave the key.
    """

    exchange: Exchange
    user_id: GridUserId
    api_key: Masked[str] | None = None
    api_secret: Masked[str] | None = None
    password: Masked[str] | None = None
    initial_capital: list[float] | None = None  # JSON list, one per grid level
    direction: str | None = None  # long / short / long-short
    numbers_to_entry: str | None = None
    leverage: Annotated[int | None, NoneText("None")] = None
    stop_loss: str | None = None  # str(float), '0' or 'None'
    grid_num: int | None = None
    is_running: Flag | None = None
    is_stopped: Flag | None = None
    stop_task_only: Flag | None = None
    tasks: list[str] | None = None
    running_symbols: list[str] | None = None
    completed_trading_symbols: list[str] | None = None
    completed_symbols: list[str] | None = None
    tasks_symbol: list[str] | None = None
    tasks_testing: list[str] | None = None
    symbols: dict[str, Any] | list[Any] | None = None
    telegram_id: str | None = None
    last_updated_time: datetime | None = None  # ISO 8601, Asia/Seoul offset
    last_started: datetime | None = None
    last_stopped: datetime | None = None


class GridUserKey(HashModel, key="{exchange}:user:{user_id}:key", ttl=GRID_TTL, json_style="python"):
    """A copy of ``save_user``'s mapping; id: GRID user id; secrets: plaintext by policy; TTL 30d.

    The TTL is set by its only writer (``GRID/database/redis_database.py:918-945``); the application
    never reads the key."""

    model_config = ConfigDict(extra="allow")
    exchange: Exchange
    user_id: GridUserId
    api_key: Masked[str] | None = None
    api_secret: Masked[str] | None = None
    password: Masked[str] | None = None


class GridUserIds(SetModel, key="{exchange}:user_ids", ttl=GRID_TTL):
    """GRID user ids per exchange; TTL 30d (``GRID/database/redis_database.py:96-97``, ``:131-133``)."""

    exchange: Exchange
    user_ids: set[str] = set()


class GridDefaultSettings(HashModel, key="{exchange}:default_settings", ttl=GRID_TTL):
    """Default grid parameters; TTL 30d (``GRID/database/redis_database.py:76-93``)."""

    model_config = ConfigDict(extra="allow")
    exchange: Exchange


class GridJob(HashModel, key="{exchange}:job:{user_id}", ttl=GRID_TTL):
    """The user's grid job ``{job_id, status, start_time}``; TTL 30d, refreshed by every writer
    (``GRID/database/redis_database.py:539-607``)."""

    model_config = ConfigDict(extra="allow")
    exchange: Exchange
    user_id: GridUserId


class GridRequestBody(JsonModel, key="{exchange}:request_body:{user_id}", ttl="keep", json_style="python"):
    """The last ``/feature/start`` body as JSON; id: GRID user id; secrets: plaintext; TTL keep.

    EX 1440000 on start, none after an automatic restart (``GRID/routes/feature_route.py:940-941``,
    ``:524-525``): writers disagree, so a save leaves the TTL as it is."""

    model_config = ConfigDict(extra="allow")
    exchange: Exchange
    user_id: GridUserId
    # the exchange credentials inside the body, in plaintext by policy (its readers restart bots with them:
    # GRID/routes/feature_route.py:481-498): masked everywhere and counted by stats/doctor
    api_key: Masked[str] | None = None
    api_secret: Masked[str] | None = None
    password: Masked[str] | None = None
