"""Per-user configuration: settings, preferences, stats, dual-side settings, presets, bot UI state.

None of these keys has a TTL in live code (``HYPERRSI/src/services/redis_service.py:216-223``;
status_ids_settings §5).  Ids: the path id of the REST routes (either kind) or the OKX uid.
"""

from __future__ import annotations

from pydantic import ConfigDict

from keyspace import HashModel, JsonModel, Masked, SetModel, StringModel
from models.base import UserKeyed
from models.types import PresetId, UserId


class UserSettings(
    UserKeyed,
    JsonModel,
    key="user:{user_id}:settings",
    ttl=None,
    json_style="python",
    channel="settings:update:{user_id}",
    channel_payload="key",
):
    """The settings document (JSON as ``json.dumps`` writes it); id: OKX uid or Telegram id; TTL none.

    Korean text is stored as ``\\uXXXX`` escapes.  Every save publishes the key name on
    ``settings:update:{user_id}``, as ``RedisService.set_user_settings`` does
    (``HYPERRSI/src/services/redis_service.py:216-233``).

    Free-form: every key of the document is kept in its order and spelling.  May hold
    ``signal_bot_token`` in plaintext (``shared/constants/default_settings.py:20-21``).
    """

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    # an OKX signal-bot token and its webhook URL, plaintext by policy: the executor factory reads them
    # as stored (HYPERRSI/src/trading/executors/factory.py:184-208); masked and counted like GRID's
    signal_bot_token: Masked[str] | None = None
    signal_bot_webhook_url: Masked[str] | None = None


class UserPreferences(UserKeyed, HashModel, key="user:{user_id}:preferences", ttl=None):
    """``symbol`` and ``timeframe`` the user last started with
    (``HYPERRSI/src/api/routes/trading.py:287-293``,
    ``:340-343``); other fields (``/user/register`` stores its whole request as text) are kept."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    symbol: str | None = None
    timeframe: str | None = None


class UserStats(UserKeyed, HashModel, key="user:{user_id}:stats", ttl=None):
    """Registration counters, all decimal text (``HYPERRSI/src/api/routes/user.py:296-323``)."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    total_trades: str | None = None
    entry_trade: str | None = None
    successful_trades: str | None = None
    profit_percentage: str | None = None
    registration_date: str | None = None  # epoch seconds, str(int(time.time()))
    last_trade_date: str | None = None


class UserDualSide(UserKeyed, HashModel, key="user:{user_id}:dual_side", ttl=None):
    """Dual-side entry settings; every field kept as text (booleans are spelled three ways).

    Booleans are ``true``/``false``, ``True``/``False`` or ``1``/``0`` depending
    on the writer and the readers disagree (status_ids_settings §5.4), so every field is kept as the text
    it was written as."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId


class Preset(UserKeyed, JsonModel, key="preset:{user_id}:{preset}", ttl=None, json_style="python"):
    """A trading preset, ``TradingPreset.to_redis_dict()`` as JSON
    (``HYPERRSI/src/services/preset_service.py:72``).

    The key field is ``preset`` (not ``preset_id``): the document holds its own ``preset_id``,
    which is kept as the application wrote it."""

    model_config = ConfigDict(extra="allow")
    user_id: UserId
    preset: PresetId


class PresetList(UserKeyed, SetModel, key="preset:{user_id}:list", ttl=None):
    """The user's preset ids (``HYPERRSI/src/services/preset_service.py:76``)."""

    user_id: UserId
    preset_ids: set[str] = set()


class DefaultPreset(UserKeyed, StringModel, key="preset:{user_id}:default", ttl=None):
    """The default preset id (``HYPERRSI/src/services/preset_service.py:239-241``)."""

    user_id: UserId
    preset_id: str


class SelectedSymbol(UserKeyed, StringModel, key="user:{user_id}:selected_symbol", ttl=None):
    """Bot menu state, keyed by the Telegram id (``HYPERRSI/src/bot/command/trading.py:520``)."""

    user_id: UserId
    symbol: str


class SelectedTimeframe(UserKeyed, StringModel, key="user:{user_id}:selected_timeframe", ttl=None):
    """Bot menu state, keyed by the Telegram id (``HYPERRSI/src/bot/command/trading.py:656``)."""

    user_id: UserId
    timeframe: str


class TradingRequest(JsonModel, key="user:{requester}:trading:request", ttl=None, json_style="python"):
    """The bot's last start request as JSON (``HYPERRSI/src/bot/command/trading.py:723-743``); no reader.

    The key field is ``requester``: the document has its own ``user_id`` (a Telegram int or
    an OKX uid string), kept as written."""

    model_config = ConfigDict(extra="allow")
    requester: UserId
