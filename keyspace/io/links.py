"""One Redis server as the mapper sees it: a pool per process, a breaker, time budgets, health.

Pools are created lazily and again after a fork (a Celery prefork worker
never shares its parent's sockets).  Connecting is bounded like a call: a
pooled connection's connect, TLS and AUTH/SELECT handshake and its retry all
fit the shortest class budget (see ``BoundedConnect``), so a cold pool, a
discarded connection and a new mapper fail as fast as a warm one.  Commands
are never retried by redis-py (a retried write is not always safe): the
pools' Retry allows no retries, and the connect retry is keyspace's own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.connection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from keyspace.io.breaker import CircuitBreaker
from keyspace.io.budgets import Timeouts
from keyspace.io.pools import LeanAsyncPool, LeanBlockingPool, current_pid

log = logging.getLogger("keyspace.health")


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """Connection behaviour for one server (see keyspace.io.settings for the variables)."""

    max_connections: int = 50
    pool_timeout: float = 2.0  # how long a caller waits for a free connection
    socket_timeout: float = 5.0  # a pooled connection's read timeout until a mapper call sets its budget
    connect_timeout: float = 0.8  # one TCP connect attempt (never more than the budget left)
    health_check_interval: float = 30.0  # 0 disables the periodic check
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    retries: int = 1  # connect retries (commands are never retried)
    wait_replicas: int = 0  # cluster: WAIT for this many replicas after writes (durability across failover)


def retry_policy(*, asyncio_: bool = False) -> Any:
    """No retries: what every pooled connection gets (and so redis_context's and raw clients).

    redis-py would otherwise resend a timed-out command — twice the budget,
    and a second INCR.  Connect retries are BoundedConnect's own.
    """
    cls = AsyncRetry if asyncio_ else Retry
    return cls(NoBackoff(), retries=0)


def _retry_pause(exc: Exception, attempt: int, retries: int, deadline: float) -> float | None:
    """How long to pause before retrying a failed connect, or None to give up (both twins).

    A wrong password is not retried; a retry must fit what is left of the budget.
    """
    pause = random.uniform(0.01, 0.1)  # jitter: many callers do not reconnect in step
    if isinstance(exc, AuthenticationError) or attempt >= retries or deadline - time.monotonic() <= pause:
        return None
    return pause


class BoundedConnect:
    """Mixin for redis-py's sync connection classes: connect, TLS, AUTH/SELECT and retry in one budget.

    redis-py's own ``connect`` gives each attempt ``socket_connect_timeout``
    plus ``socket_timeout`` per handshake reply and retries the lot, which
    turned a 2 s budget into 4-60 s against a frozen server.  Here every
    attempt gets only what is left of ``connect_budget`` (the shortest class
    budget) and the socket gets its usual timeout back once connected.
    Connected connections return at once (the pool calls ``connect`` on every
    checkout).
    """

    connect_budget: ClassVar[float] = 2.0
    connect_retries: ClassVar[int] = 1
    _attempt_timeout: float | None = None

    def connect(self) -> None:
        if self._sock:  # type: ignore[attr-defined]
            return
        deadline = time.monotonic() + self.connect_budget
        attempt = 0
        while True:
            self._attempt_timeout = deadline - time.monotonic()
            try:
                self.connect_check_health(check_health=True, retry_socket_connect=False)  # type: ignore[attr-defined]
            except (RedisConnectionError, RedisTimeoutError) as exc:
                self.disconnect()  # type: ignore[attr-defined]
                pause = _retry_pause(exc, attempt, self.connect_retries, deadline)
                if pause is None:
                    raise
                attempt += 1
                time.sleep(pause)
            else:
                self._sock.settimeout(self.socket_timeout)  # type: ignore[attr-defined]
                return
            finally:
                self._attempt_timeout = None

    def _connect(self) -> Any:
        limit = self._attempt_timeout
        if limit is None:
            return super()._connect()  # type: ignore[misc]
        if limit <= 0:
            raise TimeoutError("connect budget spent")  # redis-py reports it as a connect timeout
        saved = self.socket_timeout, self.socket_connect_timeout  # type: ignore[attr-defined,has-type,unused-ignore]
        # The socket is created, (TLS-)handshaken and AUTHed under these; the parser
        # captures socket_timeout later (on_connect), after they are restored.
        self.socket_timeout = limit
        self.socket_connect_timeout = min(saved[1] or limit, limit)
        try:
            return super()._connect()  # type: ignore[misc]
        finally:
            self.socket_timeout, self.socket_connect_timeout = saved


class AsyncBoundedConnect:
    """The asyncio twin of BoundedConnect: one timeout scope around connect (cold path only)."""

    connect_budget: ClassVar[float] = 2.0
    connect_retries: ClassVar[int] = 1

    async def connect(self) -> None:
        if self.is_connected:  # type: ignore[attr-defined]
            return
        deadline = time.monotonic() + self.connect_budget
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(deadline - time.monotonic()):
                    await self.connect_check_health(check_health=True, retry_socket_connect=False)  # type: ignore[attr-defined]
                return
            except TimeoutError:  # the budget ran out (redis-py's own timeouts are not builtins)
                await self.disconnect(nowait=True)  # type: ignore[attr-defined]
                raise RedisTimeoutError("Timeout connecting to server") from None
            except (RedisConnectionError, RedisTimeoutError) as exc:
                await self.disconnect(nowait=True)  # type: ignore[attr-defined]
                pause = _retry_pause(exc, attempt, self.connect_retries, deadline)
                if pause is None:
                    raise
                attempt += 1
                await asyncio.sleep(pause)


def connection_class(base: type, options: LinkOptions, *, asyncio_: bool = False) -> type:
    """``base`` (plain, TLS or unix-socket connection) with connects bounded by the link's budget."""
    mixin = AsyncBoundedConnect if asyncio_ else BoundedConnect
    return type(
        f"Bounded{base.__name__}",
        (mixin, base),
        {"connect_budget": options.timeouts.shortest, "connect_retries": options.retries},
    )


def pool_kwargs(options: LinkOptions, *, asyncio_: bool = False, base: type | None = None) -> dict[str, Any]:
    """Keyword arguments for a redis-py pool of ``base`` connections (default: plain TCP)."""
    module = redis.asyncio.connection if asyncio_ else redis.connection
    return {
        "max_connections": options.max_connections,
        "timeout": options.pool_timeout,
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": retry_policy(asyncio_=asyncio_),
        "connection_class": connection_class(base or module.Connection, options, asyncio_=asyncio_),
    }


def url_pool_kwargs(
    url: str, options: LinkOptions, client_options: dict[str, Any], *, asyncio_: bool = False
) -> dict[str, Any]:
    """Pool arguments for a URL: what the URL says wins over ``client_options`` (as in redis-py's from_url).

    So a password in the URL beats a separately given one, and a separately
    given one is used when the URL has none.
    """
    module = redis.asyncio.connection if asyncio_ else redis.connection
    from_url = module.parse_url(url)
    base = from_url.pop("connection_class", module.Connection)
    return {**pool_kwargs(options, asyncio_=asyncio_, base=base), **client_options, **from_url}


def in_use(pool: Any) -> int:
    """Connections currently handed out by a redis-py pool (sync or asyncio), by its public count.

    (``get_connection_count`` is public on both pools in the redis-py this is
    tested with, 8.1; older asyncio pools lack it.)
    """
    from redis.observability.attributes import DB_CLIENT_CONNECTION_STATE, ConnectionState

    counts = pool.get_connection_count()  # [(count, attributes)] for idle and for used
    used = ConnectionState.USED.value
    return sum(n for n, attributes in counts if attributes.get(DB_CLIENT_CONNECTION_STATE) == used)


def apply_budget(conn: Any, budget: float) -> None:
    """Make the socket's own timeout ``budget`` (once per connection and budget class).

    A per-read timeout would cost two ``settimeout`` calls around every reply;
    the value set is remembered on the connection, and forgotten whenever a
    read changed the socket's timeout (see ``SyncExecutor``).
    """
    if getattr(conn, "_keyspace_budget", None) != budget:
        conn.socket_timeout = budget
        settimeout = getattr(getattr(conn, "_sock", None), "settimeout", None)
        if settimeout is not None:  # (the in-memory server's socket has no timeout)
            settimeout(budget)
            conn._keyspace_budget = budget


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
        self.lean = False  # the pool checks out without awaiting (keyspace.io.pools.LeanAsyncPool)
        self.last_health: dict[str, Any] = {}
        self._gate: Gate | None = None
        self._gate_pid = -1

    @property
    def pool(self) -> Any:
        pid = current_pid()
        if self._pid != pid and not self._fixed:
            with self._lock:
                if self._pid != pid:
                    self._pool = self._factory()
                    self.lean = isinstance(self._pool, LeanAsyncPool)
                    self._pid = pid
        return self._pool

    def gate(self) -> Gate:
        """At most max_connections concurrent asyncio calls (created per process, lazily)."""
        gate = self._gate
        if gate is None or self._gate_pid != current_pid():
            gate = self._gate = Gate(self.options.max_connections)
            self._gate_pid = current_pid()
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
        return LeanBlockingPool(**url_pool_kwargs(url, options, client_options))

    return ServerLink(name, factory, options)


def async_link(name: str, url: str, options: LinkOptions, **client_options: Any) -> ServerLink:
    # Not redis-py's asyncio BlockingConnectionPool: it takes a Condition and a
    # timeout on every checkout, which cost ~40% of a small GET under 100
    # concurrent tasks (measured).  The plain pool plus the link's semaphore
    # (see ServerLink.gate) gives the same "wait, then fail clearly" behaviour
    # and only pays for the wait when the pool really is exhausted.  (LeanAsyncPool is that pool
    # with a checkout that does not await: keyspace.io.pools.)
    def factory() -> Any:
        kwargs = url_pool_kwargs(url, options, client_options, asyncio_=True)
        kwargs.pop("timeout")
        return LeanAsyncPool(**kwargs)

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
        tls: bool = False,
    ) -> None:
        super().__init__(name, lambda: None, options)
        self.tls = tls
        self._startup = list(startup)
        self._known: list[Any] = list(startup)
        self._nodes: dict[Any, ServerLink] = {}
        self._asyncio = asyncio_
        self._client_options = dict(client_options or {})

    @property
    def client_options(self) -> dict[str, Any]:
        """The client options (TLS, credentials) every node's pool is made with."""
        return dict(self._client_options)

    @property
    def pool(self) -> Any:
        raise TypeError("a cluster has one pool per node: use node_link(node).pool")

    def node_link(self, node: Any) -> ServerLink:
        link = self._nodes.get(node)
        if link is None:
            connections = redis.asyncio.connection if self._asyncio else redis.connection
            base = connections.SSLConnection if self.tls else connections.Connection
            kwargs = {**pool_kwargs(self.options, asyncio_=self._asyncio, base=base), **self._client_options}
            if self._asyncio:  # the node link's gate waits for a free connection, as async_link's does
                kwargs.pop("timeout")

            def factory(host: str = node.host, port: int = node.port) -> Any:
                pool = LeanAsyncPool if self._asyncio else LeanBlockingPool
                return pool(host=host, port=port, **kwargs)

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
