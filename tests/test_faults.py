"""Fault injection on a real redis-server: stalls never turn into wrong answers, budgets hold.

A stall is ``CLIENT PAUSE … ALL`` (what a failover does), ``CLIENT PAUSE … WRITE``
or a frozen server process (SIGSTOP: connects still succeed, nothing answers).
Under a stall every mapper method either raises OperationTimeout /
ServerUnavailable or returns the right answer (reads under PAUSE WRITE) —
never None/False/[] — and afterwards 100 concurrent callers each get exactly
their own record: a late reply never reaches another caller.

Timing assertions are "failed, and within 2x the budget", never tighter.
One server for the module; each test resets its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from keyspace import AsyncMapper, Keyring, Mapper, redis_context, redis_context_sync
from keyspace.errors import CircuitOpen, OperationTimeout, ServerUnavailable
from keyspace.io.budgets import Timeouts
from keyspace.io.links import LinkOptions, in_use
from keyspace.testing.server import RedisServer, running_server
from tests.conftest import TEST_KEY
from tests.models_for_tests import TCounter, TIds, TQueue, TSecrets, TStatus

BUDGET = 1.0  # every class: the matrix is about answers, not classes (roomy: 100 callers, busy CI)
PAUSE_MS = int(BUDGET * 1.5 * 1000)
CALLERS = 100
STALLED = (OperationTimeout, ServerUnavailable)
KEYRING = Keyring(TEST_KEY)

MATRIX_OPTIONS = LinkOptions(
    max_connections=50,
    pool_timeout=5.0,
    failure_threshold=10_000,  # the matrix is not about the breaker
    health_check_interval=0,
    timeouts=Timeouts(BUDGET, BUDGET, BUDGET, BUDGET),
)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with running_server() as s:
        yield s


def secrets(uid: int) -> TSecrets:
    return TSecrets(uid=uid, api_key=f"key-{uid}", api_secret=f"secret-{uid}", label=f"user {uid}")


def is_own(record: Any, uid: int) -> bool:
    return (
        isinstance(record, TSecrets)
        and record.uid == uid
        and record.api_key.get_secret_value() == f"key-{uid}"
        and record.api_secret.get_secret_value() == f"secret-{uid}"
        and record.label == f"user {uid}"
    )


OWN = range(1000, 1000 + CALLERS)  # the records the 100 callers read after each stall


def seed(server: RedisServer) -> None:
    server.client().flushall()
    with Mapper.from_url(server.url, keyring=KEYRING, link_options=MATRIX_OPTIONS) as m:
        m.save_many([secrets(uid) for uid in [1, 2, 3, 4, 5, 6, *OWN]])
        m.incr(TCounter, 5, user_id=1)
        m.add(TIds, 1, 2, 3, exchange="okx")
        m.push(TQueue, "a", "b", "c", name="q")


# name -> (call on a mapper, is a read, check of a successful answer)
Check = Callable[[Any], bool]
OPERATIONS: dict[str, tuple[Callable[[Any], Any], bool, Check]] = {
    "get": (lambda m: m.get(TSecrets, uid=1), True, lambda r: is_own(r, 1)),
    "get_many": (
        lambda m: m.get_many(TSecrets, [{"uid": 1}, {"uid": 2}]),
        True,
        lambda r: len(r) == 2 and is_own(r[0], 1) and is_own(r[1], 2),
    ),
    "exists": (lambda m: m.exists(TSecrets, uid=1), True, lambda r: r is True),
    "scan": (
        lambda m: m.scan(TSecrets),
        True,
        lambda r: {1, 2, *OWN} <= {x.uid for x in r} and all(is_own(x, x.uid) for x in r),
    ),
    "members": (lambda m: m.members(TIds, exchange="okx"), True, lambda r: set(r) >= {1, 2, 3}),
    "range": (lambda m: m.range(TQueue, name="q"), True, lambda r: r[:3] == ["a", "b", "c"]),
    "save": (lambda m: m.save(secrets(3)), False, lambda r: r is None),
    "save_many": (lambda m: m.save_many([secrets(4), secrets(5)]), False, lambda r: True),
    "update": (lambda m: m.update(TSecrets, uid=2, label="user 2"), False, lambda r: True),
    "delete": (lambda m: m.delete(TSecrets, uid=6), False, lambda r: isinstance(r, bool)),
    "incr": (lambda m: m.incr(TCounter, 1, user_id=1), False, lambda r: isinstance(r, int) and r > 5),
    "decr": (lambda m: m.decr(TCounter, 1, user_id=1), False, lambda r: isinstance(r, int)),
    "add": (lambda m: m.add(TIds, 4, exchange="okx"), False, lambda r: r in (0, 1)),
    "remove": (lambda m: m.remove(TIds, 4, exchange="okx"), False, lambda r: r in (0, 1)),
    "push": (lambda m: m.push(TQueue, "d", name="q"), False, lambda r: isinstance(r, int) and r >= 4),
}


def run_sync(call: Callable[[Any], Any], mapper: Mapper) -> Any:
    result = call(mapper)
    return list(result) if inspect.isgenerator(result) else result


async def run_async(call: Callable[[Any], Any], mapper: AsyncMapper) -> Any:
    result = call(mapper)
    if inspect.isasyncgen(result):
        return [item async for item in result]
    return await result


@dataclasses.dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    elapsed: float = 0.0


def judge(fault: str, outcomes: dict[str, Outcome]) -> list[str]:
    """Every problem found in the outcomes of one stall (empty: all good)."""
    problems = []
    for name, outcome in outcomes.items():
        _, is_read, check = OPERATIONS[name]
        may_answer = fault == "pause-write" and is_read
        if outcome.error is not None:
            if not isinstance(outcome.error, STALLED):
                problems.append(f"{name}: raised {type(outcome.error).__name__}: {outcome.error}")
            elif may_answer:
                problems.append(f"{name}: a read under PAUSE WRITE failed: {outcome.error!r}")
            elif outcome.elapsed >= 2 * BUDGET:
                problems.append(f"{name}: failed only after {outcome.elapsed:.2f}s (budget {BUDGET}s)")
        elif not may_answer:
            problems.append(f"{name}: returned {outcome.value!r:.80} during the stall instead of raising")
        elif not check(outcome.value):
            problems.append(f"{name}: returned a wrong answer {outcome.value!r:.80}")
    return problems


def strangers(got: list[Any]) -> list[str]:
    """What each of the callers reading OWN got, where it was not exactly its own record."""
    wrong = []
    for uid, record in zip(OWN, got, strict=True):
        if not is_own(record, uid):
            what = (
                f"a record holding {record.api_key.get_secret_value()}"  # test data, not a secret
                if isinstance(record, TSecrets)
                else repr(record)[:80]
            )
            wrong.append(f"caller {uid} got {what}")
    return wrong


@contextlib.contextmanager
def stall(server: RedisServer, fault: str) -> Iterator[None]:
    """Stall the server for the block; on exit, wait until the stall is over."""
    if fault == "sigstop":
        with server.stopped():
            yield
        return
    mode = "ALL" if fault == "pause-all" else "WRITE"
    admin = server.client()
    admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, mode)
    ends = time.monotonic() + PAUSE_MS / 1000
    yield
    time.sleep(max(0.0, ends - time.monotonic()) + 0.05)  # stalled replies now go out
    admin.close()


FAULTS = ["pause-all", "pause-write", "sigstop"]


@pytest.mark.parametrize("fault", FAULTS)
def test_sync_stall_never_answers_wrongly_and_callers_get_their_own(server: RedisServer, fault: str) -> None:
    seed(server)
    with Mapper.from_url(server.url, keyring=KEYRING, link_options=MATRIX_OPTIONS) as mapper:
        for call, _, _ in OPERATIONS.values():  # warm: scripts loaded, connections pooled
            run_sync(call, mapper)
        outcomes = {name: Outcome() for name in OPERATIONS}

        def one(name: str) -> None:
            start = time.perf_counter()
            try:
                outcomes[name].value = run_sync(OPERATIONS[name][0], mapper)
            except BaseException as exc:
                outcomes[name].error = exc
            outcomes[name].elapsed = time.perf_counter() - start

        with stall(server, fault):
            threads = [threading.Thread(target=one, args=(name,)) for name in OPERATIONS]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        problems = judge(fault, outcomes)

        def own(uid: int) -> Any:
            try:
                return mapper.get(TSecrets, uid=uid)
            except Exception as exc:
                return exc

        for _ in range(2):
            with ThreadPoolExecutor(max_workers=32) as pool:
                problems += strangers(list(pool.map(own, OWN)))
        assert problems == [], "\n".join(problems)
        assert in_use(mapper.links["app"].pool) == 0


@pytest.mark.parametrize("fault", FAULTS)
async def test_async_stall_never_answers_wrongly_and_callers_get_their_own(
    server: RedisServer, fault: str
) -> None:
    seed(server)
    async with AsyncMapper.from_url(server.url, keyring=KEYRING, link_options=MATRIX_OPTIONS) as amapper:
        for call, _, _ in OPERATIONS.values():
            await run_async(call, amapper)
        outcomes = {name: Outcome() for name in OPERATIONS}

        async def one(name: str) -> None:
            start = time.perf_counter()
            try:
                outcomes[name].value = await run_async(OPERATIONS[name][0], amapper)
            except Exception as exc:
                outcomes[name].error = exc
            outcomes[name].elapsed = time.perf_counter() - start

        with stall(server, fault):
            await asyncio.gather(*(one(name) for name in OPERATIONS))
        problems = judge(fault, outcomes)
        for _ in range(2):
            got = await asyncio.gather(
                *(amapper.get(TSecrets, uid=uid) for uid in OWN), return_exceptions=True
            )
            problems += strangers(got)
        assert problems == [], "\n".join(problems)
        assert in_use(amapper.links["app"].pool) == 0 and amapper.links["app"].gate().used == 0


# --- time budgets on every path ---------------------------------------------------------

FAST = 0.5  # roomy enough for a loaded 2-core machine; the old failures took 4-60 s
PIPELINE = 0.8
BUDGET_OPTIONS = LinkOptions(
    max_connections=8,
    failure_threshold=10_000,
    health_check_interval=0,
    socket_timeout=5.0,  # the pool's own read timeout: the budgets must not fall back to it
    timeouts=Timeouts(fast=FAST, normal=0.6, slow=0.7, pipeline=PIPELINE),
)


def timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    start = time.perf_counter()
    try:
        call()
    except Exception as exc:
        return exc, time.perf_counter() - start
    return None, time.perf_counter() - start


async def atimed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    start = time.perf_counter()
    try:
        await call()
    except Exception as exc:
        return exc, time.perf_counter() - start
    return None, time.perf_counter() - start


def test_sync_budget_holds_warm_after_discard_and_on_a_cold_mapper(server: RedisServer) -> None:
    server.client().flushall()
    warm = Mapper.from_url(server.url, link_options=BUDGET_OPTIONS)
    warm.save(TStatus(user_id=1, status="running"))
    with server.stopped():
        cold = Mapper.from_url(server.url, link_options=BUDGET_OPTIONS)
        results = {
            "warm": timed(lambda: warm.get(TStatus, user_id=1)),
            "after discard": timed(lambda: warm.get(TStatus, user_id=1)),
            "cold mapper": timed(lambda: cold.get(TStatus, user_id=1)),
        }
    for path, (error, elapsed) in results.items():
        assert isinstance(error, STALLED), (path, error)
        assert elapsed < 2 * FAST, (path, elapsed)
    assert warm.get(TStatus, user_id=1).status == "running"
    assert cold.get(TStatus, user_id=1).status == "running"
    warm.close()
    cold.close()


async def test_async_budget_holds_warm_after_discard_and_on_a_cold_mapper(server: RedisServer) -> None:
    server.client().flushall()
    warm = AsyncMapper.from_url(server.url, link_options=BUDGET_OPTIONS)
    await warm.save(TStatus(user_id=1, status="running"))
    with server.stopped():
        cold = AsyncMapper.from_url(server.url, link_options=BUDGET_OPTIONS)
        results = {
            "warm": await atimed(lambda: warm.get(TStatus, user_id=1)),
            "after discard": await atimed(lambda: warm.get(TStatus, user_id=1)),
            "cold mapper": await atimed(lambda: cold.get(TStatus, user_id=1)),
        }
    for path, (error, elapsed) in results.items():
        assert isinstance(error, STALLED), (path, error)
        assert elapsed < 2 * FAST, (path, elapsed)
    assert (await warm.get(TStatus, user_id=1)).status == "running"
    assert (await cold.get(TStatus, user_id=1)).status == "running"
    await warm.aclose()
    await cold.aclose()


def test_budget_holds_with_a_long_socket_timeout_from_settings(server: RedisServer) -> None:
    env = {
        "REDIS_URL": server.url,
        "REDIS_SOCKET_TIMEOUT": "3",
        "KEYSPACE_TIMEOUT_FAST": str(FAST),
        "REDIS_HEALTH_CHECK_INTERVAL": "0",
    }
    with server.stopped():
        mapper = Mapper.from_env(env)
        error, elapsed = timed(lambda: mapper.get(TStatus, user_id=1))
    assert isinstance(error, STALLED) and elapsed < 2 * FAST, (error, elapsed)
    mapper.close()


def test_a_slow_pipeline_leaves_no_longer_read_timeout_behind(server: RedisServer) -> None:
    """A read that got the rest of the budget must not leave the pool's socket timeout on the socket."""
    admin = server.client()
    admin.flushall()
    options = dataclasses.replace(BUDGET_OPTIONS, max_connections=1)
    mapper = Mapper.from_url(server.url, link_options=options)
    big = "x" * 300_000  # more than one socket read per reply
    admin.set("t:user:1:status", big)
    admin.set("t:user:2:status", big)
    execute = mapper._executors["app"]
    admin.execute_command("CLIENT", "PAUSE", 150, "ALL")
    replies = execute([("GET", "t:user:1:status"), ("GET", "t:user:2:status")])  # late second read
    assert [len(r) for r in replies] == [300_000, 300_000]
    with server.stopped():
        error, elapsed = timed(lambda: execute([("GET", "t:user:1:status"), ("GET", "t:user:2:status")]))
    assert isinstance(error, OperationTimeout) and elapsed < 2 * PIPELINE, (error, elapsed)
    mapper.close()


