"""One Redis server as the mapper sees it: a pool per process, a breaker, time budgets, health.

Pools are created lazily and again after a fork (a Celery prefork worker
never shares its parent's sockets).  redis-py's retry policy is set
explicitly: redis-py 8 retries 10 times by default, which cannot fit a 2 s
budget; here a connect is retried once with a small jittered backoff and a
connect timeout that keeps both attempts inside the fast budget.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import EqualJitterBackoff
from redis.retry import Retry

from keyspace.io.breaker import CircuitBreaker
from keyspace.io.budgets import Timeouts

log = logging.getLogger("keyspace.health")


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """Connection behaviour for one server (see keyspace.io.settings for the variables)."""

    max_connections: int = 50
    pool_timeout: float = 2.0  # how long a caller waits for a free connection
    socket_timeout: float = 5.0
    connect_timeout: float = 0.8
    health_check_interval: float = 30.0  # 0 disables the periodic check
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    retries: int = 1
    wait_replicas: int = 0  # cluster: WAIT for this many replicas after writes (durability across failover)


def retry_policy(options: LinkOptions, *, asyncio_: bool = False) -> Any:
    """The explicit, bounded retry (redis-py's asyncio clients need their own Retry class)."""
    cls = AsyncRetry if asyncio_ else Retry
    return cls(EqualJitterBackoff(cap=0.1, base=0.01), retries=options.retries)


def pool_kwargs(options: LinkOptions, *, asyncio_: bool = False) -> dict[str, Any]:
    return {
        "max_connections": options.max_connections,
        "timeout": options.pool_timeout,
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": retry_policy(options, asyncio_=asyncio_),
    }


def in_use(pool: Any) -> int:
    """Connections currently handed out by a redis-py pool (sync or asyncio)."""
    return len(list(pool._get_in_use_connections()))


class Gate:
    """A counting gate for asyncio callers: free slots are taken without suspending.

    (An ``asyncio.Semaphore`` would do; this one has a synchronous fast path,
    which matters when every GET passes through it.)  A waiter is handed the
    releasing caller's slot directly, in arrival order.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_acquire(self) -> bool:
        if self.used < self.size and not self._waiters:
            self.used += 1
            return True
        return False

    async def acquire(self, timeout: float) -> None:
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot arrived as we gave up: pass it on
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to the next waiter
                return
        self.used -= 1


class ServerLink:
    """A server's pool (per process), breaker, budgets and health record."""

    def __init__(
        self,
        name: str,
        pool_factory: Callable[[], Any],
        options: LinkOptions | None = None,
        *,
        fixed_pool: Any = None,
    ) -> None:
        self.name = name
        self.options = options or LinkOptions()
        self.timeouts = self.options.timeouts
        self.breaker = CircuitBreaker(
            name, failure_threshold=self.options.failure_threshold, reset_timeout=self.options.reset_timeout
        )
        self._factory = pool_factory
        self._pool = fixed_pool
        self._pid = os.getpid() if fixed_pool is not None else -1
        self._fixed = fixed_pool is not None
        self._lock = threading.Lock()
        self.last_health: dict[str, Any] = {}
        self._gate: Gate | None = None
        self._gate_pid = -1

    @property
    def pool(self) -> Any:
        pid = os.getpid()
        if self._pid != pid and not self._fixed:
            with self._lock:
                if self._pid != pid:
                    self._pool = self._factory()
                    self._pid = pid
        return self._pool

    def gate(self) -> Gate:
        """At most max_connections concurrent asyncio calls (created per process, lazily)."""
        gate = self._gate
        if gate is None or self._gate_pid != os.getpid():
            gate = self._gate = Gate(self.options.max_connections)
            self._gate_pid = os.getpid()
        return gate

    def record_health(self, ok: bool, latency: float | None, error: str | None = None) -> None:
        self.last_health = {
            "ok": ok,
            "latency_ms": None if latency is None else latency * 1000,
            "error": error,
            "at": time.time(),
        }


def sync_link(name: str, url: str, options: LinkOptions, **client_options: Any) -> ServerLink:
    def factory() -> Any:
        return redis.BlockingConnectionPool.from_url(url, **pool_kwargs(options), **client_options)

    return ServerLink(name, factory, options)


def async_link(name: str, url: str, options: LinkOptions, **client_options: Any) -> ServerLink:
    # Not redis-py's asyncio BlockingConnectionPool: it takes a Condition and a
    # timeout on every checkout, which cost ~40% of a small GET under 100
    # concurrent tasks (measured).  The plain pool plus the link's semaphore
    # (see ServerLink.gate) gives the same "wait, then fail clearly" behaviour
    # and only pays for the wait when the pool really is exhausted.
    def factory() -> Any:
        kwargs = pool_kwargs(options, asyncio_=True)
        kwargs.pop("timeout")
        return redis.asyncio.ConnectionPool.from_url(url, **kwargs, **client_options)

    return ServerLink(name, factory, options)


class HealthMonitor:
    """PING every ``interval`` seconds in a daemon thread (redis-py only checks lazily).

    A failed ping counts toward opening the breaker; while the breaker is
    open the monitor stays quiet, so recovery goes through the breaker's
    single trial call.
    """

    def __init__(self, link: ServerLink, ping: Callable[[], Any], interval: float) -> None:
        self.link = link
        self._ping = ping
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"keyspace-health-{link.name}", daemon=True)

    def start(self) -> HealthMonitor:
        if self.interval > 0:
            self._thread.start()
        return self

    def check(self) -> None:
        if self.link.breaker.state != "closed":
            return
        start = time.perf_counter()
        try:
            self._ping()
        except Exception as exc:  # any failure is recorded, never raised in the thread
            self.link.record_health(False, None, type(exc).__name__)
            log.warning("health check of the %s server failed: %s", self.link.name, type(exc).__name__)
        else:
            self.link.record_health(True, time.perf_counter() - start)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()


