"""Exit codes per command (0 ok / 1 check failed or items skipped / 2 bad arguments or configuration /
3 lock held) and the JSON output of every command that reports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from keyspace.cli.errors import EXIT_CODES
from keyspace.testing.dataset import okx_uid
from keyspace.testing.server import running_server
from tests.cli_support import (
    PASSWORD,
    Deployment,
    bad_key,
    deployment,
    encrypted_key,
    invoke,
    resolved,
    server,
)

__all__ = ["deployment", "server"]  # fixtures

LOCK = "keyspace:migrations:lock"


def hold_lock(d: Deployment) -> None:
    holder = {"token": "t", "holder": "elsewhere:1", "purpose": "migrate up", "since": "2025-01-01T00:00:00"}
    d.app.set(LOCK, json.dumps(holder), px=60_000)


def no_key_env(d: Deployment) -> str:
    text = "".join(
        line for line in (d.dir / ".env").read_text().splitlines(True) if "ENCRYPTION_KEY" not in line
    )
    path = d.dir / "nokey.env"
    path.write_text(text)
    return str(path)


def remove_bad_keys(d: Deployment) -> None:
    for bad in d.data.bad_keys:
        d.app.delete(bad)


def check(expected: int, *args: str) -> tuple[str, str]:
    code, out, err = invoke(*args)
    assert code == expected, (args, code, out, err)
    if code:
        assert "Traceback" not in err
    return out, err


def test_every_command_has_documented_exit_codes() -> None:
    from tests.test_cli_conventions import command_paths

    documented = set(EXIT_CODES)
    for path in command_paths():
        if path not in (["migrate"], ["ttl"]):  # command groups
            assert " ".join(path) in documented, path


# --- show / get / scan ------------------------------------------------------------------------------


def test_show_exit_codes(deployment: Deployment) -> None:
    key = encrypted_key(deployment)
    check(0, "show", key)
    check(0, "show", key.replace(okx_uid(1)[:12], "599999999999"))  # a key that does not exist: shown
    check(1, "show", bad_key(deployment, "wrong type"))
    _, err = check(2, "show", "no:such:model:key")
    assert "belongs to no model" in err
    check(2, "--env-file", "missing.env", "show", key)


def test_get_exit_codes(deployment: Deployment) -> None:
    key = encrypted_key(deployment)
    model, args = resolved(key)
    out, _ = check(0, "get", model, *args, "--json")
    assert json.loads(out)["model"] == model and json.loads(out)["key"] == key
    check(2, "get", model)  # missing key field
    _, err = check(2, "get", model, *args, "--api-key", "x")  # a value field is not a key field
    assert "--api-key" in err
    _, err = check(2, "get", model, args[0], "a b")  # invalid key value (whitespace)
    check(2, "get", model, args[0], "5000*")  # a glob character
    check(2, "get", "NoSuchModel", *args)
    check(2, "get", model, "stray")
    wrong_model, wrong_args = resolved(bad_key(deployment, "wrong type"))
    check(1, "get", wrong_model, *wrong_args)


def test_scan_exit_codes(deployment: Deployment) -> None:
    out, _ = check(0, "scan", "TradingStatus", "--status", "running", "--json")
    assert all(json.loads(line)["status"] == "running" for line in out.splitlines())
    model, args = resolved(bad_key(deployment, "wrong type"))
    _, err = check(1, "scan", model, "--json")  # the bad keys are skipped and named
    assert bad_key(deployment, "wrong type") in err
    _, err = check(2, "scan", model, "--colour", "red")  # unknown filter field
    assert "--colour" in err
    check(2, "scan", model, args[0], "a*b")  # invalid key value
    check(2, "scan", "TradingStatus", "--status", "sleeping")  # invalid value-field filter
    check(2, "scan", "NoSuchModel")
    check(2, "scan", model, "--limit", "0")


# --- stats / doctor / info ----------------------------------------------------------------------


def test_stats_doctor_info_exit_codes(deployment: Deployment) -> None:
    out, _ = check(0, "stats", "--json")
    assert json.loads(out)["models"]
    check(2, "--env-file", "missing.env", "stats")
    out, _ = check(1, "doctor", "--json")  # the bad keys fail a check
    assert any(c["status"] == "fail" for c in json.loads(out))
    check(2, "--env-file", "missing.env", "doctor")
    out, _ = check(0, "info", "--json")
    assert set(json.loads(out)) == {"app", "celery"}
    check(1, "info", "--url", "redis://127.0.0.1:1/0")  # nothing listens there
    check(2, "--env-file", "missing.env", "info")
    remove_bad_keys(deployment)
    check(0, "migrate", "up", "-q")
    check(0, "doctor")


# --- backup / restore ---------------------------------------------------------------------------


def test_backup_restore_exit_codes_and_json(deployment: Deployment, tmp_path: Path) -> None:
    file = tmp_path / "all.ksbak"
    out, _ = check(0, "backup", str(file), "--json")
    doc = json.loads(out)
    assert doc["file"] == str(file) and doc["server"] == "app"
    assert doc["header"]["records"] == deployment.app.dbsize()
    out, _ = check(0, "backup", str(tmp_path / "celery.ksbak"), "--celery", "--json")
    assert json.loads(out)["header"]["records"] == deployment.celery.dbsize()
    check(2, "backup", str(tmp_path / "x.ksbak"), "--model", "NoSuchModel")
    check(1, "backup", str(tmp_path / "no" / "such" / "dir" / "x.ksbak"))
    with running_server() as target:
        out, _ = check(0, "restore", str(file), "--url", target.url, "--json")
        doc = json.loads(out)
        assert doc["restored"] == deployment.app.dbsize() and doc["header"]["records"] == doc["restored"]
        _, err = check(1, "restore", str(file), "--url", target.url)
        assert "already exist" in err
        out, _ = check(0, "restore", str(file), "--url", target.url, "--replace", "--json")
        assert json.loads(out)["restored"] == doc["restored"]
        damaged = tmp_path / "damaged.ksbak"
        damaged.write_bytes(gzip.compress(b'{"format": "nothing"}\n'))
        check(1, "restore", str(damaged), "--url", target.url)
    check(2, "restore", str(tmp_path / "missing.ksbak"))


# --- migrations ---------------------------------------------------------------------------------


def test_migrate_status_check_plan_history_exit_codes(deployment: Deployment) -> None:
    out, _ = check(0, "migrate", "history", "--json")
    ids = [r["id"] for r in json.loads(out)]
    assert ids[:2] == ["tradingboost/0001", "tradingboost/0002"]
    out, _ = check(0, "migrate", "status", "--json")
    assert json.loads(out)["pending"] == ids
    check(1, "migrate", "status", "--check")
    out, _ = check(1, "migrate", "check", "--json")
    assert json.loads(out) == {"ok": False, "pending": ids}
    out, _ = check(0, "migrate", "plan", "--json")
    assert list(json.loads(out)) == ids
    check(2, "migrate", "plan", "--to", "9999")
    check(2, "migrate", "up", "--to", "9999", "-q")
    empty = deployment.dir / "app"
    empty.mkdir()
    (empty / "pyproject.toml").write_text('[tool.keyspace]\nmodels = ["models"]\n')
    check(2, "--project", str(empty), "migrate", "history")
    check(2, "--project", str(empty), "migrate", "status")
    check(2, "--project", str(empty), "migrate", "check")
    check(2, "--env-file", "missing.env", "migrate", "check")


def test_migrate_up_down_stamp_verify_exit_codes(deployment: Deployment) -> None:
    hold_lock(deployment)
    _, err = check(3, "migrate", "up", "-q")
    assert "holds the lock" in err
    check(3, "migrate", "stamp", "tradingboost/0001")
    check(3, "rotate-keys", "-q")
    deployment.app.delete("keyspace:migrations:lock")
    out, _ = check(1, "migrate", "up", "--json")  # the bad keys are skipped
    assert json.loads(out)["tradingboost/0001"]["skipped"]
    out, _ = check(1, "migrate", "verify", "--json")
    assert json.loads(out)["ok"] is False
    check(2, "--env-file", no_key_env(deployment), "migrate", "verify")
    remove_bad_keys(deployment)
    out, _ = check(0, "migrate", "up", "--json")
    assert json.loads(out)["tradingboost/0001"]["skipped"] == {}  # the first run changed the rest
    out, _ = check(0, "migrate", "verify", "--json")
    assert json.loads(out)["ok"] is True
    out, _ = check(0, "migrate", "check", "--json")
    assert json.loads(out) == {"ok": True, "pending": []}
    check(2, "migrate", "down", "9999")
    check(2, "migrate", "down", "tradingboost/0001")  # 0002 depends on it and is applied
    check(2, "migrate", "down", "tradingboost/0002")  # defines no down
    check(2, "migrate", "stamp", "9999")


def test_migrate_down_and_stamp_json(deployment: Deployment) -> None:
    out, _ = check(0, "migrate", "stamp", "tradingboost/0001", "--json")
    assert json.loads(out) == {"id": "tradingboost/0001", "stamped": ["tradingboost/0001"]}
    out, _ = check(0, "migrate", "stamp", "tradingboost/0001", "--json")
    assert json.loads(out)["stamped"] == []
    hold_lock(deployment)
    check(3, "migrate", "down", "tradingboost/0001", "--allow-plaintext")
    deployment.app.delete(LOCK)
    remove_bad_keys(deployment)
    out, _ = check(0, "migrate", "down", "tradingboost/0001", "--allow-plaintext", "--json")
    doc = json.loads(out)
    assert doc["id"] == "tradingboost/0001" and doc["ok"] is True and doc["report"]["changed"] > 0
    check(2, "migrate", "down", "tradingboost/0001", "--allow-plaintext")  # not applied any more


def test_rotate_keys_exit_codes_and_json(deployment: Deployment) -> None:
    check(2, "--env-file", no_key_env(deployment), "rotate-keys", "-q")
    out, _ = check(1, "rotate-keys", "--json")  # the undecryptable bad key is skipped
    assert json.loads(out)["ok"] is False
    remove_bad_keys(deployment)
    out, _ = check(0, "rotate-keys", "--json")
    doc = json.loads(out)
    assert doc["ok"] is True and "changed" in doc["report"]


# --- schema / keygen / demo ---------------------------------------------------------------------


def test_schema_keygen_demo_exit_codes(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    check(0, "schema")
    check(0, "keygen")
    url = f"redis://:{PASSWORD}@127.0.0.1:{deployment.port}/0"
    _, err = check(2, "demo", "--url", url, "--users", "2")  # not empty
    assert "not empty" in err and PASSWORD not in err
    monkeypatch.setenv("KEYSPACE_TTL_OVERRIDES", "NoSuchModel=1d")
    check(2, "schema")
    monkeypatch.delenv("KEYSPACE_TTL_OVERRIDES")
    empty = deployment.dir / "bare"
    empty.mkdir()
    (empty / "pyproject.toml").write_text("[tool.keyspace]\n")
    _, err = check(2, "--project", str(empty), "schema")
    assert "no schema configured" in err