def test_sync_breaker_opens_within_threshold_times_budget(server: RedisServer) -> None:
    server.client().flushall()
    options = dataclasses.replace(BUDGET_OPTIONS, failure_threshold=3, reset_timeout=30)
    mapper = Mapper.from_url(server.url, link_options=options)
    mapper.save(TStatus(user_id=1, status="running"))
    with server.stopped():
        start = time.perf_counter()
        errors = []
        for _ in range(options.failure_threshold + 2):
            error, _ = timed(lambda: mapper.get(TStatus, user_id=1))
            errors.append(type(error).__name__)
            if isinstance(error, CircuitOpen):
                break
        elapsed = time.perf_counter() - start
    assert errors == ["OperationTimeout"] * 3 + ["CircuitOpen"], errors
    assert elapsed < 2 * options.failure_threshold * FAST, elapsed
    mapper.close()


async def test_async_breaker_opens_within_threshold_times_budget(server: RedisServer) -> None:
    server.client().flushall()
    options = dataclasses.replace(BUDGET_OPTIONS, failure_threshold=3, reset_timeout=30)
    async with AsyncMapper.from_url(server.url, link_options=options) as amapper:
        await amapper.save(TStatus(user_id=1, status="running"))
        with server.stopped():
            start = time.perf_counter()
            errors = []
            for _ in range(options.failure_threshold + 2):
                error, _ = await atimed(lambda: amapper.get(TStatus, user_id=1))
                errors.append(type(error).__name__)
                if isinstance(error, CircuitOpen):
                    break
            elapsed = time.perf_counter() - start
            assert errors == ["OperationTimeout"] * 3 + ["CircuitOpen"], errors
            assert elapsed < 2 * options.failure_threshold * FAST, elapsed
            # many concurrent callers during the stall: the breaker opens after about one budget
        async with AsyncMapper.from_url(server.url, link_options=options) as fresh:
            with server.stopped():
                start = time.perf_counter()
                got = await asyncio.gather(
                    *(fresh.get(TStatus, user_id=1) for _ in range(CALLERS)), return_exceptions=True
                )
                kinds = {type(r).__name__ for r in got}
                assert kinds <= {"OperationTimeout", "ServerUnavailable", "CircuitOpen"}, kinds
                assert fresh.links["app"].breaker.state == "open"
                assert time.perf_counter() - start < 2 * FAST


