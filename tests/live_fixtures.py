"""Stored values in the live application's formats, one per writer convention, built from the cited facts.

Nothing is copied from the application: each value is written here the way the
cited writer spells it (``path:line`` in seungdori/TradingBoost-Strategy @ e61934e).
``needs`` names the encodings a byte-identical get -> save of the fixture relies on
(documentation: which part of the schema the fixture exercises).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

UID = "500000000000000001"  # 18 digits: OKX uid (shared/utils/uid_validator.py:27-28)
UID19 = "5000000000000000012"  # 19 digits
TG = "123456789"  # 9 digits: Telegram id (shared/utils/uid_validator.py:31-32)
SYM = "BTC-USDT-SWAP"
TOKEN = "sigToken-Ab_09.x"  # a signal token with the characters tokens carry (free text, no separators)


@dataclass(frozen=True)
class Fixture:
    name: str
    model: str
    key: str
    value: Any  # str for STRING, dict for HASH, list for LIST, set for SET
    ttl: int | None = None
    cite: str = ""
    needs: frozenset[str] = field(default_factory=frozenset)
    values: dict[str, str] = field(default_factory=dict)  # key fields expected from the key


def _f(
    name: str, model: str, key: str, value: Any, ttl: int | None = None, cite: str = "", needs: str = ""
) -> Fixture:
    return Fixture(name, model, key, value, ttl, cite, frozenset(needs.split()) if needs else frozenset())


P = f"user:{UID}:position:{SYM}"
FETCHER = {  # HYPERRSI/src/trading/modules/okx_position_fetcher.py:321-339
    "symbol": "BTC/USDT:USDT",
    "side": "long",
    "size": "3.0",
    "contracts": "3.0",
    "contracts_amount": "3.0",
    "contract_size": "0.01",
    "position_qty": "0.03",
    "entry_price": "64250.5",
    "leverage": "10.0",
    "unrealized_pnl": "None",
    "liquidation_price": "0.0",
    "margin_mode": "cross",
    "mark_price": "None",
    "dca_count": "None",
    "last_entry_size": "3.0",
    "last_update_time": "1735689600",
    "last_update_time_kr": "2025-01-01 09:00:00",
}
WEBSOCKET = {  # HYPERRSI/src/services/websocket_service.py:464-479 (EXPIRE 86400 at :482)
    "symbol": SYM,
    "size": "3",
    "direction": "long",
    "entry_price": "64250.5",
    "current_price": "64300.0",
    "unrealized_pnl": "1.5",
    "margin": "19.27",
    "leverage": "10",
    "liquidation_price": "",
    "tp_data": "[]",
    "tp_prices": json.dumps([64892.0, 65535.0]),
    "tp_sizes": json.dumps([0.5, 0.5]),
    "tp_state": "0",
    "updated_at": "2025-01-01T12:00:00.123456",
}
STATE_MANAGER = {  # HYPERRSI/src/trading/position_manager.py:327-346 (str() of every value)
    "position_info": json.dumps(
        {
            "entry_price": None,
            "contracts_amount": 3.0,
            "position_qty": 0.03,
            "side": "short",
            "symbol": SYM,
            "updated_at": "2025-01-01 12:00:00.123456",
            "last_entry_size": 3.0,
        }
    ),
    "entry_price": "None",
    "contracts_amount": "3.0",
    "position_qty": "0.03",
    "side": "short",
    "symbol": SYM,
    "updated_at": "2025-01-01 12:00:00.123456",
    "last_entry_size": "3.0",
}
TP_SL = {  # HYPERRSI/src/trading/modules/tp_sl_order_creator.py:393-411, :530-538, :651-659
    "tp_prices": "3894.07,3932.24,3970.42",
    "tp_order_ids": "111,112,113",
    "tp_sizes": "1.0,1.0,1.0",
    "tp_contracts_amounts": "1.00,1.00,1.00",
    "tp_data": json.dumps(
        [
            {"level": 1, "price": 3894.07, "status": "active", "order_id": "111"},
            {"level": 2, "price": 3932.24, "status": "inactive"},
        ]
    ),
    "sl_price": "3700.5",
    "sl_order_id": "900",
    "sl_size": "3.0",
    "sl_contracts_amount": "3.0",
    "sl_position_qty": "0.03",
    "get_tp1": "true",  # HYPERRSI/src/trading/monitoring/core.py:652
    "trailing_stop_active": "false",  # HYPERRSI/src/trading/monitoring/trailing_stop_handler.py:882
    "tp_state": "1",  # HYPERRSI/src/trading/monitoring/order_monitor.py:1058
}
HEDGE = {  # HYPERRSI/src/trading/modules/tp_sl_order_creator.py:553-562, :742-749 ("None" prices)
    "tp_prices": "None",
    "tp_order_ids": "",
    "sl_price": "None",
    "sl_triggered": "false",  # bot /sl (HYPERRSI/src/bot/command/trading.py:1427)
    "get_sl": "false",  # HYPERRSI/src/api/routes/order/order.py:1945
}
GRID_SAVE_USER = {  # GRID/database/redis_database.py:918-934 (save_user), :943-945 EXPIRE 2592000
    "api_key": "grid-plain-key",
    "api_secret": "grid-plain-secret",
    "password": "Pw0001",
    "initial_capital": json.dumps([10.0, 10.0, 10.0]),
    "direction": "long-short",
    "numbers_to_entry": "5",
    "leverage": "10",
    "is_running": "0",
    "stop_loss": "5.0",
    "tasks": "[]",
    "running_symbols": json.dumps(["BTC-USDT-SWAP", "ETH-USDT-SWAP"]),
    "grid_num": "20",
    "stop_task_only": "0",
    "last_updated_time": "2025-01-31T13:45:00.123456+09:00",
}
GRID_HOT = {  # hot-path HSETs: GRID/jobs/task_manager.py:87, GRID/routes/feature_route.py:1009, :1571-1572
    "is_running": "1",
    "is_stopped": "1",
    "completed_trading_symbols": json.dumps(["SOL-USDT-SWAP"]),
    "last_stopped": "2025-02-01T08:00:00.5+09:00",
    "telegram_id": TG,
    "symbols": json.dumps({"BTC-USDT-SWAP": {"last_entry_time": "2025-02-01T08:00:00"}}),
    "leverage": "None",  # GRID/services/user_management_service.py:222-239
}
SETTINGS = json.dumps(  # json.dumps defaults (HYPERRSI/src/services/redis_service.py:216-223)
    {
        "leverage": 10,
        "direction": "롱숏",
        "entry_option": "돌파",
        "tp1_value": 2.0,
        "use_sl": False,
        "signal_bot_token": None,
        "symbol_investments": {"BTC-USDT-SWAP": 35.5},
        "pyramiding_type": "0",
    }
)

FIXTURES: list[Fixture] = [
    # --- ids
    _f("tg->okx", "TelegramOkxUid", f"user:{TG}:okx_uid", UID, cite="shared/helpers/user_id_resolver.py:181"),
    _f(
        "okx->tg",
        "OkxUidToTelegram",
        f"okx_uid_to_telegram:{UID}",
        TG,
        cite="shared/helpers/user_id_resolver.py:184",
    ),
    _f(
        "identifier cache",
        "UserIdentifierCache",
        f"user_identifier:okx_uid:{UID}",
        json.dumps({"user_id": "u1", "telegram_id": TG, "okx_uid": UID}),
        ttl=3600,
        cite="shared/services/user_identifier_service.py:274-306",
        needs="json_style",
    ),
    _f(
        "active traders",
        "ActiveTraders",
        "active_traders",
        {UID, UID19},
        cite="HYPERRSI/src/bot/command/register.py:204-206",
    ),
    # --- API keys: plaintext forms (enc_v1 forms are built in the test, with its keyring)
    _f(
        "register route",
        "UserApiKeys",
        f"user:{TG}:api:keys",
        {"api_key": "k-plain", "api_secret": "s-plain", "passphrase": "p-plain"},
        cite="HYPERRSI/src/api/routes/user.py:246-254",
        needs="fields_set_saves",
    ),
    _f(
        "bot /register",
        "UserApiKeys",
        f"user:{UID}:api:keys",
        {
            "api_key": "k-plain",
            "api_secret": "s-plain",
            "passphrase": "p-plain",
            "uid": UID,
            "last_update_time": "1735689600",
            "last_update_time_kr": "2025-01-01 09:00:00",
        },
        cite="HYPERRSI/src/bot/command/register.py:247-255",
        needs="fields_set_saves",
    ),
    _f(
        "grid key store",
        "GridExchangeApiKeys",
        "user:default:exchange:api_keys:okx",
        {"api_key": "k", "secret_key": "s", "password": ""},
        cite="GRID/services/api_key_service.py:99-147",
    ),
    # --- per-symbol state
    _f(
        "active symbols",
        "ActiveSymbols",
        f"user:{UID}:active_symbols",
        {SYM, "ETH-USDT-SWAP"},
        cite="HYPERRSI/src/services/multi_symbol_service.py:158",
    ),
    _f(
        "status",
        "SymbolStatus",
        f"user:{UID}:symbol:{SYM}:status",
        "running",
        cite="HYPERRSI/src/services/multi_symbol_service.py:165-168",
    ),
    _f(
        "status (tg, error)",
        "SymbolStatus",
        f"user:{TG}:symbol:{SYM}:status",
        "error",
        cite="HYPERRSI/src/api/routes/trading.py:413",
    ),
    _f(
        "timeframe",
        "SymbolTimeframe",
        f"user:{UID}:symbol:{SYM}:timeframe",
        "1H",
        cite="HYPERRSI/src/services/multi_symbol_service.py:161-164",
    ),
    _f(
        "started_at",
        "SymbolStartedAt",
        f"user:{UID}:symbol:{SYM}:started_at",
        "1732668122.123456",
        cite="HYPERRSI/src/services/multi_symbol_service.py:169-172",
    ),
    _f(
        "started_at short",
        "SymbolStartedAt",
        f"user:{UID}:symbol:ETH-USDT-SWAP:started_at",
        "1732668122.5",
        cite="HYPERRSI/scripts/migrate_to_multi_symbol.py:194",
    ),
    _f(
        "task_id",
        "SymbolTaskId",
        f"user:{UID}:symbol:{SYM}:task_id",
        "d9b1d5c2-5e39-4b8f-9f43-6c0e4a0f3a11",
        cite="HYPERRSI/src/services/multi_symbol_service.py:180-184",
    ),
    _f(
        "preset_id",
        "SymbolPresetId",
        f"user:{UID}:symbol:{SYM}:preset_id",
        "1a2b3c4d",
        cite="HYPERRSI/src/services/multi_symbol_service.py:174-178",
    ),
    _f(
        "session_id",
        "SymbolSessionId",
        f"user:{UID}:symbol:{SYM}:session_id",
        "42",
        cite="HYPERRSI/src/services/cache_sync_service.py:80",
    ),
    _f(
        "task_running",
        "SymbolTaskRunning",
        f"user:{UID}:symbol:{SYM}:task_running",
        {"status": "running", "started_at": "1732668122.123456"},
        ttl=60,
        cite="HYPERRSI/src/tasks/trading_tasks.py:425-434",
    ),
    _f(
        "symbol dual_side",
        "SymbolDualSide",
        f"user:{UID}:symbol:{SYM}:dual_side",
        {"use_dual_side_entry": "true", "dual_side_entry_trigger": "3"},
        cite="HYPERRSI/src/trading/dual_side_entry.py:154-156",
    ),
    _f(
        "user task_running",
        "UserTaskRunning",
        f"user:{UID}:task_running",
        {"status": "running", "started_at": "1732668122.9"},
        ttl=60,
        cite="HYPERRSI/src/tasks/trading_tasks.py:415-423",
    ),
    _f(
        "user task_id",
        "UserTaskId",
        f"user:{UID}:task_id",
        "d9b1d5c2-5e39-4b8f-9f43-6c0e4a0f3a11",
        cite="HYPERRSI/src/tasks/trading_tasks.py:933-936",
    ),
    _f(
        "last_execution",
        "LastExecution",
        f"user:{UID}:last_execution",
        json.dumps({"timestamp": 1732668122.25, "success": False, "error": "잔고 부족"}),
        cite="HYPERRSI/src/tasks/trading_tasks.py:510-525",
        needs="json_style",
    ),
    _f(
        "stop_signal",
        "StopSignal",
        f"user:{UID}:stop_signal",
        "true",
        cite="HYPERRSI/src/api/routes/trading.py:749-751",
    ),
    _f(
        "lock",
        "TradingLock",
        f"lock:user:{UID}:{SYM}:1m",
        "1732668122.1:140245",
        ttl=60,
        cite="HYPERRSI/src/tasks/trading_tasks.py:855-861",
    ),
    # --- settings
    _f(
        "settings",
        "UserSettings",
        f"user:{UID}:settings",
        SETTINGS,
        cite="HYPERRSI/src/services/redis_service.py:216-223",
        needs="json_style",
    ),
    _f(
        "preferences",
        "UserPreferences",
        f"user:{UID}:preferences",
        {"symbol": SYM, "timeframe": "1m"},
        cite="HYPERRSI/src/api/routes/trading.py:340-343",
    ),
    _f(
        "preferences (register)",
        "UserPreferences",
        f"user:{TG}:preferences",
        {"symbol": SYM, "timeframe": "1m", "leverage": "10"},
        cite="HYPERRSI/src/api/routes/user.py:274-293",
    ),
    _f(
        "stats",
        "UserStats",
        f"user:{UID}:stats",
        {
            "total_trades": "0",
            "entry_trade": "0",
            "successful_trades": "0",
            "profit_percentage": "0",
            "registration_date": "1735689600",
            "last_trade_date": "0",
        },
        cite="HYPERRSI/src/api/routes/user.py:296-323",
    ),
    _f(
        "dual_side true",
        "UserDualSide",
        f"user:{UID}:dual_side",
        {"use_dual_side_entry": "true", "use_dual_sl": "false"},
        cite="HYPERRSI/src/api/routes/settings.py:853-856",
    ),
    _f(
        "dual_side True",
        "UserDualSide",
        f"user:{UID19}:dual_side",
        {"use_dual_side_entry": "True"},
        cite="HYPERRSI/src/bot/command/register.py:276-279",
    ),
    _f(
        "dual_side 1",
        "UserDualSide",
        f"user:{TG}:dual_side",
        {"use_dual_side_entry": "1", "stop_loss": ""},
        cite="HYPERRSI/src/services/cache_sync_service.py:341-361",
    ),
    _f(
        "preset",
        "Preset",
        f"preset:{UID}:1a2b3c4d",
        json.dumps(
            {
                "preset_id": "1a2b3c4d",
                "owner_id": UID,
                "name": "기본",
                "created_at": "2025-01-01T00:00:00.123456",
            }
        ),
        cite="HYPERRSI/src/core/models/preset.py:177-190",
        needs="json_style",
    ),
    _f(
        "preset list",
        "PresetList",
        f"preset:{UID}:list",
        {"1a2b3c4d"},
        cite="HYPERRSI/src/services/preset_service.py:76",
    ),
    _f(
        "default preset",
        "DefaultPreset",
        f"preset:{UID}:default",
        "1a2b3c4d",
        cite="HYPERRSI/src/services/preset_service.py:239-241",
    ),
    _f(
        "selected symbol",
        "SelectedSymbol",
        f"user:{TG}:selected_symbol",
        SYM,
        cite="HYPERRSI/src/bot/command/trading.py:520",
    ),
    _f(
        "selected timeframe",
        "SelectedTimeframe",
        f"user:{TG}:selected_timeframe",
        "4H",
        cite="HYPERRSI/src/bot/command/trading.py:656",
    ),
    _f(
        "trading request",
        "TradingRequest",
        f"user:{TG}:trading:request",
        json.dumps(
            {
                "user_id": int(TG),
                "symbol": SYM,
                "timeframe": "1m",
                "start_time": "2025-01-01 09:00:00",
                "type": "start",
            }
        ),
        cite="HYPERRSI/src/bot/command/trading.py:723-743",
        needs="json_style",
    ),
    # --- positions: one fixture per writer convention
    _f(
        "position fetcher",
        "Position",
        f"{P}:long",
        FETCHER,
        cite="HYPERRSI/src/trading/modules/okx_position_fetcher.py:321-347",
        needs="fields_set_saves",
    ),
    _f(
        "position websocket",
        "Position",
        f"{P}:short",
        WEBSOCKET,
        ttl=86400,
        cite="HYPERRSI/src/services/websocket_service.py:464-482",
        needs="ttl_keep",
    ),
    _f(
        "position state manager",
        "Position",
        f"user:{UID19}:position:{SYM}:short",
        STATE_MANAGER,
        cite="HYPERRSI/src/trading/position_manager.py:327-346",
        needs="fields_set_saves",
    ),
    _f(
        "position tp/sl",
        "Position",
        f"user:{UID19}:position:{SYM}:long",
        TP_SL,
        cite="HYPERRSI/src/trading/modules/tp_sl_order_creator.py:530-659",
        needs="json_style",
    ),
    _f(
        "position hedge (bot, tg id)",
        "Position",
        f"user:{TG}:position:BTCUSDT:long",
        HEDGE,
        cite="HYPERRSI/src/bot/command/trading.py:1426-1427",
        needs="fields_set_saves",
    ),
    _f(
        "position_state",
        "PositionState",
        f"{P}:position_state",
        "-1",
        cite="HYPERRSI/src/trading/modules/okx_position_fetcher.py:383",
    ),
    _f(
        "dca_count",
        "DcaCount",
        f"{P}:long:dca_count",
        "2",
        cite="HYPERRSI/src/trading/utils/position_handler/pyramiding.py:563",
    ),
    _f(
        "dca_levels",
        "DcaLevels",
        f"{P}:long:dca_levels",
        ["62965.49", "61680.48"],
        cite="HYPERRSI/src/trading/utils/trading_utils.py:178-184",
    ),
    _f(
        "tp_data key",
        "TpPrices",
        f"{P}:long:tp_data",
        json.dumps([64892.005, 65534.51]),
        cite="HYPERRSI/src/trading/utils/position_handler/entry.py:641-642",
    ),
    _f(
        "tp_data null",
        "TpPrices",
        f"{P}:short:tp_data",
        "null",
        cite="HYPERRSI/src/trading/utils/position_handler/entry.py:802-803",
    ),
    _f(
        "sl_data",
        "SlData",
        f"{P}:long:sl_data",
        {
            "trigger_price": "61000.0",
            "order_id": "77",
            "side": "sell",
            "symbol": SYM,
            "distance_percent": "5.0",
        },
        cite="HYPERRSI/src/api/routes/order/services/stop_loss_service.py:263-281",
    ),
    _f(
        "initial_size",
        "InitialSize",
        f"{P}:long:initial_size",
        "3",
        cite="HYPERRSI/src/trading/utils/position_handler/__init__.py:175-178",
    ),
    _f(
        "pending_deletion",
        "PendingDeletion",
        f"{P}:long:pending_deletion",
        "1",
        ttl=60,
        cite="HYPERRSI/src/trading/modules/okx_position_fetcher.py:200-202",
    ),
    _f(
        "main direction",
        "MainPositionDirection",
        f"{P}:main_position_direction",
        "short",
        cite="HYPERRSI/src/trading/utils/position_handler/__init__.py:147",
    ),
    _f(
        "min sustain",
        "MinSustainContractSize",
        f"{P}:min_sustain_contract_size",
        "0.01",
        cite="HYPERRSI/src/trading/utils/position_handler/core.py:219",
    ),
    _f(
        "hedge_mode",
        "HedgeMode",
        f"{P}:hedge_mode",
        "true",
        ttl=3600,
        cite="HYPERRSI/src/trading/modules/tp_sl_calculator.py:301",
    ),
    _f(
        "tdMode",
        "TdMode",
        f"{P}:tdMode",
        "cross",
        ttl=3600,
        cite="HYPERRSI/src/trading/modules/tp_sl_calculator.py:302",
    ),
    _f(
        "closing",
        "PositionClosing",
        f"{P}:closing",
        "true",
        ttl=300,
        cite="HYPERRSI/src/api/routes/order/services/position_service.py:155-160",
    ),
    _f(
        "trailing",
        "TrailingStop",
        f"trailing:user:{UID}:{SYM}:long",
        {
            "active": "true",
            "user_id": UID,
            "symbol": SYM,
            "direction": "long",
            "highest_price": "65000.0",
            "lowest_price": "",
            "start_time": "1735689600",
            "last_sl_update": "1735689700.25",
        },
        ttl=500_000,
        cite="HYPERRSI/src/trading/monitoring/trailing_stop_handler.py:305-328",
        needs="ttl_keep",
    ),
    _f(
        "cooldown",
        "Cooldown",
        f"user:{UID}:cooldown:{SYM}:long",
        "true",
        ttl=250,
        cite="HYPERRSI/src/trading/stats.py:403-407",
        needs="ttl_keep",
    ),
    _f(
        "position lock",
        "PositionLock",
        f"user:{UID}:position_lock:{SYM}:long:15m",
        "1",
        ttl=700,
        cite="HYPERRSI/src/trading/utils/position_handler/core.py:164-171",
        needs="ttl_keep",
    ),
    _f(
        "current trade",
        "CurrentTrade",
        f"user:{UID}:current_trade:{SYM}:long",
        {"entry_time": "2025-01-01 09:00:00", "entry_price": "64250.5", "dca_count": "1", "status": "open"},
        cite="HYPERRSI/src/trading/stats.py:348-383",
    ),
    _f(
        "dual side position",
        "DualSidePosition",
        f"user:{UID}:{SYM}:dual_side_position",
        {"entry_price": "64000.0", "size": "1.5", "side": "short", "take_profit": ""},
        cite="HYPERRSI/src/trading/dual_side_entry.py:1067-1112",
    ),
    _f(
        "dual side count",
        "DualSideCount",
        f"user:{UID}:{SYM}:dual_side_count",
        "0",
        cite="HYPERRSI/src/trading/utils/position_handler/entry.py:588",
    ),
    _f(
        "entry fail count",
        "EntryFailCount",
        f"user:{UID}:{SYM}:entry_fail_count",
        "2",
        cite="HYPERRSI/src/trading/utils/position_handler/validation.py:85-86",
    ),
    _f(
        "trend alert",
        "TrendSignalAlert",
        f"user:{UID}:{SYM}:trend_signal_alert",
        "true",
        ttl=7200,
        cite="HYPERRSI/src/trading/utils/position_handler/pyramiding.py:1175",
    ),
    _f(
        "hedge sl tp",
        "HedgeSlTp",
        f"user:{UID}:{SYM}:hedge_sl_tp",
        json.dumps({"sl_order_id": "1", "tp_order_id": "2", "sl_price": 61000.0, "tp_price": None}),
        cite="HYPERRSI/src/trading/dual_side_entry.py:1568-1575",
    ),
    _f(
        "margin block",
        "MarginBlock",
        f"margin_block:{UID}:{SYM}",
        "blocked",
        ttl=400,
        cite="HYPERRSI/src/trading/services/order_utils.py:288-290",
        needs="ttl_keep",
    ),
    _f(
        "margin retry",
        "MarginRetryCount",
        f"margin_retry_count:{UID}:{SYM}",
        "1",
        ttl=86400,
        cite="HYPERRSI/src/trading/services/order_utils.py:324-325",
    ),
    _f(
        "deleted backup",
        "PositionDeletedBackup",
        f"user:{UID}:position_deleted_backup:{SYM}:long",
        json.dumps(FETCHER),
        ttl=86400,
        cite="HYPERRSI/src/trading/modules/okx_position_fetcher.py:214-218",
    ),
    _f(
        "tracking",
        "PositionTracking",
        f"user:{UID}:position_tracking:{SYM}:long",
        json.dumps({"size": 3.0}),
        ttl=86400,
        cite="HYPERRSI/src/trading/monitoring/position_validator.py:236",
    ),
    _f(
        "backup",
        "PositionBackup",
        f"user:{UID}:position_backup:{SYM}:long",
        json.dumps({"size": 3.0}),
        cite="HYPERRSI/src/trading/monitoring/position_validator.py:238",
    ),
    _f(
        "closure alert",
        "ClosureAlert",
        f"closure_alert:user:{UID}:{SYM}:long",
        "1",
        ttl=3600,
        cite="HYPERRSI/src/trading/monitoring/position_validator.py:312",
    ),
    _f(
        "ws position net",
        "WsPosition",
        f"ws:user:{UID}:{SYM}:net",
        json.dumps({"posSide": "net", "pos": "1"}),
        cite="HYPERRSI/websocket/position_monitor.py:743-744",
    ),
    _f(
        "ws open orders",
        "WsOpenOrders",
        f"ws:user:{UID}:{SYM}:open_orders",
        "[]",
        cite="HYPERRSI/websocket/position_monitor.py:1076",
    ),
    _f(
        "ws closed",
        "WsPositionClosed",
        f"ws:position_closed:{UID}:{SYM}:long",
        "1",
        ttl=5,
        cite="HYPERRSI/websocket/position_monitor.py:586",
    ),
    _f(
        "tp queue",
        "TpQueue",
        f"tp_queue:user:{UID}:{SYM}:long",
        {
            "1": json.dumps(
                {
                    "level": 1,
                    "message": "TP1 체결",
                    "timestamp": 1735689600.5,
                    "order_id": "9",
                    "processed": False,
                }
            )
        },
        ttl=300,
        cite="HYPERRSI/src/trading/monitoring/order_monitor.py:858-869",
    ),
    _f(
        "break even note",
        "BreakEvenNotification",
        f"break_even:notification:user:{UID}:{SYM}:long",
        "1735689600",
        ttl=300,
        cite="HYPERRSI/src/trading/monitoring/order_monitor.py:813-814",
    ),
    # --- orders
    _f(
        "order monitor",
        "OrderMonitor",
        f"monitor:user:{UID}:{SYM}:order:2195038272618749952",
        {
            "status": "open",
            "price": "65000.0",
            "position_side": "long",
            "order_type": "tp1",
            "is_hedge": "false",
            "last_updated_time": "1735689600",
            "last_updated_time_kr": "2025-01-01 09:00:00",
        },
        cite="HYPERRSI/src/trading/modules/tp_sl_order_creator.py:469-490",
    ),
    _f(
        "completed order",
        "CompletedOrder",
        f"completed:user:{UID}:{SYM}:order:2195038272618749952",
        {"status": "filled", "pnl_percent": "1.25"},
        ttl=1209600,
        cite="HYPERRSI/src/trading/monitoring/order_monitor.py:537-540",
    ),
    _f(
        "ws order note",
        "WsOrderNotification",
        f"ws_notification:user:{UID}:order:2195038272618749952",
        "1",
        ttl=15,
        cite="HYPERRSI/websocket/position_monitor.py:869",
    ),
    _f(
        "open orders",
        "OpenOrders",
        f"user:{UID}:open_orders",
        [json.dumps({"id": "1"})],
        cite="HYPERRSI/src/trading/modules/order_manager.py:301",
    ),
    _f(
        "closed orders",
        "ClosedOrders",
        f"user:{UID}:closed_orders",
        [json.dumps({"id": "0"})],
        cite="HYPERRSI/src/trading/modules/order_manager.py:410",
    ),
    # --- monitoring and notifications
    _f(
        "order count",
        "OrderCount",
        f"order_count:{UID}:{SYM}",
        "2",
        ttl=600,
        cite="HYPERRSI/src/trading/monitoring/core.py:338",
    ),
    _f(
        "algo check",
        "AlgoCheck",
        f"algo_check:{UID}:{SYM}",
        "1",
        ttl=600,
        cite="HYPERRSI/src/trading/monitoring/core.py:457",
    ),
    _f(
        "order status",
        "OrderStatusCache",
        "order_status:2195038272618749952",
        "filled",
        ttl=3600,
        cite="HYPERRSI/src/trading/monitoring/core.py:522",
    ),
    _f(
        "prev orders",
        "PrevOrders",
        f"prev_orders:{UID}:{SYM}",
        "[]",
        ttl=3600,
        cite="HYPERRSI/src/trading/monitoring/order_monitor.py:141",
    ),
    _f(
        "candle alert",
        "CandleDataAlertSent",
        f"candle_data_alert_sent:{UID}:{SYM}:1m",
        "1",
        ttl=3600,
        cite="HYPERRSI/src/trading/execute_trading_logic.py:492",
    ),
    _f(
        "breakeven move",
        "BreakEvenMoveNotification",
        f"breakeven_move:notification:user:{UID}:{SYM}:long:tp2",
        "1735689600",
        ttl=600,
        cite="HYPERRSI/src/trading/monitoring/break_even_handler.py:143-145",
    ),
    _f(
        "telegram queue",
        "TelegramMessageQueue",
        f"telegram:message_queue:{UID}",
        [json.dumps({"message": "포지션 진입", "type": "info"})],
        cite="HYPERRSI/src/bot/telegram_message.py:271",
    ),
    _f(
        "telegram flag",
        "TelegramProcessingFlag",
        f"telegram:processing_flag:{UID}",
        "1",
        ttl=60,
        cite="HYPERRSI/src/trading/monitoring/telegram_service.py:151",
        needs="ttl_keep",
    ),
    # --- market data (the collector)
    _f(
        "latest candle",
        "LatestCandle",
        f"latest:{SYM}:1m",
        json.dumps({"timestamp": 1735689600000, "close": 64250.5}),
        cite="HYPERRSI/src/data_collector/integrated_data_collector.py:809",
    ),
    _f(
        "current candle",
        "CurrentCandle",
        f"current_candle:{SYM}:1m",
        json.dumps({"close": 64251.0}),
        cite="HYPERRSI/src/data_collector/integrated_data_collector.py:804",
    ),
    _f(
        "ticker",
        "Ticker",
        f"ws:okx:tickers:{SYM}",
        json.dumps({"instId": SYM, "last": "64250.5"}),
        cite="HYPERRSI/websocket/position_monitor.py:463",
    ),
    _f(
        "heartbeat",
        "MonitorHeartbeat",
        "ws:position_monitor:heartbeat",
        "1735689600.5",
        ttl=120,
        cite="HYPERRSI/websocket/position_monitor.py:514",
    ),
    _f(
        "contract specs",
        "ContractSpecifications",
        "symbol_info:contract_specifications",
        json.dumps({SYM: {"contractSize": 0.01}}),
        cite="HYPERRSI/src/api/routes/account.py:188",
    ),
    # --- signal bots
    _f(
        "signal bots",
        "SignalBots",
        f"user:{UID}:signal_bots",
        {TOKEN},
        cite="HYPERRSI/src/services/multi_symbol_service.py:423",
    ),
    _f(
        "signal symbol",
        "SignalBotSymbol",
        f"user:{UID}:signal_bot:{TOKEN}:symbol",
        SYM,
        cite="HYPERRSI/src/services/multi_symbol_service.py:426-429",
    ),
    _f(
        "signal timeframe",
        "SignalBotTimeframe",
        f"user:{UID}:signal_bot:{TOKEN}:timeframe",
        "5m",
        cite="HYPERRSI/src/services/multi_symbol_service.py:430-433",
    ),
    _f(
        "signal status",
        "SignalBotStatus",
        f"user:{UID}:signal_bot:{TOKEN}:status",
        "running",
        cite="HYPERRSI/src/services/multi_symbol_service.py:434-437",
    ),
    _f(
        "signal started",
        "SignalBotStartedAt",
        f"user:{UID}:signal_bot:{TOKEN}:started_at",
        "1732668122.123456",
        cite="HYPERRSI/src/services/multi_symbol_service.py:438-441",
    ),
    _f(
        "signal task",
        "SignalBotTaskId",
        f"user:{UID}:signal_bot:{TOKEN}:task_id",
        "t-1",
        cite="HYPERRSI/src/services/multi_symbol_service.py:443-447",
    ),
    # --- GRID
    _f(
        "grid save_user",
        "GridUser",
        f"okx:user:{UID}",
        GRID_SAVE_USER,
        ttl=2592000,
        cite="GRID/database/redis_database.py:918-945",
        needs="json_style BoolText ttl_keep",
    ),
    _f(
        "grid hot path",
        "GridUser",
        "okx:user:42",
        GRID_HOT,
        cite="GRID/jobs/task_manager.py:86-91",
        needs="json_style BoolText NoneText fields_set_saves",
    ),
    _f(
        "grid :key",
        "GridUserKey",
        f"okx:user:{UID}:key",
        {"api_key": "k", "api_secret": "s", "password": "p"},
        ttl=2592000,
        cite="GRID/database/redis_database.py:919-945",
    ),
    _f(
        "grid user_ids",
        "GridUserIds",
        "okx:user_ids",
        {"0", "42", UID},
        ttl=2592000,
        cite="GRID/database/redis_database.py:96-97",
    ),
    _f(
        "grid defaults",
        "GridDefaultSettings",
        "binance:default_settings",
        {
            "initial_capital": "10",
            "direction": "long",
            "numbers_to_entry": "5",
            "leverage": "10",
            "stop_loss": "0",
            "is_running": "0",
            "tasks": "[]",
            "running_symbols": "[]",
            "grid_num": "20",
            "stop_task_only": "0",
        },
        ttl=2592000,
        cite="GRID/database/redis_database.py:76-93",
    ),
    _f(
        "grid job",
        "GridJob",
        "okx:job:42",
        {"job_id": "j-1", "status": "running", "start_time": "1735689600"},
        ttl=2592000,
        cite="GRID/database/redis_database.py:539-607",
    ),
    _f(
        "grid request body",
        "GridRequestBody",
        "okx:request_body:42",
        json.dumps(
            {"exchange_name": "okx", "user_id": 42, "api_key": "k", "api_secret": "s", "password": "p"}
        ),
        ttl=1440000,
        cite="GRID/routes/feature_route.py:940-941",
        needs="json_style ttl_keep",
    ),
    # --- deprecated
    _f(
        "legacy status",
        "TradingStatus",
        f"user:{UID}:trading:status",
        "running",
        cite="HYPERRSI/scripts/migrate_to_multi_symbol.py:90-110",
    ),
    _f(
        "legacy status (tg)",
        "TradingStatus",
        f"user:{TG}:trading:status",
        "stopped",
        cite="HYPERRSI/migrate_user_keys.py:67",
    ),
    _f(
        "script api keys",
        "ScriptApiKeys",
        f"user:{UID}:api_keys",
        {"api_key": "k", "api_secret": "s"},
        cite="force_update_api_keys.py:52-56",
    ),
]


def write(client: Any, fx: Fixture) -> None:
    """Store ``fx`` with raw commands, as its writer does."""
    if isinstance(fx.value, dict):
        client.hset(fx.key, mapping=fx.value)
    elif isinstance(fx.value, list):
        client.rpush(fx.key, *fx.value)
    elif isinstance(fx.value, set):
        client.sadd(fx.key, *fx.value)
    else:
        client.set(fx.key, fx.value)
    if fx.ttl:
        client.expire(fx.key, fx.ttl)


def read(client: Any, key: str) -> Any:
    """The stored value, comparable across a rewrite (set and hash order do not matter)."""
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "hash":
        return client.hgetall(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return client.smembers(key)
    if kind == "string":
        return client.get(key)
    return None
