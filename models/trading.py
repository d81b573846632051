"""Per-symbol trading state (since the application's commit d0acc17) and the user-level task keys.

Every key of the per-symbol family is written without a TTL except
``…:task_running`` (``HYPERRSI/src/services/multi_symbol_service.py:158-184``,
``HYPERRSI/src/tasks/trading_tasks.py:425-434``).  Scheduling follows
``active_symbols`` plus ``…:timeframe``; ``…:status`` is rewritten to ``running``
by every cycle (``HYPERRSI/src/trading/execute_trading_logic.py:166-169``).
Ids: the resolved OKX uid, or the Telegram id when the application found no
mapping (``HYPERRSI/src/api/routes/trading.py:109-113``, ``:413``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict

from keyspace import EpochSeconds, HashModel, JsonModel, SetModel, StringModel
from models.base import UserKeyed
from models.types import Symbol, Timeframe, UserId

SymbolState = Literal["running", "stopped", "error", "restarting"]


class ActiveSymbols(UserKeyed, SetModel, key="user:{user_id}:active_symbols", ttl=None):
    """The symbols a user trades (what the beat scheduler reads); id: OKX uid or Telegram id; TTL none.

    ``HYPERRSI/src/tasks/trading_tasks.py:541-620``; the Telegram id where no mapping was found."""

    user_id: UserId
    symbols: set[str] = set()


class SymbolStatus(UserKeyed, StringModel, key="user:{user_id}:symbol:{symbol}:status", ttl=None):
    """``running`` / ``stopped`` / ``error`` / ``restarting``; id: OKX uid or Telegram id; TTL none.

    The start route's error path writes the Telegram-id key too
    (``HYPERRSI/src/api/routes/trading.py:413``)."""

    user_id: UserId
    symbol: Symbol
    status: SymbolState


class SymbolTimeframe(UserKeyed, StringModel, key="user:{user_id}:symbol:{symbol}:timeframe", ttl=None):
    """The symbol's candle timeframe (``HYPERRSI/src/services/multi_symbol_service.py:161-164``); TTL none."""

    user_id: UserId
    symbol: Symbol
    timeframe: str


class SymbolStartedAt(UserKeyed, StringModel, key="user:{user_id}:symbol:{symbol}:started_at", ttl=None):
    """Start time, stored as epoch seconds ``str(datetime.now().timestamp())``
    (``HYPERRSI/src/services/multi_symbol_service.py:169-172``); read as an aware UTC datetime."""

    user_id: UserId
    symbol: Symbol
    started_at: Annotated[datetime, EpochSeconds(float=True)]


class SymbolTaskId(UserKeyed, StringModel, key="user:{user_id}:symbol:{symbol}:task_id", ttl=None):
    """The Celery task id the symbol was started with
    (``HYPERRSI/src/services/multi_symbol_service.py:180-184``)."""

    user_id: UserId
    symbol: Symbol
    task_id: str


class SymbolPresetId(UserKeyed, StringModel, key="user:{user_id}:symbol:{symbol}:preset_id", ttl=None):
    """The preset a symbol trades with (``HYPERRSI/src/services/multi_symbol_service.py:174-178``)."""

    user_id: UserId
    symbol: Symbol
    preset_id: str


class SymbolSessionId(UserKeyed, StringModel, key="user:{user_id}:symbol:{symbol}:session_id", ttl=None):
    """The PostgreSQL session id, ``str(int)`` (``HYPERRSI/src/services/cache_sync_service.py:73-80``)."""

    user_id: UserId
    symbol: Symbol
    session_id: str


class SymbolTaskRunning(UserKeyed, HashModel, key="user:{user_id}:symbol:{symbol}:task_running", ttl=60):
    """A running cycle's marker ``{status, started_at}``; TTL 60 s, set by every write.

    DEL + HSET + EXPIRE 60 (``HYPERRSI/src/tasks/trading_tasks.py:425-434``, ``:1311``)."""

    user_id: UserId
    symbol: Symbol
    status: str
    started_at: str


class SymbolDualSide(UserKeyed, HashModel, key="user:{user_id}:symbol:{symbol}:dual_side", ttl=None):
    """Per-symbol override of the dual-side settings; every field kept as text.

    Booleans are ``true``/``True``/``1`` by writer (``HYPERRSI/src/trading/dual_side_entry.py:154-156``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol


class UserTaskRunning(UserKeyed, HashModel, key="user:{user_id}:task_running", ttl=60):
    """The user-level cycle marker ``{status, started_at}``; every live caller passes expiry 60
    (``HYPERRSI/src/tasks/trading_tasks.py:415-423``, ``:1116``, ``:1311``)."""

    user_id: UserId
    status: str
    started_at: str


class UserTaskId(UserKeyed, StringModel, key="user:{user_id}:task_id", ttl=None):
    """The user-level Celery task id, rewritten by every beat cycle
    (``HYPERRSI/src/tasks/trading_tasks.py:933-936``)."""

    user_id: UserId
    task_id: str


class LastExecution(UserKeyed, JsonModel, key="user:{user_id}:last_execution", ttl=None, json_style="python"):
    """``{"timestamp": <epoch>, "success": bool, "error"?: str}`` after every cycle
    (``HYPERRSI/src/tasks/trading_tasks.py:510-525``)
    ; free-form, so the document survives a save as written."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId


class StopSignal(UserKeyed, StringModel, key="user:{user_id}:stop_signal", ttl=None):
    """``"true"`` between a stop request and its cleanup (``HYPERRSI/src/api/routes/trading.py:749-751``)."""

    user_id: UserId
    signal: str


class TradingLock(UserKeyed, StringModel, key="lock:user:{user_id}:{symbol}:{timeframe}", ttl=60):
    """The cycle lock ``"{epoch}:{thread id}"``, SET NX EX 60
    (``HYPERRSI/src/tasks/trading_tasks.py:855-861``)."""

    user_id: UserId
    symbol: Symbol
    timeframe: Timeframe
    owner: str


__all__ = [
    "ActiveSymbols",
    "LastExecution",
    "StopSignal",
    "SymbolDualSide",
    "SymbolPresetId",
    "SymbolSessionId",
    "SymbolStartedAt",
    "SymbolState",
    "SymbolStatus",
    "SymbolTaskId",
    "SymbolTaskRunning",
    "SymbolTimeframe",
    "TradingLock",
    "UserTaskId",
    "UserTaskRunning",
]
