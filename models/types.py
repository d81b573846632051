"""Typed key fields shared by every TradingBoost model.

Each type follows the application's own id and name rules, and is strict
enough that no two templates can claim the same key (the registry refuses
overlapping templates when a model is declared):

* an OKX uid is 18-19 digits and a Telegram id 9-15 digits
  (``shared/utils/uid_validator.py:27-32``), neither with a leading zero (the
  exchange and Telegram hand out integers); the resolver maps only ids of at
  most 11 digits through ``user:{telegram_id}:okx_uid``
  (``shared/helpers/user_id_resolver.py:21``, ``:224``), so a 12-15-digit
  Telegram id is valid here but is never resolved by the application;
* a ``Side`` is only ``long`` or ``short``, which keeps ``…:{symbol}:{side}``
  apart from ``…:{symbol}:position_state`` and the other literal suffixes;
* an exchange is one of the nine names GRID uses as a key prefix
  (``GRID/database/redis_database.py:673-685``), so it is never ``user``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

OkxUid = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{17,18}$"), Field(description="OKX uid")]
"""An OKX account id: 18-19 digits (``UIDValidator``), e.g. ``500000000000000001``."""

TelegramId = Annotated[
    str, StringConstraints(pattern=r"^[1-9][0-9]{8,14}$"), Field(description="Telegram id")
]
"""A Telegram user id: 9-15 digits (``UIDValidator``)."""

UserId = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9](?:[0-9]{8,14}|[0-9]{17,18})$"),
    Field(description="OKX uid or Telegram id"),
]
"""The id a ``user:{user_id}:…`` key holds: an OKX uid or, where the application did not
resolve one, a Telegram id (``shared/helpers/user_id_resolver.py:224-233`` keeps the
input when no mapping exists).  16-17 digits and leading zeros are neither."""

IdKind = Literal["okx_uid", "telegram_id"]


def id_kind(user_id: str) -> IdKind:
    """Which kind of id ``user_id`` is, by the application's rules (OKX range first)."""
    return "okx_uid" if len(user_id) >= 18 else "telegram_id"


GridUserId = Annotated[
    str, StringConstraints(pattern=r"^(?:0|[1-9][0-9]{0,19})$"), Field(description="GRID user id")
]
"""GRID's user id: the request's integer as decimal text (``GRID/routes/feature_route.py:937``);
short ids and 18-19-digit OKX uids both occur (``GRID/dtos/feature.py:85-89``)."""

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,20}(-[A-Z0-9]{1,20}){0,3}$")]
"""An instrument as the key holds it: the OKX instId (``BTC-USDT-SWAP``) or the bot's
typed form (``BTCUSDT``).  ccxt's ``BTC/USDT:USDT`` contains the separator and cannot
be a key segment."""

Side = Literal["long", "short"]

PosSide = Literal["long", "short", "net"]
"""OKX's ``posSide`` as the websocket monitor keys it (``HYPERRSI/websocket/position_monitor.py:743-744``)."""

Timeframe = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2}[mhHdDwWM]$")]
"""A candle timeframe: ``1m`` … ``30m``, ``1H``, ``4H`` (``HYPERRSI/src/bot/command/trading.py:548``)."""

Exchange = Literal[
    "binance", "binance_spot", "okx", "okx_spot", "bitget", "bitget_spot", "upbit", "bybit", "bybit_spot"
]
"""GRID's key prefixes (``GRID/database/redis_database.py:673-685``)."""

KeyStoreExchange = Literal["binance", "upbit", "bitget", "okx"]
"""The exchanges of GRID's shared key store (``GRID/services/api_key_service.py:99-147``)."""

TaskId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,155}$")]
"""A Celery task id (usually a UUID)."""

PresetId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")]
"""A preset id: the first 8 characters of a uuid4 (``HYPERRSI/src/core/models/preset.py:26-28``)."""

SignalToken = Annotated[str, StringConstraints(min_length=1, max_length=256)]
"""An OKX signal-bot token, kept as the application writes it (free text).  The key
template refuses what a key segment can never hold (``:``, glob characters, braces,
whitespace), so a token can neither split a key nor turn a SCAN into a wildcard."""

OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
"""An exchange order or algo-order id (OKX: decimal digits)."""

IdentifierKind = Literal["user_id", "telegram_id", "okx_uid"]
