"""Positions: the shared position hash and the keys around it.

The hash ``user:{user_id}:position:{symbol}:{side}`` has about fifteen writers
that disagree on spelling (positions.md §2): ``leverage`` is ``"10.0"``
(``HYPERRSI/src/trading/modules/okx_position_fetcher.py:330``) or ``"10"``
(``HYPERRSI/src/services/websocket_service.py:472``), numbers may be the text
``"None"``, ``tp_prices`` is CSV, JSON or one number.  Fields whose writers
disagree are ``str`` (the text as written); the others are typed.  A save
writes only the fields set on the instance, so the other writers' fields stay.
TTL ``keep``: only one writer sets one (``EXPIRE 86400``,
``HYPERRSI/src/services/websocket_service.py:482``), every other writer leaves it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from keyspace import CounterModel, EpochSeconds, HashModel, ListModel, NoneText, StringModel
from models.base import UserKeyed
from models.types import OrderId, PosSide, Side, Symbol, Timeframe, UserId

NoneStr = Annotated[str | None, NoneText("None")]
"""A number as its writer spelled it, or the text ``None`` that ``str(None)`` leaves behind."""


class Position(
    UserKeyed,
    HashModel,
    key="user:{user_id}:position:{symbol}:{side}",
    ttl="keep",
    json_style="python",
):
    """An open position (HASH); id: OKX uid (Telegram id from the bot's /sl, /tp); TTL keep.

    The hash's own ``symbol`` and ``side`` fields (ccxt ``BTC/USDT:USDT`` or the instId) are
    not the key's: they are kept in ``unknown_fields`` and written back unchanged.
    """

    user_id: UserId
    symbol: Symbol
    side: Side
    # sizes and prices: writers disagree ("3.0" / "3", "None", "")
    size: str | None = None
    contracts: str | None = None
    contracts_amount: str | None = None
    contract_size: str | None = None
    position_qty: str | None = None
    entry_price: NoneStr = None
    leverage: NoneStr = None
    unrealized_pnl: NoneStr = None
    liquidation_price: NoneStr = None
    mark_price: NoneStr = None
    current_price: str | None = None
    margin: str | None = None
    margin_mode: str | None = None
    dca_count: NoneStr = None
    initial_size: str | None = None
    last_entry_size: str | None = None
    direction: Side | None = None  # the websocket writer's name for the side
    # timestamps: epoch int (fetcher), KST text, naive ISO or str(datetime)
    last_update_time: Annotated[datetime, EpochSeconds()] | None = None
    last_update_time_kr: str | None = None
    updated_at: str | None = None
    position_info: str | None = None  # JSON in three shapes (positions.md §1.8-5)
    # take profit / stop loss
    tp_data: list[dict[str, Any]] | None = None  # JSON list, json.dumps defaults
    tp_prices: NoneStr = None  # CSV, JSON list or one number
    tp_sizes: str | None = None
    tp_order_ids: str | None = None
    tp_contracts_amounts: str | None = None
    tp_hit_status: str | None = None
    tp_state: int | None = None
    get_tp1: bool | None = None
    get_tp2: bool | None = None
    get_tp3: bool | None = None
    sl_price: NoneStr = None
    sl_order_id: str | None = None
    sl_size: str | None = None
    sl_contracts_amount: str | None = None
    sl_position_qty: str | None = None
    sl_data: str | None = None  # copied as an opaque string by the fetcher
    get_sl: bool | None = None
    sl_triggered: bool | None = None
    order_id: str | None = None
    trailing_stop_active: bool | None = None
    trailing_stop_key: str | None = None


class PositionState(UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:position_state", ttl=None):
    """``-1`` / ``0`` / ``1`` (short / none / long)
    (``HYPERRSI/src/trading/modules/okx_position_fetcher.py:371-383``)."""

    user_id: UserId
    symbol: Symbol
    state: Annotated[int, Field(ge=-1, le=1)]


class DcaCount(UserKeyed, CounterModel, key="user:{user_id}:position:{symbol}:{side}:dca_count", ttl=None):
    """DCA entries so far (``HYPERRSI/src/trading/utils/position_handler/pyramiding.py:560-563``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    count: int = 0


class DcaLevels(UserKeyed, ListModel, key="user:{user_id}:position:{symbol}:{side}:dca_levels", ttl=None):
    """Next DCA prices, ``str(float)``, next first
    (``HYPERRSI/src/trading/utils/trading_utils.py:178-184``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    levels: list[str] = []


class TpPrices(UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:{side}:tp_data", ttl=None):
    """TP prices as JSON text
    (``"[…]"`` or ``"null"``; ``HYPERRSI/src/trading/utils/position_handler/entry.py:641-642``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    prices_json: str


class SlData(UserKeyed, HashModel, key="user:{user_id}:position:{symbol}:{side}:sl_data", ttl=None):
    """The stop-loss order (``HYPERRSI/src/api/routes/order/services/stop_loss_service.py:263-281``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    trigger_price: str | None = None
    order_id: str | None = None
    entry_price: str | None = None
    distance_percent: str | None = None


class InitialSize(
    UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:{side}:initial_size", ttl=None
):
    """First entry size as a repr number
    (``HYPERRSI/src/trading/utils/position_handler/__init__.py:175-192``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    size: str


class PendingDeletion(
    UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:{side}:pending_deletion", ttl=60
):
    """``"1"`` for 60 s before a vanished position is removed
    (``HYPERRSI/src/trading/modules/okx_position_fetcher.py:200-202``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    flag: str = "1"


class MainPositionDirection(
    UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:main_position_direction", ttl=None
):
    """The main leg's side (``HYPERRSI/src/trading/utils/position_handler/__init__.py:140-147``)."""

    user_id: UserId
    symbol: Symbol
    direction: Side


class MinSustainContractSize(
    UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:min_sustain_contract_size", ttl=None
):
    """Repr float (``HYPERRSI/src/trading/utils/position_handler/core.py:215-219``)."""

    user_id: UserId
    symbol: Symbol
    size: str


class HedgeMode(UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:hedge_mode", ttl=3600):
    """``true`` / ``false``, EX 3600 (``HYPERRSI/src/trading/modules/tp_sl_calculator.py:301``)."""

    user_id: UserId
    symbol: Symbol
    enabled: bool


class TdMode(UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:tdMode", ttl=3600):
    """``cross`` / ``isolated``, EX 3600 (``HYPERRSI/src/trading/modules/tp_sl_calculator.py:302``)."""

    user_id: UserId
    symbol: Symbol
    mode: str


class PositionClosing(UserKeyed, StringModel, key="user:{user_id}:position:{symbol}:closing", ttl=300):
    """``"true"`` while a close runs, SETEX 300
    (``HYPERRSI/src/api/routes/order/services/position_service.py:155-160``)."""

    user_id: UserId
    symbol: Symbol
    closing: str = "true"


class TrailingStop(UserKeyed, HashModel, key="trailing:user:{user_id}:{symbol}:{side}", ttl="keep"):
    """Trailing-stop state; EXPIRE 7 days at activation only, later HSETs keep it, so TTL keep
    (``HYPERRSI/src/trading/monitoring/trailing_stop_handler.py:305-328``, ``:517-519``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol
    side: Side


class Cooldown(UserKeyed, StringModel, key="user:{user_id}:cooldown:{symbol}:{side}", ttl="keep"):
    """``"true"`` during the entry cooldown; TTL keep (each write sets its own EX).

    ``HYPERRSI/src/trading/stats.py:386-407``,
    ``HYPERRSI/src/trading/monitoring/position_validator.py:38-76``."""

    user_id: UserId
    symbol: Symbol
    side: Side
    active: str = "true"


class PositionLock(
    UserKeyed,
    StringModel,
    key="user:{user_id}:position_lock:{symbol}:{side}:{timeframe}",
    ttl="keep",
):
    """``"1"`` until the next candle (SETEX varies, TTL keep
    ; ``HYPERRSI/src/trading/utils/position_handler/core.py:153-171``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    timeframe: Timeframe
    locked: str = "1"


class CurrentTrade(UserKeyed, HashModel, key="user:{user_id}:current_trade:{symbol}:{side}", ttl=None):
    """Entry/DCA bookkeeping of the open trade (``HYPERRSI/src/trading/stats.py:348-383``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol
    side: Side


class DualSidePosition(UserKeyed, HashModel, key="user:{user_id}:{symbol}:dual_side_position", ttl=None):
    """The hedge leg (``HYPERRSI/src/trading/dual_side_entry.py:1067-1112``); ``''`` for a missing TP."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol


class DualSideCount(UserKeyed, CounterModel, key="user:{user_id}:{symbol}:dual_side_count", ttl=None):
    """Hedge entries (INCR, ``HYPERRSI/src/trading/dual_side_entry.py:1075``)."""

    user_id: UserId
    symbol: Symbol
    count: int = 0


class EntryFailCount(UserKeyed, CounterModel, key="user:{user_id}:{symbol}:entry_fail_count", ttl=None):
    """Failed entries in a row (INCR, ``HYPERRSI/src/trading/utils/position_handler/validation.py:85-86``)."""

    user_id: UserId
    symbol: Symbol
    count: int = 0


class TrendSignalAlert(UserKeyed, StringModel, key="user:{user_id}:{symbol}:trend_signal_alert", ttl=7200):
    """``"true"``, EX 7200 (``HYPERRSI/src/trading/utils/position_handler/pyramiding.py:1164-1175``)."""

    user_id: UserId
    symbol: Symbol
    sent: str = "true"


class HedgeSlTp(UserKeyed, StringModel, key="user:{user_id}:{symbol}:hedge_sl_tp", ttl=None):
    """JSON ``{sl_order_id, tp_order_id, sl_price, tp_price}`` as text
    (``HYPERRSI/src/trading/dual_side_entry.py:1568-1575``)."""

    user_id: UserId
    symbol: Symbol
    orders_json: str


class MarginBlock(UserKeyed, StringModel, key="margin_block:{user_id}:{symbol}", ttl="keep"):
    """``"blocked"`` while margin is short; TTL keep (each write sets its own EX).

    ``HYPERRSI/src/trading/services/order_utils.py:278-290``."""

    user_id: UserId
    symbol: Symbol
    state: str = "blocked"


class MarginRetryCount(
    UserKeyed, CounterModel, key="margin_retry_count:{user_id}:{symbol}", ttl=timedelta(days=1)
):
    """Margin retries; EXPIRE 86400 (``HYPERRSI/src/trading/services/order_utils.py:324-325``)."""

    user_id: UserId
    symbol: Symbol
    count: int = 0


class PositionDeletedBackup(
    UserKeyed,
    StringModel,
    key="user:{user_id}:position_deleted_backup:{symbol}:{side}",
    ttl=timedelta(days=1),
):
    """JSON of a removed position hash, EX 86400
    (``HYPERRSI/src/trading/modules/okx_position_fetcher.py:214-218``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    snapshot_json: str


class PositionTracking(
    UserKeyed, StringModel, key="user:{user_id}:position_tracking:{symbol}:{side}", ttl=timedelta(days=1)
):
    """JSON ``{size, entry_price, …}``, EX 86400
    (``HYPERRSI/src/trading/monitoring/position_validator.py:225-254``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    snapshot_json: str


class PositionBackup(UserKeyed, StringModel, key="user:{user_id}:position_backup:{symbol}:{side}", ttl=None):
    """The same JSON as the tracking key, no TTL
    (``HYPERRSI/src/trading/monitoring/position_validator.py:238``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    snapshot_json: str


class ClosureAlert(UserKeyed, StringModel, key="closure_alert:user:{user_id}:{symbol}:{side}", ttl=3600):
    """``"1"``, EX 3600 (``HYPERRSI/src/trading/monitoring/position_validator.py:308-312``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    sent: str = "1"


class WsPosition(UserKeyed, StringModel, key="ws:user:{user_id}:{symbol}:{pos_side}", ttl=None):
    """The raw OKX position push as JSON text (``HYPERRSI/websocket/position_monitor.py:743-744``)."""

    user_id: UserId
    symbol: Symbol
    pos_side: PosSide
    payload: str


class WsOpenOrders(UserKeyed, StringModel, key="ws:user:{user_id}:{symbol}:open_orders", ttl=None):
    """The raw open-orders push as JSON text (``HYPERRSI/websocket/position_monitor.py:1076``)."""

    user_id: UserId
    symbol: Symbol
    payload: str


class WsPositionClosed(UserKeyed, StringModel, key="ws:position_closed:{user_id}:{symbol}:{side}", ttl=5):
    """``"1"``, EX 5 (``HYPERRSI/websocket/position_monitor.py:586``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    flag: str = "1"


class TpQueue(UserKeyed, HashModel, key="tp_queue:user:{user_id}:{symbol}:{side}", ttl=300):
    """TP fills per level as JSON, EXPIRE 300 on every write
    (``HYPERRSI/src/trading/monitoring/order_monitor.py:858-869``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol
    side: Side


class BreakEvenNotification(
    UserKeyed, StringModel, key="break_even:notification:user:{user_id}:{symbol}:{side}", ttl=300
):
    """Epoch of the last break-even message, EXPIRE 300
    (``HYPERRSI/src/trading/monitoring/order_monitor.py:802-814``)."""

    user_id: UserId
    symbol: Symbol
    side: Side
    sent_at: str


class OrderMonitor(UserKeyed, HashModel, key="monitor:user:{user_id}:{symbol}:order:{order_id}", ttl=None):
    """A TP/SL order being watched (``HYPERRSI/src/trading/modules/tp_sl_order_creator.py:469-490``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol
    order_id: OrderId


class CompletedOrder(
    UserKeyed, HashModel, key="completed:user:{user_id}:{symbol}:order:{order_id}", ttl=timedelta(days=14)
):
    """A filled order with PnL, EXPIRE 14 days
    (``HYPERRSI/src/trading/monitoring/order_monitor.py:488-540``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: Symbol
    order_id: OrderId


class WsOrderNotification(
    UserKeyed, StringModel, key="ws_notification:user:{user_id}:order:{order_id}", ttl=15
):
    """``"1"``, EX 15 (``HYPERRSI/websocket/position_monitor.py:869``)."""

    user_id: UserId
    order_id: OrderId
    flag: str = "1"


class OpenOrders(UserKeyed, ListModel, key="user:{user_id}:open_orders", ttl=None):
    """Open orders as JSON items (``HYPERRSI/src/trading/modules/order_manager.py:301``)."""

    user_id: UserId
    orders: list[str] = []


class ClosedOrders(UserKeyed, ListModel, key="user:{user_id}:closed_orders", ttl=None):
    """Closed orders as JSON items (``HYPERRSI/src/trading/modules/order_manager.py:201``, ``:410``)."""

    user_id: UserId
    orders: list[str] = []
