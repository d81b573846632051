"""Refusal messages name the server without its password (issue 12 §4): `keyspace demo --url` and
the examples refuse a non-empty database, and said so with the URL's password in it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keyspace.cli import app
from keyspace.testing.server import RedisServer, running_server

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-Refusal-0451"


@pytest.fixture(scope="module")
def busy() -> Iterator[RedisServer]:
    with running_server(password=PASSWORD) as server:
        server.client().set("someone:else", "1")  # not empty
        yield server


def url(server: RedisServer) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"


def test_demo_refuses_a_non_empty_server_without_printing_its_password(busy: RedisServer) -> None:
    result = CliRunner().invoke(app, ["demo", "--url", url(busy)])
    assert result.exit_code == 2
    assert "not empty" in result.output and PASSWORD not in result.output
    assert "***" in result.output


def test_an_example_refuses_a_non_empty_server_without_printing_its_password(busy: RedisServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "ENCRYPTION_"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "07_migration_walkthrough.py"), "--url", url(busy)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode != 0
    assert "not empty" in done.stderr + done.stdout
    assert PASSWORD not in done.stderr + done.stdout
