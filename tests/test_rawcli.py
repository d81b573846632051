"""redis-remote / redis-local: an allowlist, --force only as the tool's leading option, help, history."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keyspace.cli.rawcli import local_main, recordable, refusal, remote_main
from tests.cli_support import PASSWORD, Deployment, deployment, server, snapshot

__all__ = ["deployment", "server"]  # fixtures

# Each of these wiped or reconfigured the database without --force when only a blocklist existed.
DANGEROUS = [
    ["EVAL", "return redis.call('FLUSHDB')", "0"],
    ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    ["FCALL", "wipe", "0"],
    ["FUNCTION", "FLUSH"],
    ["SCRIPT", "FLUSH"],
    ["SWAPDB", "0", "1"],
    ["ACL", "SETUSER", "intruder", "on", ">pw", "allcommands", "allkeys"],
    ["ACL", "DELUSER", "default"],
    ["REPLICAOF", "127.0.0.1", "1"],
    ["SLAVEOF", "127.0.0.1", "1"],
    ["MIGRATE", "127.0.0.1", "1", "", "0", "1000", "KEYS", "user:1:settings"],
    ["CLIENT", "PAUSE", "100000"],
    ["CLIENT", "KILL", "TYPE", "normal"],
    ["FLUSHDB"],
    ["FLUSHALL"],
    ["CONFIG", "SET", "maxmemory", "1"],
    ["DEBUG", "SLEEP", "0"],
    ["SHUTDOWN", "NOSAVE"],
    ["RENAME", "user:500000000000000001:settings", "gone"],
    ["MSET", "a", "1", "b", "2"],
    ["DEL", "user:500000000000000001:settings", "user:500000000000000002:settings"],
    ["SELECT", "1"],
    ["BGSAVE"],
]


def remote(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        remote_main(list(argv))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def local(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        local_main(list(argv))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.mark.parametrize("command", DANGEROUS, ids=lambda c: " ".join(c[:2]))
def test_every_command_outside_the_allowlist_is_refused_and_the_data_is_intact(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    before_app, before_celery = snapshot(deployment.app), snapshot(deployment.celery)
    code, out, err = remote(capsys, *command)
    assert code == 2 and "(refused)" in err and "--force" in err, (code, out, err)
    code, out, err = local(capsys, "1", *command)
    assert code == 2 and "(refused)" in err, (code, out, err)
    assert snapshot(deployment.app) == before_app and snapshot(deployment.celery) == before_celery
    assert deployment.app.execute_command("PING")  # the server still answers (no pause, no shutdown)


def test_force_is_only_the_tools_leading_option(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    # after the command, --force is data: SET stores it, EVAL passes it to the script (and is refused)
    code, out, _ = remote(capsys, "SET", "note", "--force")
    assert code == 0 and out.strip() == "OK" and deployment.app.get("note") == b"--force"
    code, _, err = remote(capsys, "EVAL", "return redis.call('FLUSHDB')", "0", "--force")
    assert code == 2 and "(refused)" in err and deployment.app.dbsize() > 0
    # a harmless forced command runs; then the forced script really flushes
    code, out, _ = remote(capsys, "--force", "CLIENT", "PAUSE", "10")
    assert code == 0 and out.strip() == "OK"
    code, out, _ = remote(capsys, "--force", "REPLICAOF", "NO", "ONE")
    assert code == 0 and out.strip() == "OK"
    code, out, _ = remote(capsys, "--force", "SWAPDB", "0", "1")
    assert code == 0 and deployment.celery.exists("note")
    remote(capsys, "--force", "SWAPDB", "0", "1")
    code, out, _ = remote(capsys, "--force", "ACL", "SETUSER", "tmpuser", "off")
    assert code == 0 and out.strip() == "OK"
    code, out, _ = remote(capsys, "--force", "ACL", "DELUSER", "tmpuser")
    assert code == 0 and out.strip() == "(integer) 1"
    code, out, _ = remote(capsys, "--force", "SCRIPT", "FLUSH")
    assert code == 0 and out.strip() == "OK"
    code, out, _ = remote(capsys, "--force", "FUNCTION", "FLUSH")
    assert code == 0 and out.strip() == "OK"
    code, out, _ = remote(capsys, "--force", "FCALL", "nothing", "0")
    assert code == 1 and "(error)" in out  # sent: the server answers
    code, out, _ = remote(capsys, "--force", "MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS", "nothing")
    assert code == 0 and out.strip() == "NOKEY"
    code, out, _ = remote(capsys, "--force", "CLIENT", "KILL", "ID", "999999999")
    assert code == 0 and out.strip() == "(integer) 0"  # sent: no such client
    code, out, _ = local(capsys, "1", "--force", "DEL", "a", "b")
    assert code == 0
    code, out, _ = remote(capsys, "--force", "EVAL", "return redis.call('FLUSHDB')", "0")
    assert code == 0 and deployment.app.dbsize() == 0


def test_the_allowlist_runs_reads_and_single_key_writes(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "user:500000000000000001:preferences"
    for command in (
        ["HGETALL", key],
        ["HGET", key, "language"],
        ["SCAN", "0", "MATCH", "user:*", "COUNT", "100"],
        ["INFO", "server"],
        ["DBSIZE"],
        ["TTL", key],
        ["TYPE", key],
        ["MEMORY", "USAGE", key],
        ["CLIENT", "LIST"],
        ["HSET", key, "alerts", "off"],
        ["EXPIRE", key, "1000"],
        ["DEL", "nothing-here"],
    ):
        code, out, err = remote(capsys, *command)
        assert code == 0 and "(refused)" not in err, (command, out, err)
    assert deployment.app.hget(key, "alerts") == b"off"
    code, _, err = remote(capsys, "KEYS", "user:*")
    assert code == 2 and "keyspace scan" in err  # KEYS stays refused on the app server
    code, out, _ = local(capsys, "1", "KEYS", "celery*")
    assert code == 0 and "celery" in out


def test_help_and_version_are_answered_by_the_tool(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["--help"], ["-h"], ["--force", "--help"]):
        code, out, err = remote(capsys, *argv)
        assert code == 0 and "usage: redis-remote" in out and "--force" in out and not err
    code, out, _ = local(capsys, "1", "--help")
    assert code == 0 and "usage: redis-local" in out
    code, out, _ = remote(capsys, "--version")
    assert code == 0 and out.startswith("redis-remote (keyspace ")
    code, _, err = remote(capsys, "--forse", "PING")
    assert code == 2 and "unknown option" in err
    code, out, _ = remote(capsys, "ECHO", "--help")  # after the command: data
    assert code == 0 and out.strip() == '"--help"'


def test_refusal_is_decided_by_the_allowlist() -> None:
    assert refusal(["get", "k"], app_server=True, force=False) is None
    assert refusal(["eval", "x", "0"], app_server=False, force=False)
    assert refusal(["client", "list"], app_server=True, force=False) is None
    assert refusal(["client", "kill", "id", "1"], app_server=True, force=False)
    assert refusal(["unheard-of"], app_server=False, force=False)
    assert refusal(["flushall"], app_server=False, force=True) is None


def test_credential_lines_are_never_recorded() -> None:
    for line in (
        "AUTH default pw",
        "auth pw",
        "--force AUTH pw",
        "HELLO 3 AUTH default pw",
        "CONFIG SET requirepass pw",
        "--force config set masterauth pw",
        "ACL SETUSER bob on >pw",
        'MIGRATE h 1 "" 0 10 AUTH pw KEYS a',
        'AUTH "unbalanced',
    ):
        assert not recordable(line), line
    for line in ("GET author:1", "HGETALL user:1:api:keys", "PING"):
        assert recordable(line), line


def test_interactive_prompt_keeps_a_history_without_credentials(deployment: Deployment) -> None:
    home = deployment.dir / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CELERY_", "KEYSPACE_REDIS"))}
    env["HOME"] = str(home)
    lines = [
        "PING",
        f"AUTH {PASSWORD}",
        f"HELLO 3 AUTH default {PASSWORD}",
        f"CONFIG SET requirepass {PASSWORD}",
        f"ACL SETUSER someone on >{PASSWORD}",
        "FLUSHDB",
        "--force ECHO forced",
        "HGET user:500000000000000001:preferences language",
        "quit",
    ]
    done = subprocess.run(
        [sys.executable, "-c", "from keyspace.cli.rawcli import remote_main; remote_main()"],
        cwd=deployment.dir,
        env=env,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done
    assert "PONG" in done.stdout and '"forced"' in done.stdout
    assert "(refused) FLUSHDB" in done.stderr and deployment.app.dbsize() > 0
    history = home / ".keyspace_redis_history"
    text = history.read_text()
    assert "PING" in text and "HGET user:500000000000000001:preferences language" in text
    assert PASSWORD not in text and "AUTH" not in text.upper().replace("HGET", "")
    assert oct(history.stat().st_mode & 0o777) == "0o600"


def test_console_scripts_are_declared() -> None:
    import tomllib

    scripts = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    assert scripts["redis-remote"] == "keyspace.cli.rawcli:remote_main"
    assert scripts["redis-local"] == "keyspace.cli.rawcli:local_main"
    assert scripts["keyspace"] == "keyspace.cli:main"
