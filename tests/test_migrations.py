"""Migrations on a real redis-server: encrypt in place, resume after SIGKILL, concurrent writers, lock.

The stored form is the application's: ``enc_v1:`` + Fernet token
(``shared/security/encryption.py:45``, ``:101-105``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
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
from keyspace.errors import LockHeld, LockLost, MigrationError
from keyspace.ops.migrate import state
from keyspace.ops.migrate.state import APPLIED, LOCK, Lease, checkpoint_key
from keyspace.testing.dataset import okx_uid, seed

ENVELOPE = b"enc_v1:"

SECRET_FIELDS = (b"api_key", b"api_secret", b"passphrase")
SECRET_FAMILIES = ("UserApiKeys", "GridExchangeApiKeys", "GridUser", "GridUserKey", "ScriptApiKeys")


def opened(fernet: Fernet, stored: bytes) -> bytes:
    """The secret of a value in the application's stored form (refuses any other form)."""
    assert stored.startswith(ENVELOPE), "not in the enc_v1: stored form"
    return fernet.decrypt(stored[len(ENVELOPE) :])


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
        elif kind == b"zset":
            value = client.zrange(key, 0, -1, withscores=True)
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
    before, count = snapshot(app, skip_secrets=True), app.dbsize()
    ttls_taken = time.monotonic()  # before the TTLs are read: every reading is at least this late
    before_ttls = ttls(app)
    runner = Runner(mapper, batch=17)
    plan = runner.plan(to="0002")  # 0003 moves legacy statuses: other keys on purpose
    assert plan["tradingboost/0001"].by_field["UserApiKeys.api_secret"] == len(data.plaintext_keys)
    assert snapshot(app, skip_secrets=False) == snapshot(app, skip_secrets=False)  # plan wrote nothing
    assert app.exists(APPLIED) == 0
    reports = runner.up(to="0002")
    assert reports["tradingboost/0001"].ok and reports["tradingboost/0001"].changed == len(
        data.plaintext_keys
    )
    fernet = Fernet(key.encode())
    for api_key, secrets in data.secrets.items():
        stored = app.hgetall(api_key)
        for name, plaintext in secrets.items():
            assert opened(fernet, stored[name.encode()]) == plaintext.encode()  # under the current key
    state_keys = {k for k in app.scan_iter("keyspace:*")}
    after = {k: v for k, v in snapshot(app, skip_secrets=True).items() if k not in state_keys}
    assert after == before
    assert app.dbsize() - len(state_keys) == count
    assert {k: v for k, v in ttls(app).items() if k not in state_keys}.keys() == before_ttls.keys()
    for k, t in before_ttls.items():  # TTLs only ran down meanwhile (none was reset, none lost)
        now = app.ttl(k)
        assert t - (time.monotonic() - ttls_taken) - 1 <= now <= t
    assert runner.verify()["ok"]
    # idempotent: running the operation again changes nothing
    assert runner.up(to="0002") == {}
    again = runner.run_operations(runner.find("0001").operations, run_id="again")
    targeted = sum(data.counts.get(m, 0) for m in SECRET_FAMILIES)
    assert targeted >= 60 and again.scanned == targeted
    assert again.changed == 0 and again.already == targeted


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
    assert "tradingboost/0001" not in Runner(mapper).applied()
    assert app.exists(checkpoint_key("tradingboost/0001")) == 0  # a finished run leaves no checkpoint behind


