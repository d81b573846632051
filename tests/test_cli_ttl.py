"""`keyspace ttl apply`: the TTL policy as an operation an operator can run at any time (issue 15 §2).

Doctor's advice for keys without their policy's expiry names this command; it works after
migration 0002 was recorded as applied, for a model added later.
"""

from __future__ import annotations

import json

import redis
from typer.testing import CliRunner

from keyspace.cli import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_ttl_apply_gives_expiries_and_leaves_persistent_and_keep_families_alone(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    uid = "500000000000000001"
    running = f"user:{uid}:symbol:BTC-USDT-SWAP:task_running"  # TTL 60 s by the model's policy
    client.hset(running, mapping={"status": "running", "started_at": "1744777560.5"})
    position = f"user:{uid}:position:BTC-USDT-SWAP:long"  # TTL "keep": another writer's business
    client.hset(position, mapping={"size": "0.5"})
    preferences = f"user:{uid}:preferences"  # persistent
    client.hset(preferences, mapping={"symbol": "BTC-USDT-SWAP", "timeframe": "1m"})
    # 0002 recorded as applied long ago: the advice must still lead somewhere
    client.hset("keyspace:migrations:applied", "tradingboost/0002", json.dumps({"applied_at": "x"}))

    code, out = run("ttl", "apply", "--url", redis_url, "--dry-run", "--json")
    assert code == 0 and json.loads(out)["report"]["changed"] == 1
    assert client.ttl(running) == -1  # a dry run writes nothing

    code, out = run("ttl", "apply", "--url", redis_url, "--json")
    report = json.loads(out)["report"]
    assert code == 0 and report["changed"] == 1
    assert 0 < client.ttl(running) <= 60
    assert client.ttl(position) == -1 and client.ttl(preferences) == -1
    code, out = run("ttl", "apply", "--url", redis_url, "--json")
    assert json.loads(out)["report"]["changed"] == 0  # idempotent: EXPIRE … NX


def test_ttl_apply_refuses_an_unknown_model(redis_url: str) -> None:
    code, _ = run("ttl", "apply", "--url", redis_url, "--model", "NoSuchModel")
    assert code == 2
