"""Every example runs with no server and no configuration, and against a real server with --url."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("[0-9][0-9]_*.py"))


def run(example: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "CELERY_", "ENCRYPTION_", "KEYSPACE_"))
    }
    return subprocess.run(
        [sys.executable, str(example), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_runs_in_memory(example: Path) -> None:
    result = run(example)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_runs_on_a_real_server(example: Path, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    result = run(example, "--url", redis_url)
    assert result.returncode == 0, result.stderr[-2000:]
    leftovers = [k for k in client.scan_iter(count=1000) if not k.startswith(b"keyspace:")]
    assert leftovers == [], f"{example.name} left keys behind: {leftovers[:5]}"
