"""A TradingBoost dataset in the live formats, for the demo, the examples, tests and benchmarks.

It writes what production holds today, each family the way its writers write
it (cited in ``models/``): API-key hashes from the bot (plaintext plus ``uid``
and update times), from the encrypting service (``enc_v1:`` tokens) and — with
``secret_forms="live"`` — under a retired key, mixed, nested by the settings
routes, bare tokens of older keyspace, suspicious values and Telegram-id
hashes; id maps; per-symbol status with ``active_symbols`` and, for some
users, only the legacy global status (migration 0003 moves them); positions
from several writers; settings JSON with Korean text (``json.dumps``
defaults); GRID hashes with plaintext secrets and 30-day TTLs; Celery keys on
the Celery server; and a few deliberately bad keys.

Values are written with raw commands, as the application writes them.  All
ids are made up; the output is deterministic for a given ``seed_value``; the
writes are pipelined in batches and nothing per user is kept except what the
returned :class:`Dataset` records (the secrets, so that tests can check every
original secret after a migration).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from keyspace.core.crypto import Keyring, generate_key

SYMBOLS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP")
TIMEFRAMES = ("1m", "5m", "15m", "1H", "4H")
OKX_BASE = 500_000_000_000_000_000  # 18 digits: an OKX uid (shared/utils/uid_validator.py:27-28)
TELEGRAM_BASE = 100_000_000  # 9 digits: a Telegram id (shared/utils/uid_validator.py:31-32)
ENVELOPE = "enc_v1:"
GRID_TTL = 2_592_000  # RedisTTL.USER_DATA (shared/database/redis_patterns.py:47)
SECRET_FIELDS = ("api_key", "api_secret", "passphrase")
SecretForms = Literal["simple", "live"]


def okx_uid(i: int) -> str:
    return str(OKX_BASE + i)


def telegram_id(i: int) -> str:
    return str(TELEGRAM_BASE + i)


@dataclass
class Dataset:
    """What was written.

    ``secrets``: key -> field -> the original secret; ``stored``: key -> field -> the
    stored text; ``forms``: key -> field -> how it is stored (plaintext, current, old,
    nested, bare, suspicious); ``plaintext_keys``: API-key hashes with a plaintext
    secret; ``bad_keys``: key -> what is wrong; ``bad_kinds``: key -> ``wrong_type``,
    ``corrupt``, ``undecryptable`` or ``key_types`` (matches a template, fails its key
    types); ``legacy_running`` / ``legacy_stopped``: users with only the legacy global
    status (what migration 0003 moves), with their preferred symbol and timeframe.
    """

    users: int
    counts: dict[str, int] = field(default_factory=dict)
    plaintext_keys: list[str] = field(default_factory=list)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    stored: dict[str, dict[str, str]] = field(default_factory=dict)
    forms: dict[str, dict[str, str]] = field(default_factory=dict)
    bad_keys: dict[str, str] = field(default_factory=dict)
    bad_kinds: dict[str, str] = field(default_factory=dict)
    legacy_running: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    legacy_stopped: list[str] = field(default_factory=list)
    grid_secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    plaintext_count: int = 0  # API-key hashes with a plaintext secret (counted even when not recorded)

    def add(self, model: str, n: int = 1) -> None:
        self.counts[model] = self.counts.get(model, 0) + n

    def bad(self, key: str, kind: str, reason: str) -> None:
        self.bad_keys[key] = reason
        self.bad_kinds[key] = kind


class _Writer:
    """Raw commands in a pipeline flushed every ``batch`` commands: memory stays flat for any user count."""

    def __init__(self, client: Any, batch: int) -> None:
        self.pipe = client.pipeline(transaction=False)
        self.batch = batch
        self.pending = 0

    def command(self, *args: Any) -> None:
        self.pipe.execute_command(*args)
        self.pending += 1
        if self.pending >= self.batch:
            self.flush()

    def set(self, key: str, value: Any, ex: int | None = None) -> None:
        self.command("SET", key, value, *(("EX", ex) if ex else ()))

    def hset(self, key: str, mapping: dict[str, Any]) -> None:
        self.command("HSET", key, *(x for pair in mapping.items() for x in pair))

    def sadd(self, key: str, *members: str) -> None:
        self.command("SADD", key, *members)

    def rpush(self, key: str, *items: str) -> None:
        self.command("RPUSH", key, *items)

    def expire(self, key: str, seconds: int) -> None:
        self.command("EXPIRE", key, seconds)

    def flush(self) -> None:
        if self.pending:
            self.pipe.execute()
            self.pending = 0


def _kst(rng: random.Random) -> tuple[int, str, str]:
    """(epoch seconds, '%Y-%m-%d %H:%M:%S' in Asia/Seoul, ISO 8601 with +09:00), deterministic."""
    import datetime as dt

    epoch = 1_735_000_000 + rng.randrange(10_000_000)
    kst = dt.datetime.fromtimestamp(epoch, dt.timezone(dt.timedelta(hours=9)))
    micro = rng.randrange(1, 1_000_000)
    return epoch, kst.strftime("%Y-%m-%d %H:%M:%S"), kst.replace(microsecond=micro).isoformat()


def _settings_doc(rng: random.Random) -> dict[str, Any]:
    """A settings document as the application's defaults shape it
    (shared/constants/default_settings.py:9-82)."""
    return {
        "btc_investment": 20,
        "eth_investment": 20,
        "sol_investment": 20,
        "entry_amount_option": "usdt",
        "symbol_investments": {"BTC-USDT-SWAP": rng.choice((20, 35.5))},
        "execution_mode": "api_direct",
        "signal_bot_token": None,
        "leverage": rng.choice((5, 10, 20)),
        "direction": rng.choice(("롱숏", "롱", "숏")),
        "entry_multiplier": 1.0,
        "use_cooldown": True,
        "cooldown_time": 300,
        "rsi_length": 14,
        "entry_option": rng.choice(("돌파", "변곡", "변곡돌파")),
        "tp_option": "퍼센트 기준",
        "tp1_value": 2.0,
        "use_sl": False,
        "pyramiding_type": "0",
        "trailing_stop_type": "트레일링 스탑 고정값",
        "trailing_stop_offset_value": 0.5,
    }


def seed(
    app: Any,
    celery: Any | None = None,
    *,
    users: int = 20,
    plaintext_share: float = 0.3,
    keyring: Keyring | None = None,
    old_keyring: Keyring | None = None,
    secret_forms: SecretForms = "simple",
    record: bool = True,
    bad_keys: bool = True,
    seed_value: int = 7,
    batch: int = 2000,
) -> Dataset:
    """Write the dataset with redis-py clients ``app`` and ``celery`` (pipelined).

    ``plaintext_share`` of the users' API-key hashes are all plaintext (all of them
    without a ``keyring``); the rest are ``enc_v1:`` tokens under ``keyring``.  With
    ``secret_forms="live"`` a share of those is stored instead as the other live
    forms (under ``old_keyring`` when given, mixed, nested, bare, suspicious) and a
    Telegram-id hash is added for every seventh user.  ``record=False`` keeps no
    per-key record (secrets, stored forms, plaintext keys, legacy users): for
    benchmarks with millions of users, whose memory then stays flat.
    """
    rng = random.Random(seed_value)
    data = Dataset(users=users)
    w = _Writer(app, batch)
    live = secret_forms == "live" and keyring is not None

    def seal(value: str, ring: Keyring, envelope: str = ENVELOPE) -> str:
        return envelope + ring.encrypt(value.encode()).decode()

    def api_keys(key: str, i: int, uid: str | None, plain: bool, form: str) -> None:
        secrets = {
            "api_key": f"{rng.getrandbits(128):032x}",
            "api_secret": f"{rng.getrandbits(128):032X}",
            "passphrase": f"Pass-{rng.getrandbits(32):08x}",
        }
        forms = {}
        stored = {}
        for n, (name, value) in enumerate(secrets.items()):
            kind = "plaintext" if plain else form
            if kind == "mixed":
                kind = "plaintext" if n == 1 else "current"
            if kind == "plaintext":
                text = value
            elif kind == "current":
                text = seal(value, keyring)  # type: ignore[arg-type]
            elif kind == "old":
                text = seal(value, old_keyring)  # type: ignore[arg-type]
            elif kind == "nested":  # the settings routes re-encrypt an enc_v1 value (settings.py:305-320)
                text = seal(seal(value, keyring), keyring)  # type: ignore[arg-type]
            elif kind == "bare":  # a bare token, as keyspace wrote before envelope=
                text = keyring.encrypt(value.encode()).decode()  # type: ignore[union-attr]
            else:  # suspicious: a token behind stray text, which the application's reader passes through
                text = " " + seal(value, keyring)  # type: ignore[arg-type]
                secrets[name] = text
            forms[name] = kind
            stored[name] = text
        mapping: dict[str, str] = dict(stored)
        if uid is not None:  # the bot's /register and /setapi (HYPERRSI/src/bot/command/register.py:247-255)
            epoch, kr, _ = _kst(rng)
            mapping.update(uid=uid, last_update_time=str(epoch), last_update_time_kr=kr)
        w.hset(key, mapping=mapping)
        plain_key = "plaintext" in forms.values()
        data.plaintext_count += plain_key
        if record:
            data.secrets[key] = secrets
            data.stored[key] = stored
            data.forms[key] = forms
            if plain_key:
                data.plaintext_keys.append(key)
        data.add("UserApiKeys")

    live_forms = ["current"] * 6 + ["mixed", "nested", "bare", "suspicious"]
    if old_keyring is not None:
        live_forms += ["old", "old"]

    for i in range(1, users + 1):
        uid, tg = okx_uid(i), telegram_id(i)
        plain = keyring is None or rng.random() < plaintext_share
        form = rng.choice(live_forms) if live else "current"
        api_keys(f"user:{uid}:api:keys", i, uid if i % 2 else None, plain, form)
        if live and i % 7 == 0:  # /user/register with a Telegram id (HYPERRSI/src/api/routes/user.py:246-254)
            api_keys(f"user:{tg}:api:keys", i, None, True, "plaintext")

        # id maps (shared/helpers/user_id_resolver.py:165-190)
        w.set(f"user:{tg}:okx_uid", uid)
        w.set(f"okx_uid_to_telegram:{uid}", tg)
        data.add("TelegramOkxUid")
        data.add("OkxUidToTelegram")

        symbol = SYMBOLS[i % len(SYMBOLS)]
        timeframe = TIMEFRAMES[i % len(TIMEFRAMES)]
        prefs: dict[str, str] = {"symbol": symbol}
        if i % 9 != 4:  # some users never chose a timeframe: migration 0003 defaults to 1m
            prefs["timeframe"] = timeframe
        w.hset(f"user:{uid}:preferences", mapping=prefs)
        data.add("UserPreferences")
        w.hset(
            f"user:{uid}:stats",
            mapping={
                "total_trades": str(rng.randint(0, 900)),
                "entry_trade": "0",
                "successful_trades": "0",
                "profit_percentage": "0",
                "registration_date": str(1_735_000_000 + i),
                "last_trade_date": "0",
            },
        )
        data.add("UserStats")
        w.set(f"user:{uid}:settings", json.dumps(_settings_doc(rng)))  # json.dumps defaults: \uXXXX
        data.add("UserSettings")
        dual = ("true", "false") if i % 3 == 0 else ("True", "False") if i % 3 == 1 else ("1", "0")
        w.hset(
            f"user:{uid}:dual_side",
            mapping={
                "use_dual_side_entry": dual[i % 2],
                "dual_side_entry_trigger": "3",
                "use_dual_sl": dual[1],
            },
        )
        data.add("UserDualSide")

        task = f"{rng.getrandbits(128):032x}"
        task_id = f"{task[:8]}-{task[8:12]}-{task[12:16]}-{task[16:20]}-{task[20:]}"
        if i % 4 == 0:
            # legacy layout only: the global status (status_ids_settings §2), no per-symbol keys
            status = "running" if i % 8 == 0 else "stopped"
            w.set(f"user:{uid}:trading:status", status)
            data.add("TradingStatus")
            if status == "running":
                w.set(f"user:{uid}:task_id", task_id)
                data.add("UserTaskId")
                if record:
                    data.legacy_running[uid] = (symbol, prefs.get("timeframe"), task_id)
            elif record:
                data.legacy_stopped.append(uid)
            if i % 16 == 0:  # the Telegram-keyed legacy copy
                w.set(f"user:{tg}:trading:status", status)
                data.add("TradingStatus")
        else:
            # per-symbol layout (HYPERRSI/src/services/multi_symbol_service.py:158-184)
            active = SYMBOLS[: 1 + i % 2]
            w.sadd(f"user:{uid}:active_symbols", *active)
            data.add("ActiveSymbols")
            for sym in active:
                base = f"user:{uid}:symbol:{sym}"
                w.set(f"{base}:status", "running")
                w.set(f"{base}:timeframe", timeframe)
                w.set(f"{base}:started_at", str(1_735_000_000 + i + rng.random()))
                w.set(f"{base}:task_id", task_id)
                for name in ("SymbolStatus", "SymbolTimeframe", "SymbolStartedAt", "SymbolTaskId"):
                    data.add(name)
            w.set(f"user:{uid}:task_id", task_id)
            data.add("UserTaskId")
            w.set(
                f"user:{uid}:last_execution",
                json.dumps({"timestamp": 1_735_000_000.25 + i, "success": i % 5 != 0}),
            )
            data.add("LastExecution")
            _positions(w, rng, data, uid, active[0], i)

        if i % 11 == 0:  # a signal bot (HYPERRSI/src/services/multi_symbol_service.py:421-447)
            token = f"sig{rng.getrandbits(96):024x}-Ab_{i}"
            w.sadd(f"user:{uid}:signal_bots", token)
            base = f"user:{uid}:signal_bot:{token}"
            w.set(f"{base}:symbol", symbol)
            w.set(f"{base}:timeframe", timeframe)
            w.set(f"{base}:status", "running")
            w.set(f"{base}:started_at", str(1_735_000_000 + rng.random()))
            w.set(f"{base}:task_id", task_id)
            for name in ("SignalBots", "SignalBotSymbol", "SignalBotTimeframe", "SignalBotStatus"):
                data.add(name)
            data.add("SignalBotStartedAt")
            data.add("SignalBotTaskId")

        if i % 13 == 0:  # a queued Telegram message (HYPERRSI/src/bot/telegram_message.py:271)
            w.rpush(f"telegram:message_queue:{uid}", json.dumps({"message": "포지션 진입 알림"}))
            data.add("TelegramMessageQueue")

        if i % 3 == 0:  # GRID (GRID/database/redis_database.py:918-945)
            _grid(w, rng, data, "okx", uid if i % 2 else str(i), tg, record)
    w.flush()

    # the collector's market data and the monitor's heartbeat (status_ids_settings §6)
    for sym in SYMBOLS:
        for tf in TIMEFRAMES[:2]:
            candles = [
                json.dumps({"timestamp": 1_735_689_600_000 + n * 60_000, "close": 100.0 + n})
                for n in range(3)
            ]
            w.rpush(f"candles:{sym}:{tf}", *candles)
            w.set(f"latest:{sym}:{tf}", candles[-1])
            data.add("Candles")
            data.add("LatestCandle")
        w.set(f"ws:okx:tickers:{sym}", json.dumps({"instId": sym, "last": "100.5"}))
        data.add("Ticker")
    w.set("ws:position_monitor:heartbeat", "1735689600.5", ex=120)
    data.add("MonitorHeartbeat")

    for exchange in ("okx", "binance"):
        w.hset(
            f"{exchange}:default_settings",
            mapping={"initial_capital": "10", "direction": "long", "numbers_to_entry": "5", "grid_num": "20"},
        )
        w.expire(f"{exchange}:default_settings", GRID_TTL)
        data.add("GridDefaultSettings")
        if exchange != "okx" or users < 3:  # okx's members were added with each GRID user
            w.sadd(f"{exchange}:user_ids", "0")
        w.expire(f"{exchange}:user_ids", GRID_TTL)
        data.add("GridUserIds")
    w.flush()

    if celery is not None:
        cw = _Writer(celery, batch)
        for n in range(3):
            cw.rpush(
                "celery", json.dumps({"headers": {"task": "tasks.check", "id": f"queued-{n}"}, "body": ""})
            )
        data.add("CeleryQueue")
        for n in range(5):
            task = f"{rng.getrandbits(64):016x}-{n}"
            doc = {
                "status": "SUCCESS",
                "result": n,
                "traceback": None,
                "children": [],
                "task_id": task,
                "date_done": "2025-11-01T00:00:00",
            }
            cw.set(f"celery-task-meta-{task}", json.dumps(doc), ex=3600)
            data.add("CeleryTaskMeta")
        cw.flush()

    if bad_keys:
        _bad_keys(app, data, users)
    return data


def _positions(w: _Writer, rng: random.Random, data: Dataset, uid: str, symbol: str, i: int) -> None:
    """One position per user, in the convention of one of the writers (positions.md §1.5)."""
    side = "long" if i % 2 else "short"
    base = f"user:{uid}:position:{symbol}"
    key = f"{base}:{side}"
    price = round(rng.uniform(10, 70000), 2)
    epoch, kr, iso = _kst(rng)
    writer = i % 3
    if writer == 0:  # the fetcher (HYPERRSI/src/trading/modules/okx_position_fetcher.py:321-347)
        contracts = float(rng.randint(1, 40))
        w.hset(
            key,
            mapping={
                "symbol": symbol.replace("-USDT-SWAP", "/USDT:USDT"),
                "side": side,
                "size": str(contracts),
                "contracts": str(contracts),
                "contracts_amount": str(contracts),
                "contract_size": "0.01",
                "position_qty": str(contracts * 0.01),
                "entry_price": str(price),
                "leverage": "10.0",
                "unrealized_pnl": "None",
                "liquidation_price": "0.0",
                "margin_mode": "cross",
                "mark_price": str(price),
                "dca_count": "None",
                "last_entry_size": str(contracts),
                "last_update_time": str(epoch),
                "last_update_time_kr": kr,
            },
        )
    elif (
        writer == 1
    ):  # the websocket writer, with its EXPIRE 86400 (HYPERRSI/src/services/websocket_service.py:464-482)
        tps = [round(price * f, 2) for f in (1.01, 1.02, 1.03)]
        w.hset(
            key,
            mapping={
                "symbol": symbol,
                "size": str(rng.randint(1, 40)),
                "direction": side,
                "entry_price": str(price),
                "current_price": str(price * 1.001),
                "unrealized_pnl": "0.5",
                "margin": "12.3",
                "leverage": "10",
                "liquidation_price": "",
                "tp_data": "[]",
                "tp_prices": json.dumps(tps),
                "tp_sizes": json.dumps([0.3, 0.3, 0.4]),
                "tp_state": "0",
                "updated_at": iso[:26],
            },
        )
        w.expire(key, 86400)
    else:  # PositionStateManager + the TP/SL creator (HYPERRSI/src/trading/position_manager.py:327-346,
        # HYPERRSI/src/trading/modules/tp_sl_order_creator.py:530-538, :651-659)
        info = {"entry_price": price, "contracts_amount": 3.0, "position_qty": 0.03, "side": side}
        tp = [{"level": n, "price": round(price * (1 + n / 100), 2), "status": "active"} for n in (1, 2, 3)]
        w.hset(
            key,
            mapping={
                "position_info": json.dumps(info),
                "entry_price": "None" if i % 10 == 5 else str(price),
                "contracts_amount": "3.0",
                "updated_at": "2025-01-01 12:00:00.123456",
                "tp_prices": ",".join(str(t["price"]) for t in tp),
                "tp_order_ids": "1,2,3",
                "tp_data": json.dumps(tp),
                "sl_price": str(round(price * 0.95, 2)),
                "sl_order_id": f"{rng.getrandbits(40)}",
                "get_tp1": "true",
                "trailing_stop_active": "false",
            },
        )
    data.add("Position")
    w.set(f"{key}:dca_count", "1")
    w.rpush(f"{key}:dca_levels", str(price * 0.98), str(price * 0.96))
    w.set(f"{key}:tp_data", json.dumps([price * 1.01, price * 1.02]))
    w.set(f"{base}:position_state", "1" if side == "long" else "-1")
    w.set(f"{base}:main_position_direction", side)
    w.set(f"user:{uid}:cooldown:{symbol}:{side}", "true", ex=300)
    w.hset(
        f"trailing:user:{uid}:{symbol}:{side}",
        mapping={
            "active": "true",
            "user_id": uid,
            "symbol": symbol,
            "direction": side,
            "start_time": str(epoch),
        },
    )
    w.expire(f"trailing:user:{uid}:{symbol}:{side}", 604800)
    for name in ("DcaCount", "DcaLevels", "TpPrices", "PositionState", "MainPositionDirection", "Cooldown"):
        data.add(name)
    data.add("TrailingStop")


def _grid(
    w: _Writer, rng: random.Random, data: Dataset, exchange: str, user_id: str, tg: str, record: bool
) -> None:
    """GRID's save_user mapping, plaintext secrets, on both hashes with the 30-day TTL."""
    secrets = {
        "api_key": f"grid-{rng.getrandbits(64):016x}",
        "api_secret": f"{rng.getrandbits(128):032x}",
        "password": f"Pw{rng.getrandbits(24):06x}",
    }
    _, _, iso = _kst(rng)
    mapping = {
        **secrets,
        "initial_capital": json.dumps([10.0] * 5),
        "direction": "long",
        "numbers_to_entry": "5",
        "leverage": "10",
        "is_running": "1" if int(user_id[-1]) % 2 else "0",
        "stop_loss": "0.0",
        "tasks": json.dumps([]),
        "running_symbols": json.dumps(["BTC-USDT-SWAP"]),
        "grid_num": "20",
        "stop_task_only": "0",
        "last_updated_time": iso,
        "telegram_id": tg,
    }
    w.sadd(f"{exchange}:user_ids", user_id)  # the set's 30-day expiry is set after the loop
    for key in (f"{exchange}:user:{user_id}", f"{exchange}:user:{user_id}:key"):
        w.hset(key, mapping=mapping)
        w.expire(key, GRID_TTL)
        if record:
            data.grid_secrets[key] = secrets
    data.add("GridUser")
    data.add("GridUserKey")


