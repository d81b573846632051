"""Positions, their state, DCA counters and entry prices."""

from __future__ import annotations

from decimal import Decimal

from keyspace import CounterModel, HashModel, StringModel
from models.types import Side, Symbol, UserId


class Position(HashModel, key="user:{user_id}:position:{symbol}:{side}", ttl=None, server="app"):
    """An open position; fields the model does not declare are kept and written back."""

    user_id: UserId
    symbol: Symbol
    side: Side
    size: Decimal | None = None
    entry_price: Decimal | None = None
    leverage: int | None = None
    tp_price: Decimal | None = None
    sl_price: Decimal | None = None


class PositionState(StringModel, key="user:{user_id}:position:{symbol}:position_state", ttl=None):
    user_id: UserId
    symbol: Symbol
    state: str


class DcaCount(CounterModel, key="user:{user_id}:position:{symbol}:{side}:dca_count", ttl=None):
    user_id: UserId
    symbol: Symbol
    side: Side
    count: int = 0


class EntryPrice(StringModel, key="user:{user_id}:position:{symbol}:{side}:entry_price", ttl=None):
    user_id: UserId
    symbol: Symbol
    side: Side
    price: Decimal