# A script that keeps the server busy for twice the fast budget, then increments: it runs
# to the end whatever happens to the client that sent it, so a resent call would increment twice.
SLOW_INCR = f"""
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  local now = redis.call('TIME')
until now[1] * 1000000 + now[2] - start > {int(2 * FAST * 1_000_000)}
return redis.call('INCR', KEYS[1])
"""


def test_redis_context_never_resends_a_timed_out_write(server: RedisServer) -> None:
    admin = server.client()
    admin.delete("t:resent")
    with Mapper.from_url(server.url, link_options=BUDGET_OPTIONS) as mapper:
        with redis_context_sync(mapper.links["app"]) as r:
            error, elapsed = timed(lambda: r.eval(SLOW_INCR, 1, "t:resent"))  # EVAL: the fast budget
            assert isinstance(error, OperationTimeout) and elapsed < 2 * FAST, (error, elapsed)
        time.sleep(4 * FAST + 0.2)  # long enough for a resent script to have run too
    assert admin.get("t:resent") == b"1"


async def test_async_redis_context_never_resends_a_timed_out_write(server: RedisServer) -> None:
    admin = server.client()
    admin.delete("t:resent")
    async with AsyncMapper.from_url(server.url, link_options=BUDGET_OPTIONS) as amapper:
        async with redis_context(amapper.links["app"]) as r:
            error, elapsed = await atimed(lambda: r.eval(SLOW_INCR, 1, "t:resent"))
            assert isinstance(error, OperationTimeout) and elapsed < 2 * FAST, (error, elapsed)
        await asyncio.sleep(4 * FAST + 0.2)
    assert admin.get("t:resent") == b"1"
