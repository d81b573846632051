"""Trading status, readable by OKX uid or by Telegram id."""

from __future__ import annotations

from typing import Literal

from keyspace import StringModel
from models.types import OkxUid, TelegramId


class TradingStatus(
    StringModel,
    key=("user:{okx_uid}:trading:status", "user:{telegram_id}:trading:status"),
    ttl=None,
    server="app",
):
    """``running`` / ``stopped`` / ``error``.

    Two templates: the OKX uid key and the alternate Telegram id key.  Give
    either id to read; a save with both ids writes both keys in one atomic
    script call.  ``mapper.scan(TradingStatus, status="running")`` lists every
    running trader (a SCAN of both templates plus a GET per key: its cost is
    one read per status key, in batches; a trader stored under both ids is
    listed once per key).
    """

    okx_uid: OkxUid | None = None
    telegram_id: TelegramId | None = None
    status: Literal["running", "stopped", "error"]
