"""OKX signal-bot execution mode: one set of tokens and five string keys per token, no TTL.

The token sits in the key names and as set members in plaintext
(``HYPERRSI/src/services/multi_symbol_service.py:30-35``, ``:421-447``): a set
member cannot be encrypted without breaking SISMEMBER, so it is kept as
written; the key type refuses what could split a key or widen a SCAN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from keyspace import EpochSeconds, SetModel, StringModel
from models.base import UserKeyed
from models.types import SignalToken, UserId


class SignalBots(UserKeyed, SetModel, key="user:{user_id}:signal_bots", ttl=None):
    """The user's active signal-bot tokens (plaintext by policy: set members); TTL none."""

    user_id: UserId
    tokens: set[str] = set()


class SignalBotSymbol(UserKeyed, StringModel, key="user:{user_id}:signal_bot:{token}:symbol", ttl=None):
    """The bot's symbol (``HYPERRSI/src/services/multi_symbol_service.py:426-429``)."""

    user_id: UserId
    token: SignalToken
    symbol: str


class SignalBotTimeframe(UserKeyed, StringModel, key="user:{user_id}:signal_bot:{token}:timeframe", ttl=None):
    """The bot's timeframe (``HYPERRSI/src/services/multi_symbol_service.py:430-433``)."""

    user_id: UserId
    token: SignalToken
    timeframe: str


class SignalBotStatus(UserKeyed, StringModel, key="user:{user_id}:signal_bot:{token}:status", ttl=None):
    """``running``, the only value written (``HYPERRSI/src/services/multi_symbol_service.py:434-437``)."""

    user_id: UserId
    token: SignalToken
    status: str


class SignalBotStartedAt(
    UserKeyed, StringModel, key="user:{user_id}:signal_bot:{token}:started_at", ttl=None
):
    """Epoch seconds as ``str(float)`` (``HYPERRSI/src/services/multi_symbol_service.py:438-441``)."""

    user_id: UserId
    token: SignalToken
    started_at: Annotated[datetime, EpochSeconds(float=True)]


class SignalBotTaskId(UserKeyed, StringModel, key="user:{user_id}:signal_bot:{token}:task_id", ttl=None):
    """The bot's Celery task id (``HYPERRSI/src/services/multi_symbol_service.py:443-447``)."""

    user_id: UserId
    token: SignalToken
    task_id: str
