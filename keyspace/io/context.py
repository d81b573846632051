"""``redis_context()``: a raw client for the app server with the mapper's protections built in.

::

    async with redis_context() as redis:        # or: with redis_context_sync() as redis:
        value = await redis.get("key")

The client holds one pooled connection for the block and always gives it back
— on normal exit, on an exception and on cancellation.  Every command goes
through the server's circuit breaker and its time budget (fast/normal/slow by
command name), exactly like the mapper's own calls; a timed-out or cancelled
command's connection is discarded, never reused.  Without arguments the app
server comes from the environment/.env (one link per process, shared by
every ``redis_context()`` of that process); pass ``link=mapper.links["app"]``
to share a mapper's pool and breaker.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from keyspace.errors import OperationTimeout
from keyspace.io.executors import failure_of
from keyspace.io.links import ServerLink, apply_budget, async_link, sync_link

_DEFAULT: dict[tuple[int, str], ServerLink] = {}
_LOCK = threading.Lock()


def _default_link(kind: str) -> ServerLink:
    from keyspace.io.settings import Settings

    key = (os.getpid(), kind)
    with _LOCK:
        link = _DEFAULT.get(key)
        if link is None:
            settings = Settings.load()
            make = async_link if kind == "async" else sync_link
            link = _DEFAULT[key] = make(
                "app", settings.app_url(), settings.link_options(), **settings.client_options()
            )
    return link


class GuardedAsyncRedis(redis.asyncio.Redis):
    """redis.asyncio.Redis on one pooled connection, every command under breaker and budget."""

    def __init__(self, link: ServerLink) -> None:
        super().__init__(connection_pool=link.pool, single_connection_client=True)
        self._link = link

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        link = self._link
        kind, budget = link.timeouts.budget([args])
        link.breaker.before_call()
        try:
            async with asyncio.timeout(budget):
                result = await super().execute_command(*args, **options)
        except ResponseError:
            link.breaker.record_success()  # the server answered
            raise
        except (TimeoutError, RedisTimeoutError):
            await self._drop()
            link.breaker.record_failure()
            raise OperationTimeout(
                f"the {link.name} Redis server did not answer a {kind} command within {budget:g}s"
            ) from None
        except (RedisConnectionError, OSError):
            await self._drop()
            link.breaker.record_failure()
            raise
        except BaseException:
            await self._drop()
            link.breaker.abandon()
            raise
        link.breaker.record_success()
        return result

    async def _drop(self) -> None:
        if self.connection is not None:
            await self.connection.disconnect(nowait=True)  # a frozen peer must not hold us up


class GuardedRedis(redis.Redis):
    """The sync twin: the budget is applied as the socket timeout of each command.

    The connection is taken (and, if need be, connected within the shortest
    budget) when the block is entered; a failure there is reported like a
    failed call.  redis-py never retries a command here: the pool's Retry
    allows none.
    """

    def __init__(self, link: ServerLink) -> None:
        try:
            super().__init__(connection_pool=link.pool, single_connection_client=True)
        except BaseException as exc:
            error = failure_of(link, exc, "connect", link.timeouts.shortest, checkout=True)
            if error is exc:
                raise
            raise error from None
        self._link = link

    def execute_command(self, *args: Any, **options: Any) -> Any:
        link = self._link
        kind, budget = link.timeouts.budget([args])
        link.breaker.before_call()
        conn = self.connection
        try:
            if conn is not None:
                if not conn._sock:  # dropped after a failure: reconnect within the connect budget
                    conn.connect()
                apply_budget(conn, budget)
            result = super().execute_command(*args, **options)
        except ResponseError:
            link.breaker.record_success()
            raise
        except RedisTimeoutError:
            if conn is not None:
                conn.disconnect()
            link.breaker.record_failure()
            raise OperationTimeout(
                f"the {link.name} Redis server did not answer a {kind} command within {budget:g}s"
            ) from None
        except (RedisConnectionError, OSError):
            if conn is not None:
                conn.disconnect()
            link.breaker.record_failure()
            raise
        except BaseException:
            if conn is not None:
                conn.disconnect()
            link.breaker.abandon()
            raise
        link.breaker.record_success()
        return result


@asynccontextmanager
async def redis_context(link: ServerLink | None = None) -> AsyncIterator[GuardedAsyncRedis]:
    client = GuardedAsyncRedis(link or _default_link("async"))
    try:
        yield client
    finally:
        # shield: a cancelled block must still hand its connection back
        await asyncio.shield(client.aclose())


@contextmanager
def redis_context_sync(link: ServerLink | None = None) -> Iterator[GuardedRedis]:
    client = GuardedRedis(link or _default_link("sync"))
    try:
        yield client
    finally:
        client.close()
