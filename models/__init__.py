"""The TradingBoost schema: every key family of the application, declared once.

Importing this package registers every model in ``keyspace.default_registry``.
"""

from models.celery import CeleryQueue, CeleryTaskMeta
from models.grid import GridDefaultSettings, GridUserData, GridUserIds
from models.position import DcaCount, EntryPrice, Position, PositionState
from models.trading import TradingStatus
from models.types import ExchangeName, OkxUid, Side, Symbol, TaskId, TelegramId, UserId
from models.user import UserApiKeys, UserPreferences, UserSession, UserSettings, UserStats

ALL_MODELS = (
    UserApiKeys,
    UserSettings,
    UserPreferences,
    UserStats,
    UserSession,
    TradingStatus,
    Position,
    PositionState,
    DcaCount,
    EntryPrice,
    GridDefaultSettings,
    GridUserIds,
    GridUserData,
    CeleryQueue,
    CeleryTaskMeta,
)

__all__ = [
    "ALL_MODELS",
    "CeleryQueue",
    "CeleryTaskMeta",
    "DcaCount",
    "EntryPrice",
    "ExchangeName",
    "GridDefaultSettings",
    "GridUserData",
    "GridUserIds",
    "OkxUid",
    "Position",
    "PositionState",
    "Side",
    "Symbol",
    "TaskId",
    "TelegramId",
    "TradingStatus",
    "UserApiKeys",
    "UserId",
    "UserPreferences",
    "UserSession",
    "UserSettings",
    "UserStats",
]
