"""User keys: API keys (encrypted), settings, preferences, stats, sessions."""

from __future__ import annotations

from datetime import timedelta

from pydantic import ConfigDict

from keyspace import Encrypted, HashModel, JsonModel
from models.types import OkxUid, UserId


class UserApiKeys(HashModel, key="user:{okx_uid}:api:keys", ttl=None, server="app"):
    """Exchange API credentials; all three secrets are Fernet tokens at rest."""

    okx_uid: OkxUid
    api_key: Encrypted[str]
    api_secret: Encrypted[str]
    passphrase: Encrypted[str]


class UserSettings(JsonModel, key="user:{user_id}:settings", ttl=None, server="app"):
    """The settings document; free-form: every key of the document is kept."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId


class UserPreferences(HashModel, key="user:{user_id}:preferences", ttl=None, server="app"):
    """Free-form string preferences (one hash field each)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId


class UserStats(HashModel, key="user:{user_id}:stats", ttl=None, server="app"):
    """Trading statistics; numeric hash fields, kept as the application wrote them."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId


class UserSession(JsonModel, key="user:{user_id}:session", ttl=timedelta(days=1), server="app"):
    """Session data; expires one day after the last write."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
