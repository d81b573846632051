"""TradingBoost's per-user checks (models/doctor.py) on a real redis-server, with live-format keys.

Facts (research notes /tmp/research/status_ids_settings.md, secrets.md):
* the beat scheduler starts a cycle for each member of ``user:{okx_uid}:active_symbols`` that has a
  ``…:symbol:{symbol}:timeframe`` and never reads ``…:status``
  (``HYPERRSI/src/tasks/trading_tasks.py:541-620``); a cycle writes ``running``
  (``HYPERRSI/src/trading/execute_trading_logic.py:166-169``);
* the global ``user:{okx_uid}:trading:status`` is legacy since d0acc17;
* the bot stores API keys in plaintext with ``uid``/``last_update_time``
  (``HYPERRSI/src/bot/command/register.py:247-255``);
* the id maps are ``user:{telegram_id}:okx_uid`` / ``okx_uid_to_telegram:{okx_uid}``
  (``shared/helpers/user_id_resolver.py:165-190``).
"""

from __future__ import annotations

import importlib

import pytest

from keyspace import Keyring, generate_key
from keyspace.ops.doctor import Check, run_doctor
from tests.inspect_support import seal, server_url, sync_mapper

__all__ = ["server_url"]  # fixture

OKX = "500000000000000001"
TG = "123456789"


@pytest.fixture(scope="module")
def schema() -> None:
    """The TradingBoost schema and its doctor checks (registered in keyspace's default registries)."""
    importlib.import_module("models")
    importlib.import_module("models.doctor")


def checks_for(url: str, user: str, keyring: Keyring | None) -> list[Check]:
    from keyspace.ops.doctor import default_user_checks

    with sync_mapper(url, keyring) as mapper:
        return run_doctor(mapper, user=user, checks=default_user_checks)


def user_part(checks: list[Check]) -> dict[str, Check]:
    names = {"id map", "API keys", "trading", "positions"}
    return {c.name: c for c in checks if c.name in names or c.name.startswith("trading ")}


def seed_user(url: str, keyring: Keyring) -> None:
    with sync_mapper(url, None) as mapper:
        r = mapper.clients["app"]
        r.set(f"user:{TG}:okx_uid", OKX)
        r.set(f"okx_uid_to_telegram:{OKX}", TG)
        r.hset(
            f"user:{OKX}:api:keys",
            mapping={
                "api_key": "plain-api-key",  # the bot's plaintext writer
                "api_secret": seal(keyring, "secret"),
                "passphrase": seal(keyring, "pass"),
                "uid": OKX,
                "last_update_time": "1732668122",
            },
        )
        r.sadd(f"user:{OKX}:active_symbols", "BTC-USDT-SWAP", "ETH-USDT-SWAP")
        r.set(f"user:{OKX}:symbol:BTC-USDT-SWAP:status", "running")
        r.set(f"user:{OKX}:symbol:BTC-USDT-SWAP:timeframe", "1m")
        r.set(f"user:{OKX}:symbol:ETH-USDT-SWAP:status", "stopped")  # no timeframe: never scheduled
        r.set(f"user:{OKX}:symbol:SOL-USDT-SWAP:status", "running")  # not active: a stale status
        r.hset(f"user:{OKX}:position:BTC-USDT-SWAP:long", mapping={"size": "3.0", "entry_price": "None"})


def test_a_trading_user_is_checked_per_symbol_not_by_the_legacy_global_status(
    server_url: str, schema: None
) -> None:
    """Before: `doctor --okx-uid` read the removed user:{okx_uid}:trading:status and told the
    operator "no trading status → /start" while the bot traded."""
    keyring = Keyring(generate_key())
    seed_user(server_url, keyring)
    for user in (OKX, TG):  # either id of the user
        found = user_part(checks_for(server_url, user, keyring))
        assert (
            found["id map"].status == "ok" and f"Telegram id {TG} ↔ OKX uid {OKX}" in found["id map"].message
        )
        api = found["API keys"]
        assert (
            api.status == "warn" and "api_key plaintext" in api.message and "`keyspace migrate up`" in api.fix
        )
        assert found["trading BTC-USDT-SWAP"].status == "ok"
        assert "timeframe 1m, status running" in found["trading BTC-USDT-SWAP"].message
        eth = found["trading ETH-USDT-SWAP"]
        assert eth.status == "fail" and "timeframe is missing: the scheduler skips it" in eth.message
        sol = found["trading SOL-USDT-SWAP"]
        assert sol.status == "warn" and "not in" in sol.message and "stale" in sol.message
        assert found["positions"].message == f"1 position key(s) under {OKX}: BTC-USDT-SWAP long"
    everything = " ".join(c.message + c.fix for c in checks_for(server_url, OKX, keyring))
    assert "trading:status" not in everything and "/start" not in everything


def test_missing_keys_and_a_wrong_key_are_failures_with_a_way_out(server_url: str, schema: None) -> None:
    keyring = Keyring(generate_key())
    with sync_mapper(server_url, None) as mapper:
        r = mapper.clients["app"]
        r.set(f"user:{TG}:okx_uid", OKX)  # the reverse map is missing
        stranger = Keyring(generate_key())  # written under a key this deployment does not have
        r.hset(
            f"user:{TG}:api:keys", mapping={"api_key": seal(stranger, "k"), "api_secret": seal(keyring, "s")}
        )
    found = user_part(checks_for(server_url, TG, keyring))
    assert (
        found["id map"].status == "warn"
        and f"okx_uid_to_telegram:{OKX} is missing" in found["id map"].message
    )
    api = found["API keys"]
    assert api.status == "fail" and f"user:{TG}:api:keys" in api.message and "undecryptable" in api.message
    assert "/setapi" in api.fix
    assert found["trading"].status == "ok" and "not trading" in found["trading"].message
    nobody = user_part(checks_for(server_url, "500000000000000009", keyring))
    assert (
        nobody["API keys"].status == "fail"
        and "not found under user:500000000000000009:api:keys" in nobody["API keys"].message
    )


def test_an_id_that_is_no_id_is_said(server_url: str, schema: None) -> None:
    found = user_part(checks_for(server_url, "12ab", Keyring(generate_key())))
    assert found["id map"].status == "fail" and "neither an OKX uid" in found["id map"].message
