"""Families the application no longer reads or writes, kept so that operators can find and migrate them.

Each carries ``__deprecated__`` (what replaced it); the key guide shows it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict

from keyspace import HashModel, JsonModel, Masked, StringModel
from models.base import UserKeyed
from models.types import OkxUid, Side, Symbol, TelegramId, UserId


class TradingStatus(
    StringModel,
    key=("user:{okx_uid}:trading:status", "user:{telegram_id}:trading:status"),
    ttl=None,
):
    """Deprecated: the global trading status, replaced by SymbolStatus + ActiveSymbols (migration 0003).

    Removed from live code in the application's commit d0acc17; only operator
    scripts still read it (status_ids_settings §2).  Two templates: the OKX uid
    key and the Telegram id key; a save with both ids writes both.
    """

    __deprecated__ = "replaced by per-symbol SymbolStatus and ActiveSymbols (application commit d0acc17)"
    okx_uid: OkxUid | None = None
    telegram_id: TelegramId | None = None
    status: Literal["running", "stopped", "error"]


class UserSession(UserKeyed, JsonModel, key="user:{user_id}:session", ttl=timedelta(days=1)):
    """Deprecated: the 2025 guide's session data; sessions live in PostgreSQL now.

    Only ``user:{id}:symbol:{symbol}:session_id`` is cached (status_ids_settings §5.3)."""

    __deprecated__ = "sessions live in PostgreSQL; only user:{id}:symbol:{symbol}:session_id is cached"
    model_config = ConfigDict(extra="allow")
    user_id: UserId


class EntryPrice(UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:{side}:entry_price", ttl=None):
    """Deprecated: a per-side entry price; only a constant names it
    (``shared/constants/redis_pattern.py:10``)."""

    __deprecated__ = "never written by the application; the entry price is the Position hash's entry_price"
    user_id: UserId
    symbol: Symbol
    side: Side
    price: Decimal


class ScriptApiKeys(UserKeyed, HashModel, key="user:{user_id}:api_keys", ttl=None):
    """Deprecated: API keys written in plaintext by operator scripts only
    (``force_update_api_keys.py:52-56``)."""

    __deprecated__ = "written only by root operator scripts; the application reads user:{id}:api:keys"
    model_config = ConfigDict(extra="allow")
    user_id: UserId
    api_key: Masked[str] | None = None
    api_secret: Masked[str] | None = None
    passphrase: Masked[str] | None = None
