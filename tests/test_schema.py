"""The TradingBoost schema: every guide key resolves to exactly one model; the key guide is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import models
from keyspace import ReadOnlyModel, default_registry
from keyspace.cli import app

ROOT = Path(__file__).resolve().parent.parent

UID, TG = "500000000000000001", "123456789"
GUIDE_KEYS = {
    f"user:{UID}:api:keys": ("UserApiKeys", {"user_id": UID}),
    f"user:{TG}:api:keys": ("UserApiKeys", {"user_id": TG}),
    f"user:{UID}:trading:status": ("TradingStatus", {"okx_uid": UID}),
    f"user:{TG}:trading:status": ("TradingStatus", {"telegram_id": TG}),
    f"user:{UID}:preferences": ("UserPreferences", {"user_id": UID}),
    f"user:{TG}:settings": ("UserSettings", {"user_id": TG}),
    f"user:{UID}:stats": ("UserStats", {"user_id": UID}),
    f"user:{UID}:session": ("UserSession", {"user_id": UID}),
    f"user:{UID}:active_symbols": ("ActiveSymbols", {"user_id": UID}),
    f"user:{UID}:symbol:BTC-USDT-SWAP:status": ("SymbolStatus", {"user_id": UID, "symbol": "BTC-USDT-SWAP"}),
    f"user:{TG}:okx_uid": ("TelegramOkxUid", {"telegram_id": TG}),
    f"okx_uid_to_telegram:{UID}": ("OkxUidToTelegram", {"okx_uid": UID}),
    f"user:{UID}:position:BTC-USDT-SWAP:long": (
        "Position",
        {"user_id": UID, "symbol": "BTC-USDT-SWAP", "side": "long"},
    ),
    f"user:{UID}:position:BTC-USDT-SWAP:position_state": (
        "PositionState",
        {"user_id": UID, "symbol": "BTC-USDT-SWAP"},
    ),
    f"user:{UID}:position:ETH-USDT-SWAP:short:dca_count": (
        "DcaCount",
        {"user_id": UID, "symbol": "ETH-USDT-SWAP", "side": "short"},
    ),
    f"user:{UID}:position:ETH-USDT-SWAP:short:entry_price": (
        "EntryPrice",
        {"user_id": UID, "symbol": "ETH-USDT-SWAP", "side": "short"},
    ),
    "okx:default_settings": ("GridDefaultSettings", {"exchange": "okx"}),
    "binance:user_ids": ("GridUserIds", {"exchange": "binance"}),
    "okx:user:42": ("GridUser", {"exchange": "okx", "user_id": "42"}),
    "okx:user:42:key": ("GridUserKey", {"exchange": "okx", "user_id": "42"}),
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
        f"user:{UID}:position:BTC-USDT-SWAP:sideways",
        f"user:{UID}:position:btc-usdt:long",
        "user:12:api:keys",  # neither an OKX uid nor a Telegram id
        "user::settings",
        f"user:{UID}:position:BTC-USDT-SWAP:long:other",
        "user:1:trading:status",  # neither an OKX uid nor a Telegram id
        "user:42:position:BTC-USDT-SWAP:long",  # user ids follow the application's id rules
        "okx:user:42:grid_levels",  # not a GRID family of the schema
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


def test_the_key_guide_marks_deprecated_families_and_names_id_kinds() -> None:
    guide = (ROOT / "docs" / "keyspace.md").read_text()
    for model in models.DEPRECATED:
        assert f"- **{model.__name__}** — Deprecated:" in guide, model.__name__
    assert "- **UserApiKeys** — Exchange API keys; id: OKX uid or Telegram id; secrets: enc_v1" in guide
    assert (
        "- **GridUser** — GRID's user record (HASH); id: GRID user id; secrets: plaintext by policy" in guide
    )