class AsyncHealthMonitor:
    """The asyncio twin of HealthMonitor: a task on the running loop."""

    def __init__(self, link: ServerLink, ping: Callable[[], Any], interval: float) -> None:
        self.link = link
        self._ping = ping
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def ensure_started(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def check(self) -> None:
        if self.link.breaker.state != "closed":
            return
        start = time.perf_counter()
        try:
            await self._ping()
        except Exception as exc:
            self.link.record_health(False, None, type(exc).__name__)
        else:
            self.link.record_health(True, time.perf_counter() - start)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


class ClusterLink(ServerLink):
    """A Redis Cluster as one server: one breaker and one set of budgets, a pool per node.

    Nodes are learned from CLUSTER SLOTS (primaries and replicas, so a refresh
    still finds the cluster after a primary died); each node's pool is
    created lazily per process like any ServerLink's.
    """

    def __init__(
        self,
        name: str,
        startup: list[Any],
        options: LinkOptions | None = None,
        *,
        asyncio_: bool = False,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name, lambda: None, options)
        self._startup = list(startup)
        self._known: list[Any] = list(startup)
        self._nodes: dict[Any, ServerLink] = {}
        self._asyncio = asyncio_
        self._client_options = dict(client_options or {})

    @property
    def pool(self) -> Any:
        raise TypeError("a cluster has one pool per node: use node_link(node).pool")

    def node_link(self, node: Any) -> ServerLink:
        link = self._nodes.get(node)
        if link is None:
            module = redis.asyncio if self._asyncio else redis
            kwargs = {**pool_kwargs(self.options, asyncio_=self._asyncio), **self._client_options}

            def factory(host: str = node.host, port: int = node.port) -> Any:
                return module.BlockingConnectionPool(host=host, port=port, **kwargs)

            link = ServerLink(f"{self.name}@{node.name}", factory, self.options)
            link.breaker = self.breaker  # one breaker for the whole cluster
            self._nodes[node] = link
        return link

    def seeds(self) -> list[Any]:
        return list(self._known)

    def learn(self, slots_reply: Any) -> None:
        from keyspace.core.slots import Node

        for entry in slots_reply:
            for member in entry[2:]:
                host = member[0].decode() if isinstance(member[0], bytes) else str(member[0])
                node = Node(host or "127.0.0.1", int(member[1]))
                if node not in self._known:
                    self._known.append(node)

    def node_pools(self) -> list[Any]:
        return [link.pool for link in self._nodes.values()]
