"""keyspace on a real Redis Cluster (3 primaries, 3 replicas): routing, migrations, CLI, failover.

The contract suites (test_contract, test_async, test_encryption) also run on
this cluster through the ``backend`` fixture; this file covers what is
cluster-specific.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

import models
from keyspace import HashModel, Keyring, Mapper, Rekey, Runner, generate_key
from keyspace.cli import app
from keyspace.core.slots import slot_of
from keyspace.io.budgets import Timeouts
from keyspace.io.links import LinkOptions
from keyspace.ops.migrate.state import checkpoint_key
from keyspace.testing.dataset import okx_uid, seed
from keyspace.testing.server import running_cluster


@pytest.fixture
def rc(cluster_url: str) -> Iterator[redis.RedisCluster]:
    client = redis.RedisCluster.from_url(cluster_url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


def first_slots(url: str) -> set[int]:
    """The first slot of every primary (what a cluster SCAN cursor names), from CLUSTER SLOTS."""
    node = redis.Redis.from_url(url)
    starts: dict[tuple[str, int], int] = {}
    for start, _end, primary, *_ in node.execute_command("CLUSTER", "SLOTS"):
        ident = (primary[0], int(primary[1]))
        starts[ident] = min(starts.get(ident, int(start)), int(start))
    node.close()
    return set(starts.values())


def key_count(client: redis.RedisCluster) -> int:
    return sum(1 for _ in client.scan_iter(count=1000))


class Tagged(HashModel, key="tag:user:{uid}:order:{order}", hash_tag="uid", register=False):
    uid: int
    order: int
    qty: int = 0


def test_hash_tag_puts_one_users_keys_in_one_slot(cluster_url: str, rc: redis.RedisCluster) -> None:
    mapper = Mapper.from_url(cluster_url, cluster=True)
    keys = [Tagged(uid=7, order=i).redis_key for i in range(20)]
    assert keys[0] == "tag:user:{7}:order:0"
    assert len({slot_of(k) for k in keys}) == 1
    mapper.save_many([Tagged(uid=7, order=i, qty=i) for i in range(20)])
    assert sorted(t.order for t in mapper.scan(Tagged, uid=7)) == list(range(20))
    assert rc.hget("tag:user:{7}:order:3", "qty") == b"3"
    # the TradingBoost models keep their legacy names: no braces
    assert models.UserApiKeys(user_id=okx_uid(1), api_key="a", api_secret="b", passphrase="c").redis_key == (
        f"user:{okx_uid(1)}:api:keys"
    )


def test_alternate_keys_in_different_slots(cluster_url: str, rc: redis.RedisCluster) -> None:
    mapper = Mapper.from_url(cluster_url, cluster=True)
    status = models.TradingStatus(okx_uid=okx_uid(1), telegram_id="123456789", status="running")
    first, second = status.redis_keys()
    assert slot_of(first) != slot_of(second)  # the case the cluster guarantee is about
    mapper.save(status)
    assert rc.get(first) == b"running" and rc.get(second) == b"running"
    assert mapper.delete(models.TradingStatus, okx_uid=okx_uid(1), telegram_id="123456789")
    assert rc.exists(first) == 0 and rc.exists(second) == 0


def test_migration_on_the_cluster_resumes_per_node(cluster_url: str, rc: redis.RedisCluster) -> None:
    key = generate_key()
    keyring = Keyring(key)
    data = seed(rc, None, users=400, plaintext_share=1.0, keyring=keyring, bad_keys=False)
    before = key_count(rc)
    mapper = Mapper.from_url(cluster_url, cluster=True, keyring=keyring)

    class Crash(Exception):
        pass

    calls = 0

    def crash_after_some_batches(label: str, done: int, total: int | None) -> None:
        nonlocal calls
        calls += label.endswith(": UserApiKeys")
        if calls == 6:
            raise Crash

    with pytest.raises(Crash):
        Runner(mapper, batch=50, progress=crash_after_some_batches).up(to="0001")
    checkpoints = rc.hgetall(checkpoint_key("tradingboost/0001"))
    saved = json.loads(checkpoints[b"0:UserApiKeys:user:{user_id}:api:keys"])
    assert ":" in saved["cursor"] and not saved["done"]  # "<first slot of the node>:<node cursor>"
    node_slot = int(saved["cursor"].split(":")[0])
    assert node_slot in (0, *first_slots(cluster_url))
    done_before = sum(1 for k in data.plaintext_keys if rc.hget(k, "api_key").startswith(b"enc_v1:"))
    assert 0 < done_before < len(data.plaintext_keys)
    reports = Runner(mapper, batch=50).up(to="0001")
    assert reports["tradingboost/0001"].ok
    fernet_ok = all(
        keyring.classify(rc.hget(k, f), "enc_v1:").kind == "current"
        for k in data.plaintext_keys
        for f in ("api_key", "api_secret", "passphrase")
    )
    assert fernet_ok
    for api_key, secrets in data.secrets.items():
        uid = api_key.split(":")[1]
        assert (
            mapper.get(models.UserApiKeys, user_id=uid).api_secret.get_secret_value() == secrets["api_secret"]
        )
    assert Runner(mapper).verify()["ok"]
    state = {k for k in rc.scan_iter("keyspace:*")}
    assert key_count(rc) - len(state) == before


def test_per_item_and_rekey_across_slots_on_the_cluster(cluster_url: str, rc: redis.RedisCluster) -> None:
    """The building blocks of schema migrations on a cluster: one item's keys in several slots, the done
    marker written only after them; keys moved to a new id (another slot) with DUMP/RESTORE, TTL kept."""
    from tests.migrate_support import PER_ITEM, registry

    for i in range(1, 41):
        rc.set(f"mu:{i}:status", "running")
        rc.hset(f"mu:{i}:prefs", "symbol", f"S{i}")
    mapper = Mapper.from_url(cluster_url, cluster=True)
    runner = Runner(mapper, registry=registry(), batch=7)
    report = runner.run_operations([PER_ITEM], run_id="multi")
    assert report.ok and report.changed == 40
    written = [f"mu:{i}:sym:S{i}:status" for i in range(1, 41)] + [f"mu:{i}:active" for i in range(1, 41)]
    assert len({slot_of(k) for k in written}) > 40  # the items' keys really are spread over slots
    assert all(rc.smembers(f"mu:{i}:active") == {f"S{i}".encode()} for i in range(1, 41))
    assert runner.run_operations([PER_ITEM], run_id="multi").changed == 0

    for t in range(1, 21):
        rc.set(f"mmap:{100_000_000 + t}:uid", str(200_000_000 + t))
        rc.hset(f"mu:{100_000_000 + t}:prefs", mapping={"symbol": f"S{t}"})
        rc.pexpire(f"mu:{100_000_000 + t}:prefs", 900_000)
    op = Rekey(["MPrefs"], field="user_id", id_map="mmap:{tid}:uid", source=r"1[0-9]{8}", delete_source=True)
    moved = runner.run_operations([op], run_id="rekey")
    assert moved.ok and moved.changed == 20
    for t in range(1, 21):
        new = f"mu:{200_000_000 + t}:prefs"
        assert rc.hgetall(new) == {b"symbol": f"S{t}".encode()} and 800_000 < rc.pttl(new) <= 900_000
        assert rc.exists(f"mu:{100_000_000 + t}:prefs") == 0


def test_cli_stats_scan_backup_restore_doctor_on_the_cluster(
    cluster_url: str, rc: redis.RedisCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    for name in list(os.environ):
        if name.startswith(("REDIS_", "CELERY_", "ENCRYPTION_", "KEYSPACE_")) and name != "KEYSPACE_PROJECT":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_CLUSTER", "1")
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    monkeypatch.setenv("REDIS_HEALTH_CHECK_INTERVAL", "0")
    data = seed(rc, None, users=30, plaintext_share=0.5, keyring=Keyring(key))
    runner = CliRunner()

    result = runner.invoke(app, ["stats", "--url", cluster_url, "--json"])
    assert result.exit_code == 0, result.output
    stats = {m["model"]: m for m in json.loads(result.stdout)["models"]}
    assert stats["UserApiKeys"]["keys"] == 32 and stats["UserApiKeys"]["plaintext_secrets"] == len(
        data.plaintext_keys
    )
    assert stats["Position"]["keys"] == data.counts["Position"]

    result = runner.invoke(app, ["scan", "TradingStatus", "--url", cluster_url, "--json"])
    assert len(result.stdout.splitlines()) == data.counts["TradingStatus"]

    result = runner.invoke(app, ["doctor", "--url", cluster_url, "--json"])
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    assert result.exit_code == 1 and checks["bad keys"]["status"] == "fail"
    assert checks["plaintext secrets"]["status"] == "warn"

    file = tmp_path / "cluster.ksbak"
    result = runner.invoke(app, ["backup", str(file), "--url", cluster_url])
    assert result.exit_code == 0, result.output
    snapshot = {k: (rc.type(k), rc.dump(k) is not None, rc.pttl(k)) for k in rc.scan_iter(count=1000)}
    rc.flushall()
    result = runner.invoke(app, ["restore", str(file), "--url", cluster_url])
    assert result.exit_code == 0, result.output
    restored = {k: (rc.type(k), rc.dump(k) is not None, rc.pttl(k)) for k in rc.scan_iter(count=1000)}
    assert restored.keys() == snapshot.keys()
    for k, (kind, _, pttl) in snapshot.items():
        assert restored[k][0] == kind and (pttl == -1 == restored[k][2] or abs(restored[k][2] - pttl) < 1500)


@pytest.mark.slow
def test_failover_during_writes_loses_no_acknowledged_write() -> None:
    """Kill a primary during a stream of writes: the replica takes over, the client carries on."""
    options = LinkOptions(
        failure_threshold=1000,  # let the test watch the failover itself
        wait_replicas=1,  # a write is acknowledged once a replica has it
        health_check_interval=0,
        timeouts=Timeouts(fast=1.0, normal=1.0, slow=2.0, pipeline=2.0),
    )
    # two replicas per primary: after the failover the new primary still has one, so WAIT 1 holds
    with running_cluster(replicas=2, node_timeout_ms=1000) as cluster:
        mapper = Mapper.from_url(cluster.url, cluster=True, link_options=options)
        acked: dict[str, int] = {}  # key -> the last acknowledged value
        tried: dict[str, set[int]] = {}  # key -> values tried since then (a failed write may still land)
        victim = cluster.primary_for(f"user:{okx_uid(1)}:position:BTC-USDT-SWAP:long")
        killed_at: float | None = None
        failures = successes_after_kill = 0
        i = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and successes_after_kill < 300:
            i += 1
            position = models.Position(
                user_id=okx_uid(i % 50 + 1), symbol="BTC-USDT-SWAP", side="long", size=str(i)
            )
            key = position.redis_key
            try:
                mapper.save(position)
            except Exception as exc:  # any failure while the cluster fails over
                assert killed_at is not None, exc
                tried.setdefault(key, set()).add(i)
                failures += 1
                time.sleep(0.02)
            else:
                acked[key] = i
                tried[key] = set()
                if killed_at is not None:
                    successes_after_kill += 1
            if i == 200:
                assert victim.process is not None
                victim.process.send_signal(signal.SIGKILL)
                victim.process.wait()
                killed_at = time.monotonic()
        assert killed_at is not None and failures > 0  # the failover really happened under the writes
        assert successes_after_kill >= 300, "writes did not resume after the failover"
        cluster.wait_ok()
        for key, value in acked.items():
            user = key.split(":")[1]
            got = mapper.get(models.Position, user_id=user, symbol="BTC-USDT-SWAP", side="long")
            assert got is not None, key
            assert int(got.size) in {value} | tried[key], (key, value, got.size)
