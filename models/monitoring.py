"""Short-lived monitoring and notification keys of the trading loop (status_ids_settings §6, HOT rows)."""

from __future__ import annotations

from keyspace import ListModel, StringModel
from models.base import UserKeyed
from models.types import OrderId, Side, Symbol, Timeframe, UserId


class OrderCount(UserKeyed, StringModel, key="order_count:{user_id}:{symbol}", ttl=600):
    """Open-order count seen by the monitor, EX 600 (``HYPERRSI/src/trading/monitoring/core.py:338``)."""

    user_id: UserId
    symbol: Symbol
    count: str


class AlgoCheck(UserKeyed, StringModel, key="algo_check:{user_id}:{symbol}", ttl=600):
    """Algo-order check marker, EX 600 (``HYPERRSI/src/trading/monitoring/core.py:457``)."""

    user_id: UserId
    symbol: Symbol
    value: str


class OrderStatusCache(StringModel, key="order_status:{order_id}", ttl=3600):
    """An order's last status, EX 3600 (``HYPERRSI/src/trading/monitoring/core.py:522``)."""

    order_id: OrderId
    status: str


class PrevOrders(UserKeyed, StringModel, key="prev_orders:{user_id}:{symbol}", ttl=3600):
    """The previous open orders as JSON text, EX 3600
    (``HYPERRSI/src/trading/monitoring/order_monitor.py:141``)."""

    user_id: UserId
    symbol: Symbol
    payload: str


class CandleDataAlertSent(
    UserKeyed, StringModel, key="candle_data_alert_sent:{user_id}:{symbol}:{timeframe}", ttl=3600
):
    """A missing-candles alert was sent, SETEX 3600
    (``HYPERRSI/src/trading/execute_trading_logic.py:492``)."""

    user_id: UserId
    symbol: Symbol
    timeframe: Timeframe
    sent: str


class BreakEvenMoveNotification(
    UserKeyed,
    StringModel,
    key="breakeven_move:notification:user:{user_id}:{symbol}:{side}:tp{level}",
    ttl=600,
):
    """Epoch of the last break-even move message per TP level, EXPIRE 600
    (``HYPERRSI/src/trading/monitoring/break_even_handler.py:143-145``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    level: int
    sent_at: str


class TelegramMessageQueue(UserKeyed, ListModel, key="telegram:message_queue:{user_id}", ttl=None):
    """Telegram messages waiting to be sent, JSON items; BLPOP'ed by the bot
    (``HYPERRSI/src/bot/telegram_message.py:271``, ``:310``)."""

    user_id: UserId
    messages: list[str] = []


class TelegramProcessingFlag(UserKeyed, StringModel, key="telegram:processing_flag:{user_id}", ttl="keep"):
    """``'1'`` while a queue is drained; TTL keep: EX 300 from the bot, 60 from the trading loop.

    ``HYPERRSI/src/bot/telegram_message.py:279``,
    ``HYPERRSI/src/trading/monitoring/telegram_service.py:151``."""

    user_id: UserId
    flag: str
