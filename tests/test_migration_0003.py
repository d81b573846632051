"""Migration 0003: running users of the legacy global status move to the per-symbol layout.

The rules are the application's script's (HYPERRSI/scripts/migrate_to_multi_symbol.py,
status_ids_settings §3): only ``running`` statuses move (:83-115), users with
``active_symbols`` are done (:118-125), the timeframe defaults to ``1m`` (:156), the
legacy keys stay (:193-218).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

import models as m
from keyspace import Keyring, Mapper, Runner, generate_key
from keyspace.testing.dataset import seed

MIGRATION = "tradingboost/0003"


@pytest.fixture
def legacy(redis_url: str) -> Iterator[tuple[Mapper, redis.Redis, Any]]:
    app = redis.Redis.from_url(redis_url)
    celery = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1")
    app.flushall()
    mapper = Mapper(app, celery, keyring=Keyring(generate_key()))
    data = seed(app, celery, users=48, plaintext_share=0.5, keyring=mapper.ctx.keyring, bad_keys=False)
    yield mapper, app, data
    app.flushall()


def _snapshot(app: redis.Redis) -> dict[bytes, Any]:
    return {k: (app.type(k), app.dump(k), app.ttl(k) > 0) for k in app.scan_iter(count=1000)}


def test_up_moves_running_users_and_leaves_the_rest(legacy: tuple[Mapper, redis.Redis, Any]) -> None:
    mapper, app, data = legacy
    legacy_keys = {k: app.dump(k) for k in app.scan_iter("user:*:trading:status")}
    stopped_before = {uid: sorted(app.scan_iter(f"user:{uid}:symbol:*")) for uid in data.legacy_stopped}
    assert data.legacy_running and data.legacy_stopped
    reports = Runner(mapper).up()
    report = reports[MIGRATION]
    assert report.ok, report
    assert report.changed == len(data.legacy_running)
    for uid, (symbol, timeframe, task_id) in data.legacy_running.items():
        assert mapper.members(m.ActiveSymbols, user_id=uid) == {symbol}
        keys = {"user_id": uid, "symbol": symbol}
        assert mapper.get(m.SymbolStatus, **keys).status == "running"
        assert mapper.get(m.SymbolTimeframe, **keys).timeframe == (timeframe or "1m")
        assert float(app.get(f"user:{uid}:symbol:{symbol}:started_at")) > 1.7e9  # str(float) epoch
        assert mapper.get(m.SymbolTaskId, **keys).task_id == task_id
        for key in (
            f"user:{uid}:symbol:{symbol}:{s}" for s in ("status", "timeframe", "started_at", "task_id")
        ):
            assert app.ttl(key) == -1
    assert any(t is None for _, t, _ in data.legacy_running.values())  # the 1m default was exercised
    for uid in data.legacy_stopped:  # stopped users get nothing
        assert not app.exists(f"user:{uid}:active_symbols")
        assert sorted(app.scan_iter(f"user:{uid}:symbol:*")) == stopped_before[uid]
    assert {k: app.dump(k) for k in app.scan_iter("user:*:trading:status")} == legacy_keys  # kept
    assert report.ignored["no_symbol"] >= 1  # the Telegram-keyed legacy copy has no preferences
    # Each legacy key once: both of TradingStatus's templates (OKX uid, Telegram id) share one SCAN
    # pattern; before, each was scanned twice and every skip tallied twice.
    assert report.scanned == len(legacy_keys)
    without_symbol = [
        k
        for k in legacy_keys
        if app.get(k) == b"running" and not app.hget(k.replace(b":trading:status", b":preferences"), "symbol")
    ]
    assert report.ignored["no_symbol"] == len(without_symbol)


def test_a_second_run_changes_nothing(legacy: tuple[Mapper, redis.Redis, Any]) -> None:
    mapper, app, _ = legacy
    runner = Runner(mapper)
    runner.up()
    before = _snapshot(app)
    again = runner.run_operations(runner.find(MIGRATION).operations, run_id="0003-again")
    assert again.ok and again.changed == 0
    after = _snapshot(app)
    assert {k: v for k, v in after.items() if not k.startswith(b"keyspace:")} == {
        k: v for k, v in before.items() if not k.startswith(b"keyspace:")
    }


def test_a_half_done_user_is_redone_and_a_done_one_is_not(legacy: tuple[Mapper, redis.Redis, Any]) -> None:
    """active_symbols is the done marker, written last: per-symbol keys without it are redone."""
    mapper, app, data = legacy
    uid, (symbol, _, _) = next(iter(data.legacy_running.items()))
    app.set(f"user:{uid}:symbol:{symbol}:status", "running")  # a run stopped after its first step
    done_uid, (done_symbol, _, _) = list(data.legacy_running.items())[1]
    app.sadd(f"user:{done_uid}:active_symbols", "ETH-USDT-SWAP")  # migrated by the application's script
    report = Runner(mapper).up()[MIGRATION]
    assert report.ok
    assert mapper.members(m.ActiveSymbols, user_id=uid) == {symbol}
    assert mapper.members(m.ActiveSymbols, user_id=done_uid) == {"ETH-USDT-SWAP"}
    assert not app.exists(f"user:{done_uid}:symbol:{done_symbol}:timeframe")


def test_a_telegram_keyed_legacy_user_moves_under_its_own_id(legacy: tuple[Mapper, redis.Redis, Any]) -> None:
    """The script kept the legacy key's id as it was, a Telegram id too (status_ids_settings §3 step 2)."""
    mapper, app, _ = legacy
    app.set("user:123456780:trading:status", "running")
    app.hset("user:123456780:preferences", mapping={"symbol": "SOL-USDT-SWAP"})
    app.set("user:123456781:trading:status", "running")
    app.hset("user:123456781:preferences", mapping={"symbol": "BTC/USDT:USDT"})  # no key can hold it
    report = Runner(mapper).up()[MIGRATION]
    assert report.ok and report.ignored["bad_symbol"] >= 1  # a tally (SCAN may return a key twice)
    assert mapper.members(m.ActiveSymbols, user_id="123456780") == {"SOL-USDT-SWAP"}
    assert app.get("user:123456780:symbol:SOL-USDT-SWAP:timeframe") == b"1m"
    assert not app.exists("user:123456781:active_symbols")


def test_up_on_a_cluster_writes_the_marker_last_across_slots(cluster_url: str) -> None:
    client = redis.RedisCluster.from_url(cluster_url)
    client.flushall()
    keyring = Keyring(generate_key())
    data = seed(client, None, users=24, plaintext_share=1.0, keyring=keyring, bad_keys=False)
    mapper = Mapper.from_url(cluster_url, cluster=True, keyring=keyring)
    report = Runner(mapper).up()[MIGRATION]
    assert report.ok and report.changed == len(data.legacy_running)
    for uid, (symbol, timeframe, _task) in data.legacy_running.items():
        assert mapper.members(m.ActiveSymbols, user_id=uid) == {symbol}
        assert mapper.get(m.SymbolTimeframe, user_id=uid, symbol=symbol).timeframe == (timeframe or "1m")
    mapper.close()
    client.flushall()
    client.close()
