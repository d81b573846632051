"""The TradingBoost schema: every key of the seed guide resolves to exactly one model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import models
from keyspace import ReadOnlyModel, default_registry
from keyspace.cli import app

ROOT = Path(__file__).resolve().parent.parent

GUIDE_KEYS = {
    "user:500000000000000001:api:keys": ("UserApiKeys", {"okx_uid": "500000000000000001"}),
    "user:500000000000000001:trading:status": ("TradingStatus", {"okx_uid": "500000000000000001"}),
    "user:123456789:trading:status": ("TradingStatus", {"telegram_id": "123456789"}),
    "user:500000000000000001:preferences": ("UserPreferences", {"user_id": "500000000000000001"}),
    "user:42:settings": ("UserSettings", {"user_id": "42"}),
    "user:42:stats": ("UserStats", {"user_id": "42"}),
    "user:42:session": ("UserSession", {"user_id": "42"}),
    "user:42:position:BTC-USDT-SWAP:long": (
        "Position",
        {"user_id": "42", "symbol": "BTC-USDT-SWAP", "side": "long"},
    ),
    "user:42:position:BTC-USDT-SWAP:position_state": (
        "PositionState",
        {"user_id": "42", "symbol": "BTC-USDT-SWAP"},
    ),
    "user:42:position:ETH-USDT-SWAP:short:dca_count": (
        "DcaCount",
        {"user_id": "42", "symbol": "ETH-USDT-SWAP", "side": "short"},
    ),
    "user:42:position:ETH-USDT-SWAP:short:entry_price": (
        "EntryPrice",
        {"user_id": "42", "symbol": "ETH-USDT-SWAP", "side": "short"},
    ),
    "okx:default_settings": ("GridDefaultSettings", {"exchange_name": "okx"}),
    "binance:user_ids": ("GridUserIds", {"exchange_name": "binance"}),
    "okx:user:42:grid_levels": (
        "GridUserData",
        {"exchange_name": "okx", "user_id": "42", "name": "grid_levels"},
    ),
    "celery": ("CeleryQueue", {}),
    "celery-task-meta-d9b1d5c2-5e39-4b8f-9f43-6c0e4a0f3a11": (
        "CeleryTaskMeta",
        {"task_id": "d9b1d5c2-5e39-4b8f-9f43-6c0e4a0f3a11"},
    ),
}


@pytest.mark.parametrize("key", sorted(GUIDE_KEYS))
def test_every_guide_key_resolves_to_exactly_one_model(key: str) -> None:
    name, values = GUIDE_KEYS[key]
    owners = [
        s.name
        for s in default_registry
        if s.model.__module__.startswith("models.") and s.match(key) is not None
    ]
    assert owners == [name]
    found = default_registry.resolve(key)
    assert found is not None and found[0].name == name and found[1] == values


@pytest.mark.parametrize(
    "key",
    [
        "user:1:position:BTC-USDT-SWAP:sideways",
        "user:1:position:btc-usdt:long",
        "user:12:api:keys",  # too short for an OKX uid
        "user::settings",
        "user:1:position:BTC-USDT-SWAP:long:other",
        "user:1:trading:status",  # neither an OKX uid nor a Telegram id
        "user:user_ids",
        "celery-task-meta-",
    ],
)
def test_keys_that_must_not_resolve(key: str) -> None:
    assert default_registry.resolve(key) is None


def test_celery_models_are_read_only() -> None:
    from keyspace import Mapper

    mapper = Mapper.from_url("memory://")
    with pytest.raises(ReadOnlyModel) as info:
        mapper.save(models.CeleryTaskMeta(task_id="t1", status="SUCCESS"))
    assert "CeleryTaskMeta" in str(info.value)
    assert mapper.clients["celery"].dbsize() == 0


def test_key_guide_is_up_to_date() -> None:
    result = CliRunner().invoke(app, ["schema", "--no-overrides"])
    assert result.exit_code == 0, result.output
    committed = (ROOT / "docs" / "keyspace.md").read_text()
    assert result.output == committed, (
        "docs/keyspace.md drifted: run `keyspace schema --no-overrides > docs/keyspace.md`"
    )


def test_schema_json_and_ttl_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYSPACE_TTL_OVERRIDES", "UserSettings=7d,UserSession=12h")
    result = CliRunner().invoke(app, ["schema", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.output)}
    assert rows["UserSettings"]["ttl_seconds"] == 7 * 86400 and rows["UserSettings"]["ttl_overridden"]
    assert rows["UserSession"]["ttl"] == "12h"
    assert rows["UserApiKeys"]["ttl"] == "none"
    assert [f["name"] for f in rows["UserApiKeys"]["fields"] if f["encrypted"]] == [
        "api_key",
        "api_secret",
        "passphrase",
    ]
    monkeypatch.setenv("KEYSPACE_TTL_OVERRIDES", "NoSuchModel=1d")
    assert CliRunner().invoke(app, ["schema"]).exit_code == 2
    monkeypatch.setenv("KEYSPACE_TTL_OVERRIDES", "UserSession=soon")
    assert CliRunner().invoke(app, ["schema"]).exit_code == 2
