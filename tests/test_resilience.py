"""Fault injection on a real redis-server: breaker, budgets, pool, redis_context, fork, Celery.

Wall-clock assertions appear only where a time budget is the feature, with
generous slack.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Iterator

import pytest
import redis

from keyspace import AsyncMapper, Mapper, redis_context, redis_context_sync
from keyspace.errors import CircuitOpen, OperationTimeout, PoolExhausted, ServerUnavailable
from keyspace.io.breaker import CircuitBreaker
from keyspace.io.budgets import Timeouts
from keyspace.io.links import LinkOptions, in_use
from keyspace.testing.server import RedisServer, running_server
from tests.models_for_tests import TStatus

FAST = LinkOptions(
    failure_threshold=3,
    reset_timeout=0.5,
    pool_timeout=0.3,
    max_connections=4,
    health_check_interval=0,
    timeouts=Timeouts(fast=0.3, normal=0.4, slow=0.5, pipeline=0.6),
)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_server() as s:
        yield s


def get_calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def test_breaker_unit_transitions() -> None:
    now = [0.0]
    b = CircuitBreaker("app", failure_threshold=2, reset_timeout=10, clock=lambda: now[0])
    b.record_failure()
    b.before_call()  # still closed after one failure
    b.record_failure()
    assert b.state == "open"
    with pytest.raises(CircuitOpen):
        b.before_call()
    now[0] = 10.0
    b.before_call()  # the single trial
    assert b.state == "half-open"
    with pytest.raises(CircuitOpen):
        b.before_call()  # everyone else still fails fast
    b.record_failure()
    assert b.state == "open"
    now[0] = 20.0
    b.before_call()
    b.record_success()
    assert b.state == "closed" and b.snapshot().consecutive_failures == 0
    b.record_failure()
    b.record_success()  # a success resets the count: failures must be consecutive
    b.record_failure()
    assert b.state == "closed"


def test_server_down_opens_the_breaker_and_recovery_closes_it(server: RedisServer) -> None:
    mapper = Mapper.from_url(server.url, link_options=FAST)
    mapper.save(TStatus(user_id=1, status="running"))
    server.stop()
    for _ in range(FAST.failure_threshold):
        with pytest.raises(ServerUnavailable):
            mapper.get(TStatus, user_id=1)
    assert mapper.links["app"].breaker.state == "open"
    started = time.perf_counter()
    for _ in range(100):
        with pytest.raises(CircuitOpen) as info:
            mapper.get(TStatus, user_id=1)
    per_call = (time.perf_counter() - started) / 100
    assert per_call < 0.01, per_call  # fails fast, no socket
    assert info.value.model == "TStatus" and "app" in str(info.value)
    server.start()  # same port, empty data (no persistence)
    deadline = time.monotonic() + FAST.reset_timeout + 2
    while True:
        try:
            assert mapper.get(TStatus, user_id=1) is None
            break
        except CircuitOpen:
            assert time.monotonic() < deadline, "did not recover within one reset timeout"
            time.sleep(0.05)
    assert mapper.links["app"].breaker.state == "closed"
    mapper.close()


def test_wrong_type_replies_never_count_as_failures(server: RedisServer) -> None:
    mapper = Mapper.from_url(server.url, link_options=FAST)
    server.client().hset("t:user:1:status", "a", "b")
    from keyspace import WrongType

    for _ in range(FAST.failure_threshold * 2):
        with pytest.raises(WrongType):
            mapper.get(TStatus, user_id=1)
    assert mapper.links["app"].breaker.state == "closed"


def test_stalled_server_times_out_per_class_and_the_next_command_gets_its_own_reply(
    server: RedisServer,
) -> None:
    options = dataclasses.replace(FAST, failure_threshold=100, max_connections=1)
    mapper = Mapper.from_url(server.url, link_options=options)
    mapper.save(TStatus(user_id=1, status="running"))
    mapper.save(TStatus(user_id=2, status="stopped"))
    admin = server.client()
    admin.execute_command("CLIENT", "PAUSE", 1500, "ALL")
    started = time.perf_counter()
    with pytest.raises(OperationTimeout) as info:
        mapper.get_many(TStatus, [{"user_id": 1}, {"user_id": 2}])  # a pipeline: 0.6 s
    elapsed = time.perf_counter() - started
    assert 0.5 <= elapsed < 1.4, elapsed
    assert "pipeline" in str(info.value)
    started = time.perf_counter()
    with pytest.raises(OperationTimeout) as info:
        mapper.get(TStatus, user_id=1)  # GET: fast class, 0.3 s (on a new connection: connecting counts)
    elapsed = time.perf_counter() - started
    assert 0.25 <= elapsed < 1.2, elapsed
    assert "fast" in str(info.value) and info.value.model == "TStatus"
    time.sleep(1.6)  # the pause ends; the stalled replies are now sent to closed sockets
    assert mapper.get(TStatus, user_id=2).status == "stopped"
    assert mapper.get(TStatus, user_id=1).status == "running"
    assert in_use(mapper.links["app"].pool) == 0


async def test_fifty_callers_at_half_open_make_exactly_one_call(server: RedisServer) -> None:
    async with AsyncMapper.from_url(server.url, link_options=FAST) as amapper:
        await amapper.save(TStatus(user_id=1, status="running"))
        breaker = amapper.links["app"].breaker
        for _ in range(FAST.failure_threshold):
            breaker.record_failure()
        assert breaker.state == "open"
        await asyncio.sleep(FAST.reset_timeout + 0.05)
        admin = server.client()
        before = get_calls(admin, "get")
        results = await asyncio.gather(
            *(amapper.get(TStatus, user_id=1) for _ in range(50)), return_exceptions=True
        )
        assert get_calls(admin, "get") - before == 1
        ok = [r for r in results if isinstance(r, TStatus)]
        refused = [r for r in results if isinstance(r, CircuitOpen)]
        assert len(ok) == 1 and len(refused) == 49
        assert breaker.state == "closed"


def test_pool_exhaustion_waits_then_raises_and_connections_return(server: RedisServer) -> None:
    options = dataclasses.replace(FAST, max_connections=2)
    mapper = Mapper.from_url(server.url, link_options=options)
    pool = mapper.links["app"].pool
    held = [pool.get_connection(), pool.get_connection()]
    started = time.perf_counter()
    with pytest.raises(PoolExhausted) as info:
        mapper.get(TStatus, user_id=1)
    assert time.perf_counter() - started >= 0.25
    assert "REDIS_MAX_CONNECTIONS" in str(info.value)
    assert mapper.links["app"].breaker.state == "closed"  # a busy pool is not a sick server
    for conn in held:
        pool.release(conn)
    assert mapper.get(TStatus, user_id=1) is None
    assert in_use(pool) == 0


async def test_redis_context_releases_on_exit_exception_and_cancellation(server: RedisServer) -> None:
    async with AsyncMapper.from_url(server.url, link_options=FAST) as amapper:
        link = amapper.links["app"]
        async with redis_context(link) as r:
            await r.set("k", "v")
            assert in_use(link.pool) == 1
        assert in_use(link.pool) == 0
        with pytest.raises(RuntimeError):
            async with redis_context(link) as r:
                await r.get("k")
                raise RuntimeError("boom")
        assert in_use(link.pool) == 0
        entered = asyncio.Event()

        async def stuck() -> None:
            async with redis_context(link) as r:
                await r.get("k")
                entered.set()
                await r.blpop("never", timeout=0.25)  # blocking command: cancelled below

        task = asyncio.create_task(stuck())
        await entered.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert in_use(link.pool) == 0
        async with redis_context(link) as r:  # the pool still works and replies are not mixed up
            assert await r.get("k") == b"v"

    with Mapper.from_url(server.url, link_options=FAST) as mapper:
        link = mapper.links["app"]
        with redis_context_sync(link) as r:
            assert r.get("k") == b"v"
            assert in_use(link.pool) == 1
        assert in_use(link.pool) == 0
        with pytest.raises(ZeroDivisionError), redis_context_sync(link) as r:
            r.get("k")
            1 / 0  # noqa: B018
        assert in_use(link.pool) == 0


def test_forked_child_gets_its_own_connections(server: RedisServer) -> None:
    mapper = Mapper.from_url(server.url, link_options=FAST)
    execute = mapper._executors["app"]
    (parent_id,) = execute([("CLIENT", "ID")])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: use the same mapper object
        try:
            (child_id,) = execute([("CLIENT", "ID")])
            os.write(write, str(child_id).encode())
        finally:
            os._exit(0)
    os.close(write)
    child_id = int(os.read(read, 64).decode())
    os.waitpid(pid, 0)
    assert child_id != parent_id
    (again,) = execute([("CLIENT", "ID")])
    assert again == parent_id  # the parent's pooled connection was not touched by the child
    ids = {
        int(m) for m in re.findall(r"id=(\d+)", server.client().execute_command("CLIENT", "LIST").decode())
    }
    assert parent_id in ids


def test_settings_time_budgets_and_limits() -> None:
    from keyspace.io.settings import Settings

    s = Settings.load({"REDIS_HOST": "h", "KEYSPACE_TIMEOUT_FAST": "0.5", "KEYSPACE_BREAKER_FAILURES": "7"})
    options = s.link_options()
    assert options.timeouts.fast == 0.5 and options.timeouts.pipeline == 15.0
    assert options.failure_threshold == 7 and options.max_connections == 50
    assert options.connect_timeout <= 0.5 * 0.4 + 1e-9  # retries fit inside the fast budget


def test_celery_round_trip_on_db_1(server: RedisServer) -> None:
    celery = pytest.importorskip("celery")
    from celery.contrib.testing.worker import start_worker

    import models
    from keyspace.io.celery import celery_settings

    url = f"redis://127.0.0.1:{server.port}/1"
    app = celery.Celery("keyspace-test")
    app.conf.update(
        celery_settings({"CELERY_BROKER_URL_OVERRIDE": url, "CELERY_RESULT_BACKEND_OVERRIDE": url})
    )

    @app.task(name="tests.add")
    def add(x: int, y: int) -> int:
        return x + y

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = add.delay(2, 3)
        assert result.get(timeout=20) == 5
    mapper = Mapper.from_url(f"redis://127.0.0.1:{server.port}/0", celery_url=url)
    meta = mapper.get(models.CeleryTaskMeta, task_id=result.id)
    assert meta is not None and meta.status == "SUCCESS" and meta.result == 5
    assert 3500 < mapper.ttl(models.CeleryTaskMeta, task_id=result.id) <= 3600
    assert server.client(db=0).dbsize() == 0  # nothing of Celery's on the app database


async def test_async_pool_exhaustion_waits_then_raises(server: RedisServer) -> None:
    options = dataclasses.replace(FAST, max_connections=1)
    async with AsyncMapper.from_url(server.url, link_options=options) as amapper:
        gate = amapper.links["app"].gate()
        assert gate.try_acquire()  # someone holds the only connection
        started = time.perf_counter()
        with pytest.raises(PoolExhausted) as info:
            await amapper.get(TStatus, user_id=1)
        assert time.perf_counter() - started >= 0.25 and "REDIS_MAX_CONNECTIONS" in str(info.value)
        waiting = asyncio.create_task(amapper.get(TStatus, user_id=1))
        await asyncio.sleep(0.05)
        gate.release()  # handed straight to the waiting caller
        assert await waiting is None
        assert gate.used == 0 and in_use(amapper.links["app"].pool) == 0
