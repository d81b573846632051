"""The grid strategy's keys, one family per exchange."""

from __future__ import annotations

from pydantic import ConfigDict

from keyspace import HashModel, SetModel
from keyspace.core.model import AnyModel
from models.types import DataName, ExchangeName, UserId


class GridDefaultSettings(HashModel, key="{exchange_name}:default_settings", ttl=None):
    """Default grid parameters (free-form hash fields)."""

    model_config = ConfigDict(extra="allow")
    exchange_name: ExchangeName


class GridUserIds(SetModel, key="{exchange_name}:user_ids", ttl=None):
    exchange_name: ExchangeName
    user_ids: set[UserId] = set()


class GridUserData(AnyModel, key="{exchange_name}:user:{user_id}:{name}", ttl=None):
    """Per-user grid data: a family of keys of any Redis type (read-only in keyspace)."""

    exchange_name: ExchangeName
    user_id: UserId
    name: DataName