@pytest.mark.slow
def test_cli_up_killed_with_sigkill_resumes_to_the_same_result(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    url, app, celery = env
    key = generate_key()
    keyring = Keyring(key)
    data = seed(app, celery, users=600, plaintext_share=1.0, keyring=keyring, bad_keys=False)
    proc = run_cli(
        ["migrate", "up", "--url", url, "--batch", "10", "--rate", "400", "--lease", "8", "-q"], key
    )
    deadline = time.monotonic() + 30
    while True:  # wait until some, but not all, keys are done
        done = sum(1 for k in data.plaintext_keys[::10] if app.hget(k, "api_key").startswith(ENVELOPE))
        if done >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert app.exists(LOCK) == 1  # the dead runner's lease is still there...
    partial = sum(1 for k in data.plaintext_keys if app.hget(k, "api_key").startswith(ENVELOPE))
    assert 0 < partial < len(data.plaintext_keys)
    assert app.exists(checkpoint_key("tradingboost/0001")) == 1
    blocked = run_cli(["migrate", "up", "--url", url, "-q"], key)
    _, stderr = blocked.communicate(timeout=60)
    assert blocked.returncode == 3 and "holds the lock" in stderr
    expires = time.monotonic() + 8 + 5  # ...until it expires by itself (the 8 s lease, and slack)
    while app.exists(LOCK) and time.monotonic() < expires:
        time.sleep(0.1)
    assert app.exists(LOCK) == 0
    resumed = run_cli(["migrate", "up", "--url", url, "--json", "-q"], key)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    result = json.loads(stdout)["tradingboost/0001"]
    assert result["changed"] + partial >= len(data.plaintext_keys)
    assert result["scanned"] >= len(data.plaintext_keys)  # counters carried over from the checkpoint
    fernet = Fernet(key.encode())
    for api_key, secrets in data.secrets.items():
        stored = app.hgetall(api_key)
        assert {n: opened(fernet, stored[n.encode()]).decode() for n in secrets} == secrets
    status = run_cli(["migrate", "status", "--url", url, "--json"], key)
    stdout, _ = status.communicate(timeout=60)
    rows = json.loads(stdout)["migrations"]
    assert len(rows) >= 2 and all(r["state"] == "applied" for r in rows)


@pytest.mark.slow
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
                models.UserApiKeys(user_id=okx_uid(i), api_key=f"k{n}", api_secret=value, passphrase="p")
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
        assert opened(fernet, stored).decode() == latest.get(api_key, secrets["api_secret"])
    assert latest  # the writer really ran during the migration


@pytest.mark.slow
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
    """The lease as programs: held by one runner, renewed inline after lease/3, lost when stolen."""
    url, app, _ = env
    mapper = Mapper.from_url(url)
    first = Lease(1.0, "test")
    mapper.run(state.acquire(first))
    with pytest.raises(LockHeld) as info:
        mapper.run(state.acquire(Lease(1.0, "other")))
    assert f"{socket.gethostname()}:{os.getpid()}" in str(info.value) and "(test)" in str(info.value)
    time.sleep(0.5)
    mapper.run(first.keep())  # more than a third of the lease passed: renewed
    assert app.pttl(LOCK) > 800
    time.sleep(0.7)  # 1.2 s after it was taken: alive only because it was renewed
    assert app.exists(LOCK) == 1
    app.set(LOCK, "stolen")
    time.sleep(0.4)
    with pytest.raises(LockLost, match="lost"):
        mapper.run(first.keep())
    mapper.run(state.release(first))
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
        got = only_new.get(models.UserApiKeys, user_id=uid)
        assert got.api_secret.get_secret_value() == secrets["api_secret"]


def test_ttl_policy_migration_never_expires_persistent_keys(
    env: tuple[str, redis.Redis, redis.Redis],
) -> None:
    _url, app, celery = env
    mapper = Mapper(app, celery, keyring=Keyring(generate_key()))
    seed(app, celery, users=10, keyring=mapper.ctx.keyring, bad_keys=False)
    for i in (1, 2, 3, 4):  # sessions of a writer that set no expiry (UserSession: 1 day)
        app.set(f"user:{okx_uid(i)}:session", json.dumps({"step": "idle"}))
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
    with pytest.raises(MigrationError, match="needed by applied tradingboost/0003"):
        runner.down("0002")
    app.hdel(APPLIED, "tradingboost/0003")  # as an operator would after reviewing: forget 0003
    with pytest.raises(MigrationError, match="no down"):
        runner.down("0002")
    app.hdel(APPLIED, "tradingboost/0002")  # as an operator would after reviewing: forget 0002
    with pytest.raises(PermissionError, match="allow-plaintext"):
        runner.down("0001")
    report = Runner(mapper, allow_plaintext=True).down("0001")
    assert report.ok and report.changed == 5
    first = data.plaintext_keys[0]
    assert app.hget(first, "api_secret").decode() == data.secrets[first]["api_secret"]
    assert Runner(mapper).status()["migrations"][0]["state"] == "pending"
    assert runner.stamp("0002") == ["tradingboost/0001", "tradingboost/0002"]
    rows = {r["id"]: r for r in Runner(mapper).status()["migrations"]}
    assert rows["tradingboost/0001"]["stamped"] and rows["tradingboost/0002"]["stamped"]
    assert rows["tradingboost/0003"]["state"] == "pending"
