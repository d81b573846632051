"""Migrations on a real redis-server: encrypt in place, resume after SIGKILL, concurrent writers, lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet

import models
from keyspace import Keyring, Mapper, Runner, generate_key
from keyspace.errors import LockHeld, MigrationError
from keyspace.ops.migrate.state import APPLIED, LOCK, LeaseLock, checkpoint_key
from keyspace.testing.dataset import okx_uid, seed

SECRET_FIELDS = (b"api_key", b"api_secret", b"passphrase")


@pytest.fixture
def env(redis_url: str) -> Iterator[tuple[str, redis.Redis, redis.Redis]]:
    app = redis.Redis.from_url(redis_url)
    celery = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1")
    app.flushall()
    yield redis_url, app, celery
    app.flushall()


def snapshot(client: redis.Redis, *, skip_secrets: bool) -> dict[bytes, Any]:
    """Every key's type, value and TTL (secret fields of API-key hashes left out when asked)."""
    out: dict[bytes, Any] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"hash":
            value: Any = client.hgetall(key)
            if skip_secrets and key.endswith(b":api:keys"):
                value = {k: v for k, v in value.items() if k not in SECRET_FIELDS}
        elif kind == b"string":
            value = client.get(key)
        elif kind == b"set":
            value = client.smembers(key)
        else:
            value = client.lrange(key, 0, -1)
        ttl = client.ttl(key)
        out[key] = (kind, value, ttl if ttl < 0 else "ttl")
    return out


def ttls(client: redis.Redis) -> dict[bytes, int]:
    return {k: client.ttl(k) for k in client.scan_iter(count=1000)}


