"""redis-py's connection pools with a lean checkout: the same rules, minus bookkeeping nobody reads.

redis-py 8 records OpenTelemetry pool metrics on every checkout and return (four calls, each looking
for a metrics collector that does not exist unless observability was switched on), and its asyncio
pool takes an asyncio lock twice and dispatches a release event per call.  On a small GET that was
more client-side time than keyspace's own validation (measured: ``python -m benchmarks.profile``).

These subclasses keep redis-py's checkout — LIFO reuse, ``max_connections``, the blocking wait and
its "No connection available." error, a pooled connection checked for a closed socket or stray data
before reuse, fork safety — and hand every other case to redis-py's own code: observability switched
on, a maintenance event in progress, a fork, a re-authentication token, a held asyncio lock.  Counts
(``get_connection_count``, keyspace.io.links.in_use) stay exact: the same queues are used.
"""

from __future__ import annotations

import os
from queue import Empty, Full
from typing import Any

import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:  # redis-py's observability (8.x); without it there is nothing to record
    from redis.observability import providers as _providers
    from redis.observability import recorder as _recorder
except ImportError:  # pragma: no cover - older redis-py
    _providers = _recorder = None  # type: ignore[assignment]

_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    """This process's id without a system call per use (kept current across os.fork)."""
    return _pid


def observed() -> bool:
    """Whether redis-py's OpenTelemetry metrics are on: then its own pool bookkeeping runs."""
    if _recorder is None:
        return False
    if _recorder._metrics_collector is not None:
        return True
    manager = _providers.get_observability_instance().get_provider_manager()
    return manager is not None and bool(manager.config.enabled_telemetry)


class LeanBlockingPool(redis.BlockingConnectionPool):
    """``redis.BlockingConnectionPool`` with the checkout of redis-py minus its metrics calls."""

    def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        if command_name is not None or keys or options:
            return super().get_connection(command_name, *keys, **options)
        if self._in_maintenance or self.pid != _pid or observed():
            return super().get_connection()
        try:
            connection = self.pool.get(block=True, timeout=self.timeout)
        except Empty:
            raise RedisConnectionError("No connection available.") from None  # redis-py's words
        if connection is None:
            connection = self.make_connection()
        try:
            connection.connect()  # a no-op when connected (keyspace.io.links.BoundedConnect)
            try:  # a closed socket or stray bytes: reconnect, as redis-py does
                if connection.can_read() and self.cache is None and not self.maint_notifications_enabled():
                    raise RedisConnectionError("Connection has data")
            except (RedisConnectionError, RedisTimeoutError, OSError):
                connection.disconnect()
                connection.connect()
                if connection.can_read() and self.cache is None and not self.maint_notifications_enabled():
                    raise RedisConnectionError("Connection not ready") from None
        except BaseException:
            self.release(connection)
            raise
        return connection

    def release(self, connection: Any) -> None:
        if self._in_maintenance or self.pid != _pid or connection.pid != self.pid or observed():
            super().release(connection)
            return
        if connection.should_reconnect():
            connection.disconnect()
        try:  # noqa: SIM105 -- the hot path: no context manager per call
            self.pool.put_nowait(connection)
        except Full:
            pass
        return None


class LeanAsyncPool(redis.asyncio.ConnectionPool):
    """``redis.asyncio.ConnectionPool`` plus ``take``/``give``: checkout and return without awaiting.

    Both do what ``get_connection``/``release`` do when a connection is idle, connected and clean,
    and return None/False otherwise, so that the caller awaits redis-py's full path instead.  They
    never await, so they need not take the pool's asyncio lock: no other task can run in between
    (when the lock is held by a task that awaits inside it, they step aside).
    """

    def take(self) -> Any:
        free = self._available_connections
        if not free or self._lock.locked() or observed():
            return None
        connection = free[-1]
        parser = connection._parser
        stream = getattr(parser, "_stream", None)
        reader = getattr(parser, "_reader", None)
        if (
            not connection.is_connected
            or not getattr(parser, "_connected", False)
            or stream is None
            or reader is None
            or reader.has_data()
            or stream.at_eof()
            or stream._buffer
        ):
            return None  # reconnect or drain: redis-py's ensure_connection does it
        free.pop()
        self._in_use_connections.add(connection)
        return connection

    def give(self, connection: Any) -> bool:
        if (
            self._lock.locked()
            or connection.should_reconnect()
            or connection._re_auth_token is not None
            or observed()
        ):
            return False
        self._in_use_connections.remove(connection)
        self._available_connections.append(connection)
        return True
