"""Shared by the CLI tests: a private password-protected redis-server and a deployment folder with a .env."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from keyspace import Keyring, generate_key
from keyspace.cli import app
from keyspace.testing.dataset import Dataset, seed
from keyspace.testing.server import RedisServer, running_server

PASSWORD = "s3cret-pw-for-tests-only"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Deployment:
    key: str
    data: Dataset
    app: redis.Redis
    celery: redis.Redis
    dir: Path
    port: int


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("REDIS_", "CELERY_", "ENCRYPTION_", "KEYSPACE_")) and name != "KEYSPACE_PROJECT":
            monkeypatch.delenv(name)


def write_env(folder: Path, port: int, key: str, *, name: str = ".env") -> Path:
    path = folder / name
    path.write_text(
        f"REDIS_HOST=127.0.0.1\nREDIS_PORT={port}\nREDIS_DB=0\nREDIS_PASSWORD={PASSWORD}\n"
        f"CELERY_BROKER_URL_OVERRIDE=redis://:{PASSWORD}@127.0.0.1:{port}/1\n"
        f"CELERY_RESULT_BACKEND_OVERRIDE=redis://:{PASSWORD}@127.0.0.1:{port}/1\n"
        f"ENCRYPTION_KEY={key}\nREDIS_HEALTH_CHECK_INTERVAL=0\n"
    )
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with running_server(password=PASSWORD) as s:
        yield s


@pytest.fixture
def deployment(server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """A temp dir with a .env for the password-protected server, the dataset seeded, cwd there."""
    key = generate_key()
    write_env(tmp_path, server.port, key)
    clean_environment(monkeypatch)
    monkeypatch.setenv("KEYSPACE_REDIS_HISTORY", str(tmp_path / "history"))
    monkeypatch.chdir(tmp_path)
    app_client, celery_client = server.client(0), server.client(1)
    app_client.flushall()
    data = seed(app_client, celery_client, users=25, plaintext_share=0.4, keyring=Keyring(key))
    return Deployment(key, data, app_client, celery_client, tmp_path, server.port)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def run_module(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m keyspace ARGS`` in a child process (stdout is a pipe, not a terminal)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CELERY_", "COLUMNS"))}
    return subprocess.run(
        [sys.executable, "-m", "keyspace", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def value_of(client: redis.Redis, key: bytes | str) -> object:
    kind = client.type(key)
    if kind == b"hash":
        return kind, client.hgetall(key)
    if kind == b"set":
        return kind, client.smembers(key)
    if kind == b"list":
        return kind, client.lrange(key, 0, -1)
    return kind, client.get(key)


def snapshot(client: redis.Redis) -> dict[bytes, object]:
    return {k: value_of(client, k) for k in client.scan_iter(count=1000)}


def resolved(key: str) -> tuple[str, list[str]]:
    """The model of ``key`` and its key fields as ``--field value`` arguments (for get/scan)."""
    from keyspace.io.project import Project

    found = Project.discover().load_models().resolve(key)  # the configured schema, imported
    assert found is not None, key
    spec, values = found
    args = [item for name, value in values.items() for item in ("--" + name.replace("_", "-"), value)]
    return spec.name, args


def encrypted_key(d: Deployment) -> str:
    """A key of the dataset whose secrets are stored encrypted."""
    return next(k for k in sorted(d.data.secrets) if k not in d.data.plaintext_keys)


def bad_key(d: Deployment, what: str) -> str:
    """A deliberately bad key of the dataset, e.g. bad_key(d, "wrong type")."""
    return next(k for k, why in d.data.bad_keys.items() if what in why)