def _bad_keys(app: Any, data: Dataset, users: int) -> None:
    """Keys the tools must report, never change and never call "of no model"."""
    wrong = f"user:{okx_uid(users + 1)}:api:keys"
    app.set(wrong, "not-a-hash")
    data.bad(wrong, "wrong_type", "wrong type (string instead of hash)")
    corrupt = f"user:{okx_uid(users + 2)}:settings"
    app.set(corrupt, '{"leverage": 10,')
    data.bad(corrupt, "corrupt", "corrupt JSON")
    foreign = f"user:{okx_uid(users + 3)}:api:keys"
    token = ENVELOPE + Keyring(generate_key()).encrypt(b"secret-under-a-key-we-do-not-have").decode()
    app.hset(foreign, mapping=dict.fromkeys(SECRET_FIELDS, token))
    data.bad(foreign, "undecryptable", "token under an unknown key")
    # keys that match a template but fail its key types
    short = f"okx_uid_to_telegram:{okx_uid(users + 4)[:14]}"
    app.set(short, telegram_id(users + 4))
    data.bad(short, "key_types", "a 14-digit OKX uid (OKX uids have 18-19 digits)")
    leading = f"user:0{okx_uid(users + 5)[1:]}:active_symbols"
    app.sadd(leading, "BTC-USDT-SWAP")
    data.bad(leading, "key_types", "a user id with a leading zero")
    between = f"user:{okx_uid(users + 6)[:16]}:preferences"
    app.hset(between, mapping={"symbol": "BTC-USDT-SWAP"})
    data.bad(between, "key_types", "a 16-digit user id (neither an OKX uid nor a Telegram id)")
