"""Issue 13's acceptance, end to end through the CLI on a real redis-server.

A keyspace in the live application's formats — written here from the facts cited
below, not with keyspace — is migrated by ``keyspace migrate up``; afterwards the
application's own reader rule (tests/tradingboost_app.py, with the application's
single ENCRYPTION_KEY) returns every original secret, every secret is ``enc_v1:``
plus exactly one token, undeclared fields and GRID's hashes are byte-identical
(TTLs too), ``migrate verify`` passes and ``doctor`` reports GRID's plaintext.

Facts (TradingBoost-Strategy, HEAD e61934e):
* the encrypting writer stores ``enc_v1:`` + a Fernet token (shared/security/encryption.py:45, :101-105)
  for api_key/api_secret/passphrase (HYPERRSI/src/services/redis_service.py:591-622);
* the bot's /register writes plaintext plus ``uid``, ``last_update_time`` (epoch seconds) and
  ``last_update_time_kr`` (Asia/Seoul ``%Y-%m-%d %H:%M:%S``) (HYPERRSI/src/bot/command/register.py:247-255);
* ``/user/register`` writes plaintext under the id it is given, a Telegram id among them
  (HYPERRSI/src/api/routes/user.py:246-254);
* the settings routes re-encrypt values that are already ``enc_v1:`` (nested)
  (HYPERRSI/src/api/routes/settings.py:305-320 with HYPERRSI/src/services/redis_service.py:591-595);
* GRID keeps api_key/api_secret/password in plaintext in ``{exchange}:user:{id}`` with ``'1'``/``'0'``
  booleans and a 30-day TTL (GRID/database/redis_database.py:918-945), and its readers never decrypt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from keyspace import Keyring, generate_key
from keyspace.cli import app
from tests.tradingboost_app import PREFIX, app_encrypt, app_read

FIELDS = ("api_key", "api_secret", "passphrase")
GRID_TTL = 2592000


@pytest.fixture
def live(redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, object]]:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    current, retired = generate_key(), generate_key()
    for name in list(os.environ):
        if name.startswith(("REDIS_", "CELERY_", "ENCRYPTION_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ENCRYPTION_KEY", current)
    monkeypatch.setenv("ENCRYPTION_OLD_KEYS", retired)
    monkeypatch.chdir(tmp_path)  # no .env here
    secrets: dict[str, dict[str, str]] = {}
    extras: dict[str, dict[bytes, bytes]] = {}

    def secret(uid: str, field: str) -> str:
        return f"{field}-{uid}-Sx9"

    def api_keys(uid: str, form: str) -> None:
        key = f"user:{uid}:api:keys"
        plain = {f: secret(uid, f) for f in FIELDS}
        secrets[key] = plain
        if form == "register":  # plaintext with the bot's extra fields
            stored = dict(
                plain, uid=uid, last_update_time="1735973060", last_update_time_kr="2025-01-04 15:44:20"
            )
        elif form == "current":
            stored = {f: app_encrypt(v, current) for f, v in plain.items()}
        elif form == "retired":
            stored = {f: app_encrypt(v, retired) for f, v in plain.items()}
        elif form == "mixed":  # one writer encrypted api_key, another copied plaintext back
            stored = dict(plain, api_key=app_encrypt(plain["api_key"], current))
        elif form == "nested":
            stored = {f: app_encrypt(app_encrypt(v, current), current) for f, v in plain.items()}
        else:
            raise AssertionError(form)
        client.hset(key, mapping=stored)
        extras[key] = {k: v for k, v in client.hgetall(key).items() if k.decode() not in FIELDS}

    forms = ("register", "current", "retired", "mixed", "nested")
    for i in range(25):
        api_keys(f"5000000000000{i + 1:05d}", forms[i % len(forms)])
    for i in range(4):  # Telegram-id keys from /user/register
        api_keys(f"{7100000000 + i}", "register" if i % 2 else "current")
    grid_before: dict[str, tuple[dict[bytes, bytes], int]] = {}
    for i in range(5):
        key = f"okx:user:{1000 + i}"
        client.hset(
            key,
            mapping={
                "api_key": f"grid-key-{i}",
                "api_secret": f"grid-secret-{i}",
                "password": f"grid-pw-{i}",
                "is_running": "1" if i % 2 else "0",
                "stop_task_only": "0",
                "leverage": "10",
                "tasks": "[]",
                "running_symbols": '["BTC-USDT-SWAP"]',
                "last_updated_time": "2025-01-31T13:45:00.123456+09:00",
            },
        )
        client.expire(key, GRID_TTL)
        grid_before[key] = (client.hgetall(key), client.ttl(key))
    yield {
        "url": redis_url,
        "client": client,
        "current": current,
        "secrets": secrets,
        "extras": extras,
        "grid": grid_before,
    }
    client.close()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_migrate_up_leaves_the_application_reading_every_secret(live: dict[str, object]) -> None:
    url, client, current = live["url"], live["client"], live["current"]
    assert isinstance(client, redis.Redis) and isinstance(url, str) and isinstance(current, str)
    secrets: dict[str, dict[str, str]] = live["secrets"]  # type: ignore[assignment]

    code, out = invoke("migrate", "plan", "--url", url, "--json")
    assert code == 0, out
    code, out = invoke("migrate", "up", "--url", url, "--json", "-q")
    assert code == 0, out

    ring = Keyring(current)
    for key, plain in secrets.items():
        stored = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
        for field, value in plain.items():
            # the application, with its one ENCRYPTION_KEY, reads the original secret
            assert app_read(stored[field], current) == value, (key, field)
            # enc_v1: + exactly one token, under the current key
            assert stored[field].startswith(PREFIX)
            verdict = ring.classify(stored[field].encode(), PREFIX)
            assert verdict.kind == "current" and verdict.layers == 1, (key, field, verdict.kind)
        undeclared = {k: v for k, v in client.hgetall(key).items() if k.decode() not in FIELDS}
        assert undeclared == live["extras"][key]  # type: ignore[index]
    for key, (before, ttl) in live["grid"].items():  # type: ignore[attr-defined]
        assert client.hgetall(key) == before  # byte-identical: plaintext by policy, '1'/'0' kept
        assert ttl - 60 <= client.ttl(key) <= ttl

    code, out = invoke("migrate", "verify", "--url", url, "--json")
    assert code == 0, out
    assert json.loads(out)["ok"] is True

    code, out = invoke("doctor", "--url", url, "--json")
    checks = {c["check"]: c for c in json.loads(out)}
    policy = checks["plaintext by policy"]  # GRID's plaintext is reported, never "none left"
    assert policy["status"] == "warn" and "15 secret value(s) in 5 key(s)" in policy["message"]
    assert "GridUser 5" in policy["message"] and "do not decrypt" in policy["message"]
    assert checks["plaintext secrets"]["status"] == "ok"  # no legacy plaintext awaits migration


def test_get_and_show_reveal_an_enc_v1_secret(live: dict[str, object]) -> None:
    url = live["url"]
    assert isinstance(url, str)
    secrets: dict[str, dict[str, str]] = live["secrets"]  # type: ignore[assignment]
    key = "user:500000000000000002:api:keys"  # written enc_v1: by the application
    code, out = invoke(
        "get", "UserApiKeys", "--user-id", "500000000000000002", "--url", url, "--reveal", "--json"
    )
    assert code == 0, out
    assert json.loads(out)["fields"]["api_secret"] == secrets[key]["api_secret"]
    code, out = invoke("show", key, "--url", url, "--reveal", "--json")
    assert code == 0, out
    assert json.loads(out)["fields"]["passphrase"] == secrets[key]["passphrase"]
    code, out = invoke("show", key, "--url", url, "--json")  # without --reveal: masked
    assert secrets[key]["passphrase"] not in out
