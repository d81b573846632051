"""The id maps between Telegram ids and OKX uids (no TTL: ``shared/helpers/user_id_resolver.py:165-190``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import ConfigDict

from keyspace import JsonModel, SetModel, StringModel
from models.types import IdentifierKind, OkxUid, TelegramId


class TelegramOkxUid(StringModel, key="user:{telegram_id}:okx_uid", ttl=None):
    """Telegram id -> OKX uid; id: Telegram id; TTL none; the value is kept as written.

    The bot's /start stores any typed integer (``HYPERRSI/src/bot/command/basic.py:97-107``)."""

    telegram_id: TelegramId
    okx_uid: str


class OkxUidToTelegram(StringModel, key="okx_uid_to_telegram:{okx_uid}", ttl=None):
    """OKX uid -> Telegram id; id: OKX uid (``shared/helpers/user_id_resolver.py:154``, ``:184``)."""

    okx_uid: OkxUid
    telegram_id: str


class UserIdentifierCache(
    JsonModel, key="user_identifier:{kind}:{value}", ttl=timedelta(hours=1), json_style="python"
):
    """Identity cache, a JSON ``{user_id, telegram_id, okx_uid}``; TTL 1h, set by every write.

    SETEX 3600 (``shared/services/user_identifier_service.py:274-306``).  Free-form, so the
    document's key order and spelling survive a save."""

    model_config = ConfigDict(extra="allow")
    kind: IdentifierKind
    value: str


class ActiveTraders(SetModel, key="active_traders", ttl=None):
    """OKX uids of traders whose API keys were switched in the bot
    (``HYPERRSI/src/bot/command/register.py:204-206``)."""

    okx_uids: set[str] = set()
