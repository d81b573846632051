"""The operator CLI against a real redis-server started with requirepass; settings from a temp .env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from keyspace.ops.backup import BackupKeys, records, verify
from keyspace.testing.dataset import okx_uid
from keyspace.testing.server import running_server
from tests.cli_support import (
    PASSWORD,
    Deployment,
    deployment,
    encrypted_key,
    invoke,
    resolved,
    server,
    value_of,
)

__all__ = ["deployment", "server"]  # fixtures


def no_password_in_cmdlines() -> None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert PASSWORD.encode() not in cmdline, f"password on the command line of pid {proc.name}"


def console(name: str, *args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    code = f"import sys; from keyspace.cli.rawcli import {name}; {name}()"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CELERY_"))}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_redis_remote_and_local_ping_without_the_password_on_any_command_line(
    deployment: Deployment,
) -> None:
    cwd = deployment.dir
    remote = console("remote_main", "PING", cwd=cwd)
    assert remote.returncode == 0 and remote.stdout.strip() == "PONG", remote
    local = console("local_main", "1", "PING", cwd=cwd)
    assert local.returncode == 0 and local.stdout.strip() == "PONG", local
    # an interactive session stays open while we look at every process's command line
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CELERY_"))}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from keyspace.cli.rawcli import remote_main; remote_main()"],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    try:
        no_password_in_cmdlines()
    finally:
        stdout, _ = proc.communicate(
            "HGET user:500000000000000001:api:keys nothing\nLLEN nothing\nquit\n", timeout=30
        )
    assert "(nil)" in stdout and "(integer) 0" in stdout


def test_redis_remote_refuses_keys_and_dangerous_commands(deployment: Deployment) -> None:
    cwd = deployment.dir
    refused = console("remote_main", "KEYS", "user:*", cwd=cwd)
    assert refused.returncode == 2 and "keyspace scan" in refused.stderr
    forced = console("remote_main", "--force", "KEYS", "celery*", cwd=cwd)
    assert forced.returncode == 0
    flush = console("remote_main", "FLUSHALL", cwd=cwd)
    assert flush.returncode == 2 and "--force" in flush.stderr
    assert deployment.app.dbsize() > 0
    hgetall = console("remote_main", "HGETALL", encrypted_key(deployment), cwd=cwd)
    assert '"api_key"' in hgetall.stdout and "1) " in hgetall.stdout
    local_keys = console("local_main", "1", "KEYS", "celery*", cwd=cwd)
    assert local_keys.returncode == 0 and "celery" in local_keys.stdout


def test_show_masks_and_reveal_shows_without_leaking_the_password(deployment: Deployment) -> None:
    data = deployment.data
    key = next(k for k in data.secrets if k not in data.plaintext_keys)
    secret = data.secrets[key]["api_secret"]
    code, stdout, stderr = invoke("show", key)
    assert code == 0, stderr
    assert "UserApiKeys" in stdout and "**********" in stdout and secret not in stdout
    assert PASSWORD not in stdout + stderr
    code, stdout, stderr = invoke("show", key, "--reveal")
    assert code == 0 and secret in stdout and "warning" in stderr.lower()
    assert PASSWORD not in stdout + stderr
    model, args = resolved(key)
    code, stdout, _ = invoke("get", model, *args, "--json")
    doc = json.loads(stdout)
    assert doc["fields"]["api_secret"] == "**********" and doc["ttl"] is None and doc["redis_type"] == "hash"
    code, stdout, stderr = invoke("show", "no:such:model:key")
    assert code == 2 and "belongs to no model" in stderr and "Traceback" not in stderr


def test_scan_streams_json_lines(deployment: Deployment) -> None:
    model, args = resolved(encrypted_key(deployment))
    code, stdout, _ = invoke("scan", model, "--json", "--limit", "3")
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert 1 <= len(lines) <= 3 and all(x["api_secret"] == "**********" for x in lines)
    code, stdout, _ = invoke("scan", model, *args)
    assert code == 0 and "1 instance(s)" in stdout, stdout  # the key fields name exactly one key
    code, stdout, _ = invoke("scan", "TradingStatus", "--status", "running", "--json")
    assert code == 0 and all(json.loads(line)["status"] == "running" for line in stdout.splitlines())


def test_stats_counts_models_problems_and_unowned_keys(deployment: Deployment) -> None:
    client = deployment.app
    client.set("some:stray:key", "x")
    code, stdout, stderr = invoke("stats", "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    models = {m["model"]: m for m in result["models"]}
    data = deployment.data
    assert models["UserApiKeys"]["keys"] == data.counts["UserApiKeys"] + 2
    assert models["UserApiKeys"]["plaintext_secrets"] == len(data.plaintext_keys)
    assert models["UserApiKeys"]["undecryptable"] == 1 and models["UserApiKeys"]["wrong_type"] == 1
    assert models["UserSettings"]["corrupt"] == 1
    assert result["unowned"]["app"] == 1 and result["unowned_samples"]["app"] == ["some:stray:key"]
    assert models["CeleryTaskMeta"]["server"] == "celery" and models["CeleryTaskMeta"]["ttl_mismatch"] == 0
    code, stdout, _ = invoke("stats", "--sample", "50", "--json")
    assert code == 0 and json.loads(stdout)["sampled"] is True


def test_doctor_reports_plaintext_and_bad_keys_then_they_are_gone(deployment: Deployment) -> None:
    data = deployment.data
    code, stdout, _ = invoke("doctor", "--json", "--okx-uid", okx_uid(1))
    checks = {c["check"]: c for c in json.loads(stdout)}
    assert code == 1
    assert checks["plaintext secrets"]["status"] == "warn"
    assert str(len(data.plaintext_keys)) in checks["plaintext secrets"]["message"]
    assert checks["bad keys"]["status"] == "fail"
    problems = " ".join(c["message"] for c in checks.values() if c["status"] != "ok")
    for bad in data.bad_keys:  # each named by the check of its kind (bad keys, undecryptable, key types)
        assert bad in problems, bad
    assert checks["migrations"]["status"] == "warn" and checks["app server"]["status"] == "ok"
    assert checks["API keys"]["status"] != "fail" and checks["positions"]["status"] == "ok"  # warn: plaintext
    code, _, _ = invoke("migrate", "up", "-q")
    assert code == 1  # the bad keys are skipped and reported
    for bad in data.bad_keys:
        deployment.app.delete(bad)  # the operator's fix
    code, _, stderr = invoke("migrate", "up", "-q")
    assert code == 0, stderr
    code, stdout, _ = invoke("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(stdout)}
    assert code == 0
    assert checks["plaintext secrets"]["status"] == "ok" and checks["bad keys"]["status"] == "ok"
    assert checks["migrations"]["status"] == "ok"
    code, stdout, _ = invoke("doctor", "--okx-uid", "599999999999999999")
    assert code == 1 and "API keys: not found under" in stdout and "/setapi" in stdout


def test_backup_restore_round_trip_and_damaged_file(deployment: Deployment, tmp_path: Path) -> None:
    source = deployment.app
    assert isinstance(source, redis.Redis)
    source.expire(f"user:{okx_uid(3)}:preferences", 5000)
    file = tmp_path / "full.ksbak"
    code, _, stderr = invoke("backup", str(file))
    assert code == 0, stderr
    header = verify(file, keys=BackupKeys.of(deployment.key))  # sealed with ENCRYPTION_KEY of the .env
    assert header["records"] == source.dbsize() and header["server_version"].startswith("7")
    raw = file.read_bytes()
    with running_server() as target:
        url = target.url
        code, _, stderr = invoke("restore", str(file), "--url", url)
        assert code == 0, stderr
        dest = target.client()
        keys = sorted(source.scan_iter(count=1000))
        assert sorted(dest.scan_iter(count=1000)) == keys
        for key in keys:
            assert value_of(dest, key) == value_of(source, key), key
            before, after = source.pttl(key), dest.pttl(key)
            assert (before == after == -1) or (before > 0 and abs(after - before) <= 1000), key
        code, _, stderr = invoke("restore", str(file), "--url", url)
        assert code == 1 and "already exist" in stderr
        code, _, _ = invoke("restore", str(file), "--url", url, "--replace")
        assert code == 0
        # damage one byte of the records: restore nothing and say which frame
        damaged_bytes = bytearray(raw)
        damaged_bytes[len(raw) // 2] ^= 0xFF
        damaged = tmp_path / "damaged.ksbak"
        damaged.write_bytes(bytes(damaged_bytes))
        dest.flushall()
        code, _, stderr = invoke("restore", str(damaged), "--url", url)
        assert code == 1 and "fails authentication" in stderr
        assert dest.dbsize() == 0
        truncated = tmp_path / "truncated.ksbak"
        truncated.write_bytes(raw[: len(raw) // 2])
        code, _, stderr = invoke("restore", str(truncated), "--url", url)
        assert code == 1 and dest.dbsize() == 0


def test_backup_of_selected_models_and_secrets_stay_encrypted(deployment: Deployment, tmp_path: Path) -> None:
    data = deployment.data
    file = tmp_path / "keys.ksbak"
    code, _, stderr = invoke("backup", str(file), "--model", "UserApiKeys")
    assert code == 0, stderr
    keys = BackupKeys.of(deployment.key)
    header = verify(file, keys=keys)
    assert set(header["counts"]) == {"UserApiKeys"}
    encrypted = next(k for k in data.secrets if k not in data.plaintext_keys)
    secret = data.secrets[encrypted]["api_secret"].encode()
    assert not any(secret in dump for _, _, dump in records(file, keys=keys))
    plaintext = next(iter(data.plaintext_keys))  # a legacy plaintext secret: in the file only sealed
    assert data.secrets[plaintext]["api_secret"].encode() not in file.read_bytes()


def test_info_for_both_servers(deployment: Deployment) -> None:
    code, stdout, _ = invoke("info", "--json")
    result = json.loads(stdout)
    assert code == 0 and set(result) == {"app", "celery"}
    assert result["app"]["redis_version"].startswith("7") and "db0" in result["app"]["keyspace"]
    assert PASSWORD not in stdout
