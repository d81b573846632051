"""The TradingBoost schema: every key family the application reads or writes often, declared once.

Importing this package registers every model in ``keyspace.default_registry``.
Modules by area: ``ids`` (id maps), ``api_keys``, ``trading`` (per-symbol state),
``positions`` (the position hash, its side keys, order monitoring), ``settings``,
``signal_bots``, ``grid``, ``celery``, ``deprecated`` (families the application
no longer uses, kept so that operators can find and migrate them).
"""

from models.api_keys import GridExchangeApiKeys, UserApiKeys
from models.celery import CeleryQueue, CeleryTaskMeta
from models.deprecated import EntryPrice, ScriptApiKeys, TradingStatus, UserSession
from models.grid import GridDefaultSettings, GridJob, GridRequestBody, GridUser, GridUserIds, GridUserKey
from models.ids import ActiveTraders, OkxUidToTelegram, TelegramOkxUid, UserIdentifierCache
from models.positions import (
    BreakEvenNotification,
    ClosedOrders,
    ClosureAlert,
    CompletedOrder,
    Cooldown,
    CurrentTrade,
    DcaCount,
    DcaLevels,
    DualSideCount,
    DualSidePosition,
    EntryFailCount,
    HedgeMode,
    HedgeSlTp,
    InitialSize,
    MainPositionDirection,
    MarginBlock,
    MarginRetryCount,
    MinSustainContractSize,
    OpenOrders,
    OrderMonitor,
    PendingDeletion,
    Position,
    PositionBackup,
    PositionClosing,
    PositionDeletedBackup,
    PositionLock,
    PositionState,
    PositionTracking,
    SlData,
    TdMode,
    TpPrices,
    TpQueue,
    TrailingStop,
    TrendSignalAlert,
    WsOpenOrders,
    WsOrderNotification,
    WsPosition,
    WsPositionClosed,
)
from models.settings import (
    DefaultPreset,
    Preset,
    PresetList,
    SelectedSymbol,
    SelectedTimeframe,
    TradingRequest,
    UserDualSide,
    UserPreferences,
    UserSettings,
    UserStats,
)
from models.signal_bots import (
    SignalBots,
    SignalBotStartedAt,
    SignalBotStatus,
    SignalBotSymbol,
    SignalBotTaskId,
    SignalBotTimeframe,
)
from models.trading import (
    ActiveSymbols,
    LastExecution,
    StopSignal,
    SymbolDualSide,
    SymbolPresetId,
    SymbolSessionId,
    SymbolStartedAt,
    SymbolStatus,
    SymbolTaskId,
    SymbolTaskRunning,
    SymbolTimeframe,
    TradingLock,
    UserTaskId,
    UserTaskRunning,
)
from models.types import (
    Exchange,
    GridUserId,
    OkxUid,
    Side,
    SignalToken,
    Symbol,
    TaskId,
    TelegramId,
    Timeframe,
    UserId,
    id_kind,
)

ALL_MODELS = tuple(
    m
    for m in (
        # ids and credentials
        TelegramOkxUid,
        OkxUidToTelegram,
        UserIdentifierCache,
        ActiveTraders,
        UserApiKeys,
        GridExchangeApiKeys,
        # per-symbol trading state
        ActiveSymbols,
        SymbolStatus,
        SymbolTimeframe,
        SymbolStartedAt,
        SymbolTaskId,
        SymbolPresetId,
        SymbolSessionId,
        SymbolTaskRunning,
        SymbolDualSide,
        UserTaskRunning,
        UserTaskId,
        LastExecution,
        StopSignal,
        TradingLock,
        # settings
        UserSettings,
        UserPreferences,
        UserStats,
        UserDualSide,
        Preset,
        PresetList,
        DefaultPreset,
        SelectedSymbol,
        SelectedTimeframe,
        TradingRequest,
        # positions
        Position,
        PositionState,
        DcaCount,
        DcaLevels,
        TpPrices,
        SlData,
        InitialSize,
        PendingDeletion,
        MainPositionDirection,
        MinSustainContractSize,
        HedgeMode,
        TdMode,
        PositionClosing,
        TrailingStop,
        Cooldown,
        PositionLock,
        CurrentTrade,
        DualSidePosition,
        DualSideCount,
        EntryFailCount,
        TrendSignalAlert,
        HedgeSlTp,
        MarginBlock,
        MarginRetryCount,
        PositionDeletedBackup,
        PositionTracking,
        PositionBackup,
        ClosureAlert,
        WsPosition,
        WsOpenOrders,
        WsPositionClosed,
        TpQueue,
        BreakEvenNotification,
        # orders
        OrderMonitor,
        CompletedOrder,
        WsOrderNotification,
        OpenOrders,
        ClosedOrders,
        # signal bots
        SignalBots,
        SignalBotSymbol,
        SignalBotTimeframe,
        SignalBotStatus,
        SignalBotStartedAt,
        SignalBotTaskId,
        # GRID
        GridUser,
        GridUserKey,
        GridUserIds,
        GridDefaultSettings,
        GridJob,
        GridRequestBody,
        # Celery
        CeleryQueue,
        CeleryTaskMeta,
        # deprecated
        TradingStatus,
        UserSession,
        EntryPrice,
        ScriptApiKeys,
    )
)

DEPRECATED = tuple(m for m in ALL_MODELS if getattr(m, "__deprecated__", None))

__all__ = [m.__name__ for m in ALL_MODELS] + [
    "ALL_MODELS",
    "DEPRECATED",
    "Exchange",
    "GridUserId",
    "OkxUid",
    "Side",
    "SignalToken",
    "Symbol",
    "TaskId",
    "TelegramId",
    "Timeframe",
    "UserId",
    "id_kind",
]

# TradingBoost's per-user checks for `keyspace doctor --okx-uid ID` (keyspace.ops.doctor.user_check)
from models import doctor as _doctor  # noqa: E402, F401