def run_cli(args: list[str], key: str, **kw: Any) -> subprocess.Popen[str]:
    environment = {**os.environ, "ENCRYPTION_KEY": key, "KEYSPACE_DEBUG": "0"}
    environment.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "keyspace", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_up_encrypts_legacy_secrets_and_changes_nothing_else(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    _url, app, celery = env
    key = generate_key()
    mapper = Mapper(app, celery, keyring=Keyring(key))
    data = seed(app, celery, users=60, plaintext_share=0.5, keyring=mapper.ctx.keyring, bad_keys=False)
    assert data.plaintext_keys
    before, before_ttls, count = snapshot(app, skip_secrets=True), ttls(app), app.dbsize()
    ttls_taken = time.monotonic()
    runner = Runner(mapper, batch=17)
    plan = runner.plan()
    assert plan["tradingboost/0001"].by_field["UserApiKeys.api_secret"] == len(data.plaintext_keys)
    assert snapshot(app, skip_secrets=False) == snapshot(app, skip_secrets=False)  # plan wrote nothing
    assert app.exists(APPLIED) == 0
    reports = runner.up()
    assert reports["tradingboost/0001"].ok and reports["tradingboost/0001"].changed == len(
        data.plaintext_keys
    )
    fernet = Fernet(key.encode())
    for api_key, secrets in data.secrets.items():
        stored = app.hgetall(api_key)
        for name, plaintext in secrets.items():
            assert fernet.decrypt(stored[name.encode()]) == plaintext.encode()  # under the current key
    state_keys = {k for k in app.scan_iter("keyspace:*")}
    after = {k: v for k, v in snapshot(app, skip_secrets=True).items() if k not in state_keys}
    assert after == before
    assert app.dbsize() - len(state_keys) == count
    assert {k: v for k, v in ttls(app).items() if k not in state_keys}.keys() == before_ttls.keys()
    elapsed = time.monotonic() - ttls_taken  # TTLs only ran down meanwhile (none was reset)
    for k, t in before_ttls.items():
        assert t - elapsed - 1 <= app.ttl(k) <= t
    assert runner.verify()["ok"]
    # idempotent: running the operation again changes nothing
    assert runner.up() == {}
    again = runner._run_ops("again", runner.find("0001").operations, _NoLock())
    assert again.changed == 0 and again.already == 60


class _NoLock:
    def check(self) -> None:
        pass


def test_bad_keys_are_reported_left_untouched_and_block_recording(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    _url, app, celery = env
    mapper = Mapper(app, celery, keyring=Keyring(generate_key()))
    data = seed(app, celery, users=10, keyring=mapper.ctx.keyring)
    bad_before = {k: (app.type(k), app.dump(k)) for k in data.bad_keys}
    reports = Runner(mapper).up()
    report = reports["tradingboost/0001"]
    assert not report.ok
    assert report.skipped == {"wrong_type": 1, "undecryptable": 1}
    assert set(report.errors["undecryptable"]) | set(report.errors["wrong_type"]) <= set(data.bad_keys)
    assert {k: (app.type(k), app.dump(k)) for k in data.bad_keys} == bad_before
    assert "tradingboost/0001" not in Runner(mapper).state.applied()
    assert app.exists(checkpoint_key("tradingboost/0001")) == 0  # a finished run leaves no checkpoint behind


def test_cli_up_killed_with_sigkill_resumes_to_the_same_result(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    url, app, celery = env
    key = generate_key()
    keyring = Keyring(key)
    data = seed(app, celery, users=600, plaintext_share=1.0, keyring=keyring, bad_keys=False)
    proc = run_cli(
        ["migrate", "up", "--url", url, "--batch", "10", "--rate", "400", "--lease", "2", "-q"], key
    )
    deadline = time.monotonic() + 30
    while True:  # wait until some, but not all, keys are done
        done = sum(1 for k in data.plaintext_keys[::10] if app.hget(k, "api_key").startswith(b"gAAAAA"))
        if done >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert app.exists(LOCK) == 1  # the dead runner's lease is still there...
    partial = sum(1 for k in data.plaintext_keys if app.hget(k, "api_key").startswith(b"gAAAAA"))
    assert 0 < partial < len(data.plaintext_keys)
    assert app.exists(checkpoint_key("tradingboost/0001")) == 1
    blocked = run_cli(["migrate", "up", "--url", url, "-q"], key)
    _, stderr = blocked.communicate(timeout=60)
    assert blocked.returncode == 3 and "holds the lock" in stderr
    time.sleep(2.2)  # ...until it expires by itself
    resumed = run_cli(["migrate", "up", "--url", url, "--json", "-q"], key)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    result = json.loads(stdout)["tradingboost/0001"]
    assert result["changed"] + partial >= len(data.plaintext_keys)
    assert result["scanned"] >= len(data.plaintext_keys)  # counters carried over from the checkpoint
    fernet = Fernet(key.encode())
    for api_key, secrets in data.secrets.items():
        stored = app.hgetall(api_key)
        assert {n: fernet.decrypt(stored[n.encode()]).decode() for n in secrets} == secrets
    status = run_cli(["migrate", "status", "--url", url, "--json"], key)
    stdout, _ = status.communicate(timeout=60)
    assert [r["state"] for r in json.loads(stdout)["migrations"]] == ["applied", "applied"]


def test_concurrent_writer_wins_and_ends_encrypted(env: tuple[str, redis.Redis, redis.Redis]) -> None:
    url, app, celery = env
    key = generate_key()
    keyring = Keyring(key)
    data = seed(app, celery, users=300, plaintext_share=1.0, keyring=keyring, bad_keys=False)
    writer = Mapper.from_url(url, keyring=keyring)
    latest: dict[str, str] = {}
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            i = 1 + n % 300
            value = f"rotated-secret-{n}"
            writer.save(
                models.UserApiKeys(okx_uid=okx_uid(i), api_key=f"k{n}", api_secret=value, passphrase="p")
            )
            latest[f"user:{okx_uid(i)}:api:keys"] = value
            n += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        report = Runner(Mapper.from_url(url, keyring=keyring), batch=10, rate=2000).up()["tradingboost/0001"]
    finally:
        stop.set()
        thread.join()
    assert report.ok
    fernet = Fernet(key.encode())
    for api_key, secrets in data.secrets.items():
        stored = app.hget(api_key, "api_secret")
        assert fernet.decrypt(stored).decode() == latest.get(api_key, secrets["api_secret"])
    assert latest  # the writer really ran during the migration


def test_two_runners_one_runs_the_other_refuses(env: tuple[str, redis.Redis, redis.Redis]) -> None:
    url, app, celery = env
    key = generate_key()
    seed(app, celery, users=300, plaintext_share=1.0, keyring=Keyring(key), bad_keys=False)
    procs = [
        run_cli(["migrate", "up", "--url", url, "--batch", "20", "--rate", "100", "-q"], key)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    refusal = next(text for code, text in results if code == 3)
    assert "holds the lock" in refusal and "since" in refusal and ":" in refusal


def test_lock_unit(env: tuple[str, redis.Redis, redis.Redis]) -> None:
    url, app, _ = env
    mapper = Mapper.from_url(url)
    execute = mapper._executors["app"]
    with LeaseLock(execute, lease=1.0) as first:
        with pytest.raises(LockHeld) as info:
            LeaseLock(execute, lease=1.0).acquire()
        assert first.value.split('"holder": "')[1].split('"')[0] in str(info.value)
        time.sleep(1.5)  # the heartbeat keeps the lease alive past its length
        assert app.exists(LOCK) == 1
        app.set(LOCK, "stolen")
        time.sleep(0.5)
        with pytest.raises(Exception, match="lost"):
            first.check()
    assert app.get(LOCK) == b"stolen"  # compare-and-delete never removes someone else's lock


def test_rotate_keys_then_verify_allows_dropping_the_old_key(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    _url, app, celery = env
    old, new = generate_key(), generate_key()
    data = seed(app, celery, users=40, plaintext_share=0.0, keyring=Keyring(old), bad_keys=False)
    runner = Runner(Mapper(app, celery, keyring=Keyring(new, [old])))
    assert not runner.verify()["ok"]
    report = runner.rotate_keys()
    assert report.ok and report.changed == 40
    assert runner.verify()["ok"]
    only_new = Mapper(app, celery, keyring=Keyring(new))
    for api_key, secrets in data.secrets.items():
        uid = api_key.split(":")[1]
        got = only_new.get(models.UserApiKeys, okx_uid=uid)
        assert got.api_secret.get_secret_value() == secrets["api_secret"]


def test_ttl_policy_migration_never_expires_persistent_keys(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    _url, app, celery = env
    mapper = Mapper(app, celery, keyring=Keyring(generate_key()))
    seed(app, celery, users=10, keyring=mapper.ctx.keyring, bad_keys=False)
    for i in (1, 2, 3):
        app.persist(f"user:{okx_uid(i)}:session")
    app.expire(f"user:{okx_uid(4)}:session", 50)
    runner = Runner(mapper)
    runner.stamp("0001")
    report = runner.up()["tradingboost/0002"]
    assert report.changed == 3
    for i in (1, 2, 3):
        assert 86000 < app.ttl(f"user:{okx_uid(i)}:session") <= 86400
    assert app.ttl(f"user:{okx_uid(4)}:session") <= 50  # an existing expiry is never replaced
    assert app.ttl(f"user:{okx_uid(1)}:api:keys") == -1 and app.ttl(f"user:{okx_uid(1)}:settings") == -1


def test_down_needs_allow_plaintext_and_status_check_stamp(env: tuple[str, redis.Redis, redis.Redis]) -> None:
    url, app, celery = env
    key = generate_key()
    mapper = Mapper(app, celery, keyring=Keyring(key))
    data = seed(app, celery, users=5, plaintext_share=1.0, keyring=mapper.ctx.keyring, bad_keys=False)
    check = run_cli(["migrate", "check", "--url", url], key)
    assert check.wait(timeout=60) == 1
    runner = Runner(mapper)
    runner.up()
    assert run_cli(["migrate", "check", "--url", url], key).wait(timeout=60) == 0
    with pytest.raises(MigrationError, match="needed by"):
        runner.down("0001")  # 0002 depends on it
    with pytest.raises(MigrationError, match="no down"):
        runner.down("0002")
    runner.state.unmark("tradingboost/0002")  # as an operator would after reviewing: forget 0002
    with pytest.raises(PermissionError, match="allow-plaintext"):
        runner.down("0001")
    report = Runner(mapper, allow_plaintext=True).down("0001")
    assert report.ok and report.changed == 5
    first = data.plaintext_keys[0]
    assert app.hget(first, "api_secret").decode() == data.secrets[first]["api_secret"]
    assert Runner(mapper).status()["migrations"][0]["state"] == "pending"
    assert runner.stamp("0002") == ["tradingboost/0001", "tradingboost/0002"]
    rows = Runner(mapper).status()["migrations"]
    assert all(r["stamped"] for r in rows)
