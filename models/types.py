"""Typed key fields shared by every TradingBoost model.

Each type is strict enough that no two templates can claim the same key: an
OkxUid (15-20 digits) is never a TelegramId (5-14 digits), an ExchangeName is
never the literal ``user``, a Side is only ``long`` or ``short`` (which keeps
``…:{symbol}:{side}`` apart from ``…:{symbol}:position_state``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

_RESERVED_EXCHANGE_NAMES = {"user", "celery", "keyspace"}


def _not_reserved(value: str) -> str:
    if value in _RESERVED_EXCHANGE_NAMES:
        raise ValueError(f"{value!r} is reserved and cannot be an exchange name")
    return value


OkxUid = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{14,19}$")]
"""An OKX user id: 15-20 digits, e.g. ``500000000000000001``."""

TelegramId = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{4,13}$")]
"""A Telegram user id: 5-14 digits."""

UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
"""The application's user id (an OKX uid or a Telegram id, as the application stored it)."""

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,20}(-[A-Z0-9]{1,20}){0,3}$")]
"""An instrument, e.g. ``BTC-USDT-SWAP`` or ``ETHUSDT``."""

Side = Literal["long", "short"]

ExchangeName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$"), AfterValidator(_not_reserved)
]
"""An exchange, e.g. ``okx``, ``binance``, ``upbit``, ``okx_spot``."""

TaskId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,155}$")]
"""A Celery task id (usually a UUID)."""

DataName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
"""The last segment of a grid per-user data key."""
