"""Every TradingBoost model round-trips on a real redis-server, with TYPE and TTL checked."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
import redis

import models as m
from keyspace import Keyring, Mapper, ScanError, generate_key
from keyspace.testing.dataset import okx_uid, seed, telegram_id

UID = "500000000000000001"
TG = "123456789"


@pytest.fixture
def real(redis_url: str) -> tuple[Mapper, redis.Redis, redis.Redis]:
    app = redis.Redis.from_url(redis_url)
    celery = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1")
    app.flushall()
    mapper = Mapper(app, celery, keyring=Keyring(generate_key()))
    return mapper, app, celery


CASES: list[tuple[Any, str, str, int | None]] = [
    (
        m.UserApiKeys(user_id=UID, api_key="k", api_secret="s", passphrase="p"),
        f"user:{UID}:api:keys",
        "hash",
        None,
    ),
    (
        m.UserApiKeys(user_id=TG, api_key="k", api_secret="s", passphrase="p"),
        f"user:{TG}:api:keys",
        "hash",
        None,
    ),
    (m.UserSettings(user_id=UID, leverage=10, direction="롱숏"), f"user:{UID}:settings", "string", None),
    (
        m.UserPreferences(user_id=UID, symbol="BTC-USDT-SWAP", timeframe="1m"),
        f"user:{UID}:preferences",
        "hash",
        None,
    ),
    (m.UserStats(user_id=UID, total_trades="12"), f"user:{UID}:stats", "hash", None),
    (m.ActiveSymbols(user_id=UID, symbols={"BTC-USDT-SWAP"}), f"user:{UID}:active_symbols", "set", None),
    (
        m.SymbolStatus(user_id=UID, symbol="BTC-USDT-SWAP", status="running"),
        f"user:{UID}:symbol:BTC-USDT-SWAP:status",
        "string",
        None,
    ),
    (
        m.SymbolTaskRunning(user_id=UID, symbol="BTC-USDT-SWAP", status="running", started_at="1.5"),
        f"user:{UID}:symbol:BTC-USDT-SWAP:task_running",
        "hash",
        60,
    ),
    (m.TelegramOkxUid(telegram_id=TG, okx_uid=UID), f"user:{TG}:okx_uid", "string", None),
    (
        m.Position(user_id=UID, symbol="BTC-USDT-SWAP", side="long", size="0.5", leverage="10.0"),
        f"user:{UID}:position:BTC-USDT-SWAP:long",
        "hash",
        -1,
    ),
    (
        m.PositionState(user_id=UID, symbol="BTC-USDT-SWAP", state=1),
        f"user:{UID}:position:BTC-USDT-SWAP:position_state",
        "string",
        None,
    ),
    (
        m.DcaCount(user_id=UID, symbol="BTC-USDT-SWAP", side="short", count=3),
        f"user:{UID}:position:BTC-USDT-SWAP:short:dca_count",
        "string",
        None,
    ),
    (
        m.Cooldown(user_id=UID, symbol="BTC-USDT-SWAP", side="short"),
        f"user:{UID}:cooldown:BTC-USDT-SWAP:short",
        "string",
        -1,
    ),
    (m.GridDefaultSettings(exchange="okx", grid_num="20"), "okx:default_settings", "hash", 2592000),
    (m.GridUserIds(exchange="okx", user_ids={"1", "2"}), "okx:user_ids", "set", 2592000),
    (m.GridUser(exchange="okx", user_id="42", is_running=True), "okx:user:42", "hash", -1),
    (m.UserSession(user_id=UID, step="idle"), f"user:{UID}:session", "string", 86400),
    (m.TradingStatus(okx_uid=UID, status="running"), f"user:{UID}:trading:status", "string", None),
]


@pytest.mark.parametrize("obj,key,rtype,ttl", CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_round_trip(
    real: tuple[Mapper, redis.Redis, redis.Redis], obj: Any, key: str, rtype: str, ttl: int | None
) -> None:
    mapper, app, _ = real
    app.set(key, "stale", ex=500)
    app.delete(key)
    mapper.save(obj)
    assert obj.redis_key == key
    assert app.type(key).decode() == rtype
    if ttl is None or ttl == -1:  # persistent, or TTL keep (a new key has none)
        assert app.ttl(key) == -1
    else:
        assert ttl - 5 < app.ttl(key) <= ttl
    spec = type(obj).__keyspace__
    values = {n: getattr(obj, n) for n in spec.key_fields if getattr(obj, n) is not None}
    got = mapper.get(type(obj), **values)
    assert got == obj
    assert mapper.delete(type(obj), **values) and app.exists(key) == 0


def test_trading_status_alternate_key(real: tuple[Mapper, redis.Redis, redis.Redis]) -> None:
    mapper, app, _ = real
    mapper.save(m.TradingStatus(okx_uid=UID, telegram_id="123456789", status="running"))
    assert app.get(f"user:{UID}:trading:status") == b"running"
    assert app.get("user:123456789:trading:status") == b"running"
    assert mapper.get(m.TradingStatus, telegram_id="123456789").status == "running"
    mapper.save(m.TradingStatus(okx_uid="500000000000000002", status="stopped"))
    running = list(mapper.scan(m.TradingStatus, status="running"))
    assert {(s.okx_uid, s.telegram_id) for s in running} == {(UID, None), (None, "123456789")}


def test_celery_keys_are_read(real: tuple[Mapper, redis.Redis, redis.Redis]) -> None:
    mapper, app, celery = real
    data = seed(app, celery, users=3, keyring=mapper.ctx.keyring)
    assert mapper.length(m.CeleryQueue) == 3
    metas = list(mapper.scan(m.CeleryTaskMeta))
    assert len(metas) == data.counts["CeleryTaskMeta"] and metas[0].status == "SUCCESS"
    assert 3500 < mapper.ttl(m.CeleryTaskMeta, task_id=metas[0].task_id) <= 3600


def test_legacy_dataset_reads_back_with_its_bad_keys_reported(
    real: tuple[Mapper, redis.Redis, redis.Redis],
) -> None:
    mapper, app, celery = real
    data = seed(app, celery, users=30, plaintext_share=0.4, keyring=mapper.ctx.keyring)
    assert data.plaintext_keys and len(data.bad_keys) == 6
    errors: list[Exception] = []
    keys = list(mapper.scan(m.UserApiKeys, on_error=errors.append))
    assert len(keys) == 30 and len(errors) == 2  # wrong type + unknown-key token
    for k in keys:
        assert k.api_secret.get_secret_value() == data.secrets[k.redis_key]["api_secret"]
    assert mapper.ctx.events["plaintext"] == 3 * len(data.plaintext_keys)
    with pytest.raises(ScanError) as info:
        list(mapper.scan(m.UserSettings))
    assert [e.key for e in info.value.errors] == [f"user:{okx_uid(32)}:settings"]
    assert mapper.get(m.TradingStatus, telegram_id=telegram_id(16)) is not None  # the legacy Telegram copy
    for spec_model, count in data.counts.items():
        model = getattr(m, spec_model)
        assert mapper.count(model) >= count, spec_model


@pytest.mark.slow
def test_scanning_100k_keys_keeps_memory_flat(redis_url: str) -> None:
    """Streaming: peak memory while scanning 100,000 instances is that of scanning 10,000 (ten times the
    keys, under tracemalloc, which makes this the suite's slowest test at 200,000)."""
    app = redis.Redis.from_url(redis_url)
    app.flushall()
    pipe = app.pipeline(transaction=False)
    for i in range(100_000):
        pipe.hset(f"user:{500_000_000_000_000_000 + i}:position:BTC-USDT-SWAP:long", mapping={"size": "1.5"})
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    mapper = Mapper(app)

    def peak(limit: int, dedupe: bool) -> int:
        gc.collect()
        tracemalloc.start()
        n = 0
        for _ in mapper.scan(m.Position, dedupe=dedupe):
            n += 1
            if n == limit:
                break
        result = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n == limit
        return result

    small, large = peak(10_000, False), peak(100_000, False)
    assert large < small * 1.5, (small, large)
    # with de-duplication the only growth is the set of keys already seen (~100 bytes per key)
    deduped = peak(100_000, True)
    assert deduped - large < 100_000 * 200, (large, deduped)
    app.flushall()
