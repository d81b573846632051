"""Drive the core's programs (see keyspace.core.programs) with real I/O.

``execute`` sends a batch of commands in one round trip and returns the raw
replies, error replies in place.  This is deliberately lower-level than
redis-py's ``Pipeline``: we need raw replies (no response callbacks), errors
in place rather than raised, and no per-call pipeline object on the hot path
of a single ``get``.  Connections come from redis-py's pool and are discarded
on any I/O error or cancellation, so an unread reply never reaches the next
caller.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from typing import Any

import hiredis
from redis._parsers import _AsyncHiredisParser, _HiredisParser
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis._parsers.socket import SERVER_CLOSED_CONNECTION_ERROR
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from keyspace.core import scripts
from keyspace.core import slots as cluster
from keyspace.core.programs import Command, ErrorReply
from keyspace.errors import OperationTimeout, PoolExhausted
from keyspace.io.links import ServerLink, apply_budget

SLACK = 0.05  # a read gets the exact remainder only once this much of the budget is spent


def pack(commands: Sequence[Command]) -> bytes:
    """RESP-encode a batch of commands with hiredis' C packer.

    redis-py's ``Connection.pack_commands`` is pure Python and general
    (memoryviews, buffer cut-offs); ``hiredis.pack_command`` is the same
    encoding in C, about 3.5x faster, which matters on the bulk path.
    """
    return b"".join(map(hiredis.pack_command, commands))


def _needs_script(reply: Any) -> bool:
    return isinstance(reply, ErrorReply) and reply.startswith("NOSCRIPT")


# --- the hot path: one write, the replies read straight off hiredis -------------------------
#
# redis-py's ``read_response`` costs a few microseconds of Python per reply (host strings, health
# checks, timeout scopes, one coroutine per await on asyncio); a bulk read of 500 replies paid that
# 500 times.  ``_exchange``/``_aexchange`` do what ``send_packed_command`` plus one ``read_response``
# per reply do, in one loop over the connection's own hiredis reader: the same replies, the same
# errors with the same words (an error reply in place, a ConnectionError reply raised, push
# messages handed to the parser), and on any failure the caller discards the connection.  They run
# only on connections they understand (hiredis parser, no redis-py health check); any other
# connection (fakeredis, the pure-Python parser) takes redis-py's path below them.


def _reply_error(reply: BaseException) -> ErrorReply:
    """An error reply (redis-py's parser hands it over as an exception instance) kept in place."""
    if isinstance(reply, NoScriptError):
        return ErrorReply(f"NOSCRIPT {reply}")
    return ErrorReply(str(reply))


def _settle(reply: Any) -> tuple[Any, bool]:
    """A reply other than the common ones, as a round trip keeps it: (reply, whether an error reply).

    Shared by the sync and asyncio round trips (only their waiting differs). Raises the connection
    error the parser hands over, alone or as the first element of a pipeline's reply.
    """
    if isinstance(reply, Exception):
        if isinstance(reply, RedisConnectionError):
            raise reply
        if isinstance(reply, ResponseError):
            return _reply_error(reply), True
    elif type(reply) is list and reply and isinstance(reply[0], RedisConnectionError):
        raise reply[0]
    return reply, False


def _write_error(exc: OSError) -> RedisConnectionError:
    errno, message = ("UNKNOWN", exc.args[0]) if len(exc.args) == 1 else exc.args[:2]
    return RedisConnectionError(f"Error {errno} while writing to socket. {message}.")


def _fast_sync(conn: Any) -> bool:
    return (
        type(conn._parser) is _HiredisParser
        and isinstance(conn._sock, socket.socket)  # (fakeredis has sockets of its own)
        and not conn.health_check_interval
    )


def _exchange(
    conn: Any, payload: bytes, count: int, budget: float, deadline: float
) -> tuple[list[Any], bool]:
    """Send ``payload`` and read ``count`` replies; (replies, whether any is an error reply).

    Reads wait on the socket's own timeout (the budget); once a noticeable part of the budget is
    spent, a read gets only the remainder (see ``_narrow``), so a round trip overshoots by at most
    SLACK.
    """
    sock = conn._sock
    parser = conn._parser
    reader = parser._reader
    buffer = parser._buffer
    push = parser._hiredis_PushNotificationType
    try:
        sock.sendall(payload)
    except TimeoutError:
        raise RedisTimeoutError("Timeout writing to socket") from None
    except OSError as exc:
        raise _write_error(exc) from None
    replies: list[Any] = []
    append = replies.append
    gets = reader.gets
    errors = False
    while len(replies) < count:
        reply = gets()
        kind = type(reply)
        if kind is bytes or kind is int or kind is dict:  # the common replies: nothing to look at
            append(reply)
            continue
        if reply is NOT_ENOUGH_DATA:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RedisTimeoutError("budget spent")
            if remaining < budget - SLACK:
                _narrow(conn, remaining)
            try:
                got = sock.recv_into(buffer)
            except TimeoutError:
                raise RedisTimeoutError("Timeout reading from socket") from None
            except OSError as exc:
                raise RedisConnectionError(
                    f"Error while reading from {conn._host_error()} : {exc.args}"
                ) from None
            if not got:
                raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
            reader.feed(buffer, 0, got)
            continue
        if push is not None and isinstance(reply, push):
            parser.handle_push_response(reply)
            continue
        reply, error = _settle(reply)
        errors = errors or error
        append(reply)
    return replies, errors


def _fast_async(conn: Any) -> bool:
    return (
        type(conn._parser) is _AsyncHiredisParser
        and type(conn._writer) is asyncio.StreamWriter  # (fakeredis has streams of its own)
        and not conn.health_check_interval
    )


async def _aexchange(conn: Any, payload: bytes, count: int, deadline: float) -> tuple[list[Any], bool]:
    """The asyncio twin of ``_exchange``: one timeout scope bounds the whole round trip."""
    parser = conn._parser
    reader = parser._reader
    stream = parser._stream
    size = parser._read_size
    push = parser._hiredis_PushNotificationType
    replies: list[Any] = []
    append = replies.append
    gets = reader.gets
    errors = False
    async with asyncio.timeout(deadline - time.monotonic()):
        try:
            conn._writer.write(payload)
            await conn._writer.drain()
        except OSError as exc:
            raise _write_error(exc) from None
        while len(replies) < count:
            reply = gets()
            kind = type(reply)
            if kind is bytes or kind is int or kind is dict:  # the common replies
                append(reply)
                continue
            if reply is NOT_ENOUGH_DATA:
                try:
                    data = await stream.read(size)
                except OSError as exc:
                    raise RedisConnectionError(
                        f"Error while reading from {conn._host_error()} : {exc.args}"
                    ) from None
                if not data or not isinstance(data, bytes):
                    raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
                reader.feed(data)
                continue
            if push is not None and isinstance(reply, push):
                await parser.handle_push_response(reply)
                continue
            reply, error = _settle(reply)
            errors = errors or error
            append(reply)
    return replies, errors


def _script_loads(commands: Sequence[Command], replies: Sequence[Any]) -> list[Command]:
    shas = {c[1] for c, r in zip(commands, replies, strict=True) if _needs_script(r)}
    return [("SCRIPT", "LOAD", scripts.ALL[sha].source) for sha in shas]


def _pool_exhausted(link: ServerLink) -> PoolExhausted:
    return PoolExhausted(
        f"all {link.options.max_connections} connections to the {link.name} Redis server stayed in use "
        f"for {link.options.pool_timeout:g}s; raise REDIS_MAX_CONNECTIONS or find the caller holding them"
    )


def _after_waiting(link: ServerLink, kind: str, budget: float, deadline: float) -> BaseException | None:
    """Whether a call that had to wait for a connection may still go on (None) or must fail.

    Shared by both executors, on the slow path only.  The breaker may have
    opened meanwhile (then CircuitOpen, without sending); a budget spent
    waiting says nothing about the server (the breaker is not charged).
    """
    opened = link.breaker.opened_meanwhile()
    if opened is not None:
        return opened
    if time.monotonic() >= deadline:
        link.breaker.abandon()
        return OperationTimeout(
            f"a {kind} operation spent its {budget:g}s budget waiting for one of the "
            f"{link.options.max_connections} connections to the {link.name} Redis server"
        )
    return None


def _timed_out(link: ServerLink, kind: str, budget: float) -> OperationTimeout:
    return OperationTimeout(
        f"the {link.name} Redis server did not answer a {kind} operation within its {budget:g}s budget"
    )


def _narrow(conn: Any, remaining: float) -> None:
    """Give the next socket operation only what is left of the budget (sync; rare: late reads).

    Sets the socket's timeout directly rather than passing ``timeout=`` to
    ``read_response``: redis-py would afterwards restore the timeout the
    connection had when it connected (5 s by default), and the next call of the
    same budget class would run on it.  The remembered budget is forgotten, so
    the next call sets its own again.
    """
    settimeout = getattr(conn._sock, "settimeout", None)
    if settimeout is not None:
        settimeout(remaining)
        conn._keyspace_budget = None


def failure_of(
    link: ServerLink, exc: BaseException, kind: str, budget: float, *, checkout: bool
) -> BaseException:
    """Record what a failed call tells the breaker, and return the error to raise.

    Shared by both executors: only failures to reach the server count against
    it; a busy pool or an interruption (cancellation, ^C) tells nothing about
    the server, and a half-open trial interrupted that way is handed on.
    """
    if checkout and isinstance(exc, RedisConnectionError) and "No connection available" in str(exc):
        link.breaker.abandon()  # the server is fine; the pool is busy
        return _pool_exhausted(link)
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        link.breaker.record_failure()
        if checkout:  # connecting (TCP, TLS, AUTH/SELECT) has the shortest budget of all
            return OperationTimeout(
                f"the {link.name} Redis server did not complete a new connection within "
                f"{min(budget, link.timeouts.shortest):g}s (for a {kind} operation)"
            )
        return _timed_out(link, kind, budget)
    if isinstance(exc, RedisConnectionError | OSError):
        link.breaker.record_failure()
        return exc
    link.breaker.abandon()
    return exc


class SyncExecutor:
    """Sends command batches on a connection of the link's (sync) pool.

    Order of checks: the breaker first (fails fast, no socket), then a
    connection from the pool (waits at most the pool timeout), then one
    write and the replies, each read bounded by what is left of the budget.
    Any I/O error, timeout or interruption discards the connection.
    """

    def __init__(self, link: ServerLink) -> None:
        self.link = link

    def _send(self, commands: Sequence[Command]) -> list[Any]:
        return self._round_trip(commands)[0]

    def _round_trip(self, commands: Sequence[Command]) -> tuple[list[Any], bool]:
        """(replies, whether any is an error reply) of one batch."""
        link = self.link
        payload = pack(commands)
        kind, budget = link.timeouts.budget(commands)
        link.breaker.before_call()
        deadline = time.monotonic() + budget
        pool = link.pool
        try:
            conn = pool.get_connection()  # a (re)connect is bounded too: see links.BoundedConnect
        except BaseException as exc:
            error = failure_of(link, exc, kind, budget, checkout=True)
            if error is exc:
                raise
            raise error from None
        try:
            apply_budget(conn, budget)
            remaining = deadline - time.monotonic()
            if remaining < budget - SLACK:  # waiting or connecting took part of the budget
                refused = _after_waiting(link, kind, budget, deadline)
                if refused is not None:
                    pool.release(conn)  # nothing was sent: the connection is clean
                    conn = None
                    raise refused
                _narrow(conn, remaining)
            if _fast_sync(conn):
                replies, errors = _exchange(conn, payload, len(commands), budget, deadline)
            else:
                replies, errors = self._exchange_slowly(conn, payload, commands, budget, deadline)
        except BaseException as exc:  # any failure: a reply may still come, so drop the connection
            if conn is None:  # refused before sending (see _after_waiting)
                raise
            conn.disconnect()
            error = failure_of(link, exc, kind, budget, checkout=False)
            if error is exc:
                raise
            raise error from None
        else:
            link.breaker.record_success()
            return replies, errors
        finally:
            if conn is not None:  # closed if it failed: the pool reconnects it, never reuses the socket
                pool.release(conn)

    @staticmethod
    def _exchange_slowly(
        conn: Any, payload: bytes, commands: Sequence[Command], budget: float, deadline: float
    ) -> tuple[list[Any], bool]:
        """redis-py's own send and reads, for connections ``_exchange`` does not handle."""
        conn.send_packed_command([payload])
        replies: list[Any] = []
        errors = False
        for _ in commands:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RedisTimeoutError("budget spent")
            # Reads run on the socket's timeout (the budget); only once a noticeable part of
            # the budget is spent does a read get the remainder, so the whole round trip
            # overshoots by at most SLACK.
            if remaining < budget - SLACK:
                _narrow(conn, remaining)
            try:
                replies.append(conn.read_response())
            except NoScriptError as exc:
                replies.append(ErrorReply(f"NOSCRIPT {exc}"))
                errors = True
            except ResponseError as exc:
                replies.append(ErrorReply(str(exc)))
                errors = True
        return replies, errors

    def __call__(self, commands: Sequence[Command]) -> list[Any]:
        replies, errors = self._round_trip(commands)
        if errors:
            loads = _script_loads(commands, replies)
            if loads:
                self._send(loads)
                again = [i for i, r in enumerate(replies) if _needs_script(r)]
                for i, reply in zip(again, self._send([commands[i] for i in again]), strict=True):
                    replies[i] = reply
        return replies


class AsyncExecutor:
    """The asyncio twin of SyncExecutor; the budget bounds the whole round trip."""

    def __init__(self, link: ServerLink) -> None:
        self.link = link

    async def _send(self, commands: Sequence[Command]) -> list[Any]:
        return (await self._round_trip(commands))[0]

    async def _round_trip(self, commands: Sequence[Command]) -> tuple[list[Any], bool]:
        link = self.link
        payload = pack(commands)
        kind, budget = link.timeouts.budget(commands)
        link.breaker.before_call()
        deadline = time.monotonic() + budget
        pool = link.pool
        gate = link.gate()
        if not gate.try_acquire():  # every connection is busy: wait, but not forever
            try:
                await gate.acquire(link.options.pool_timeout)
            except TimeoutError:
                link.breaker.abandon()
                raise _pool_exhausted(link) from None
            refused = _after_waiting(link, kind, budget, deadline)
            if refused is not None:
                gate.release()
                raise refused
            try:  # slow path: a (re)connect gets only what is left of the budget
                return await self._send_on(pool, link, payload, commands, kind, budget, deadline, True)
            finally:
                gate.release()
        try:
            conn = pool.take() if link.lean else None  # an idle, clean connection: no await
            if conn is not None:
                return await self._send_fast(pool, link, conn, payload, len(commands), kind, budget, deadline)
            return await self._send_on(pool, link, payload, commands, kind, budget, deadline, False)
        finally:
            gate.release()

    @staticmethod
    async def _send_fast(
        pool: Any,
        link: ServerLink,
        conn: Any,
        payload: bytes,
        count: int,
        kind: str,
        budget: float,
        deadline: float,
    ) -> tuple[list[Any], bool]:
        """The hot path: a connection taken without awaiting, one exchange, given back the same way."""
        try:
            if _fast_async(conn):
                result = await _aexchange(conn, payload, count, deadline)
            else:  # (take() hands out hiredis connections only; kept for safety)
                conn.socket_timeout = budget
                result = await AsyncExecutor._exchange_slowly(conn, payload, count, deadline)
        except BaseException as exc:  # any failure or cancellation: drop the connection
            await conn.disconnect(nowait=True)  # nowait: a frozen peer must not hold us up
            await pool.release(conn)
            error = failure_of(link, exc, kind, budget, checkout=False)
            if error is exc:
                raise
            raise error from None
        if not pool.give(conn):
            await pool.release(conn)
        link.breaker.record_success()
        return result

    async def _send_on(
        self,
        pool: Any,
        link: ServerLink,
        payload: bytes,
        commands: Sequence[Command],
        kind: str,
        budget: float,
        deadline: float,
        waited: bool,
    ) -> tuple[list[Any], bool]:
        try:
            if waited:
                async with asyncio.timeout(deadline - time.monotonic()):
                    conn = await pool.get_connection()
            else:  # a (re)connect is bounded by links.AsyncBoundedConnect
                conn = await pool.get_connection()
        except BaseException as exc:
            error = failure_of(link, exc, kind, budget, checkout=True)
            if error is exc:
                raise
            raise error from None
        try:
            # The budget covers the whole round trip: the send is bounded by it (redis-py
            # applies socket_timeout to the drain) and every read by what is left of it —
            # cheaper than an extra asyncio.timeout scope per call (measured).
            remaining = deadline - time.monotonic()
            if remaining < budget - SLACK:  # connecting took part of the budget
                if remaining <= 0:
                    raise RedisTimeoutError("budget spent before sending")
                conn.socket_timeout = remaining
            else:
                conn.socket_timeout = budget
            if _fast_async(conn):
                result = await _aexchange(conn, payload, len(commands), deadline)
            else:
                result = await self._exchange_slowly(conn, payload, len(commands), deadline)
        except BaseException as exc:  # any failure or cancellation: drop the connection
            await conn.disconnect(nowait=True)  # nowait: a frozen peer must not hold us up
            error = failure_of(link, exc, kind, budget, checkout=False)
            if error is exc:
                raise
            raise error from None
        else:
            link.breaker.record_success()
            return result
        finally:
            await pool.release(conn)  # closed if it failed: the pool reconnects it, never reuses the socket

    @staticmethod
    async def _exchange_slowly(
        conn: Any, payload: bytes, count: int, deadline: float
    ) -> tuple[list[Any], bool]:
        """redis-py's own send and reads, for connections ``_aexchange`` does not handle."""
        await conn.send_packed_command([payload])
        replies: list[Any] = []
        errors = False
        for _ in range(count):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RedisTimeoutError("budget spent")
            try:
                reply = await conn.read_response(timeout=remaining)
            except NoScriptError as exc:
                replies.append(ErrorReply(f"NOSCRIPT {exc}"))
                errors = True
                continue
            except ResponseError as exc:
                replies.append(ErrorReply(str(exc)))
                errors = True
                continue
            # redis-py's asyncio read_response *returns None* when an explicit timeout
            # passes (it raises only on socket_timeout), and a nil reply is None too.
            # A None at or past the deadline is a timeout: the reply may still come.
            if reply is None and time.monotonic() >= deadline:
                raise RedisTimeoutError("budget spent")
            replies.append(reply)
        return replies, errors

    async def __call__(self, commands: Sequence[Command]) -> list[Any]:
        replies, errors = await self._round_trip(commands)
        if errors:
            loads = _script_loads(commands, replies)
            if loads:
                await self._send(loads)
                again = [i for i, r in enumerate(replies) if _needs_script(r)]
                for i, reply in zip(again, await self._send([commands[i] for i in again]), strict=True):
                    replies[i] = reply
        return replies


# --- Redis Cluster ---------------------------------------------------------------------

MAX_REDIRECTS = 3


class _ClusterBase:
    """Routing state shared by the sync and asyncio cluster executors (see keyspace.core.slots)."""

    def __init__(self, link: Any) -> None:
        self.link = link
        self.topology: Any = None

    def _special(self, commands: Sequence[Command]) -> str | None:
        if len(commands) != 1:
            return None
        name = str(commands[0][0]).upper()
        if name in ("SCAN", "DBSIZE", "SCRIPT", "PING", "INFO", "CLIENT", "FLUSHALL"):
            return name
        return None

    def _with_wait(self, route: Any) -> list[Command]:
        wanted = self.link.options.wait_replicas
        if wanted and any(cluster.is_write(c) for c in route.commands):
            return [*route.commands, ("WAIT", wanted, int(self.link.options.timeouts.fast * 500))]
        return list(route.commands)

    def _check_wait(self, route: Any, replies: list[Any]) -> list[Any]:
        wanted = self.link.options.wait_replicas
        if len(replies) == len(route.commands) + 1:
            acked = replies.pop()
            if not isinstance(acked, int) or acked < wanted:
                raise RedisConnectionError(
                    f"write on {route.node.name} reached {acked} of {wanted} replica(s) in time"
                )
        return replies


class ClusterSyncExecutor(_ClusterBase):
    """Routes each command to the primary owning its slot; one pipeline per node."""

    def _node(self, node: Any) -> SyncExecutor:
        return SyncExecutor(self.link.node_link(node))

    def refresh(self) -> None:
        last: Exception | None = None
        for seed in self.link.seeds():
            try:
                (reply,) = self._node(seed)._send([("CLUSTER", "SLOTS")])
                self.topology = cluster.Topology(reply)
                self.link.learn(reply)
                return
            except Exception as exc:  # try the next node
                last = exc
        raise RedisConnectionError(f"no cluster node answered CLUSTER SLOTS ({type(last).__name__})")

    def __call__(self, commands: Sequence[Command]) -> list[Any]:
        if self.topology is None:
            self.refresh()
        special = self._special(commands)
        if special:
            return self._keyless(special, commands[0])
        replies: list[Any] = [None] * len(commands)
        todo = list(range(len(commands)))
        for attempt in range(MAX_REDIRECTS + 1):
            batch = [commands[i] for i in todo]
            for route in cluster.plan_batch(batch, self.topology):
                try:
                    got = self._node(route.node)(self._with_wait(route))
                except (RedisConnectionError, OSError):
                    self._refresh_quietly()
                    raise
                got = self._check_wait(route, got)
                for pos, reply in zip(route.positions, got, strict=True):
                    replies[todo[pos]] = reply
            moved = [i for i in todo if cluster.redirected(replies[i])]
            if not moved or attempt == MAX_REDIRECTS:
                return replies
            self.refresh()
            todo = moved
        return replies

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:
            self.topology = None

    def _keyless(self, name: str, command: Command) -> list[Any]:
        topo = self.topology
        if name == "SCAN":
            index, node_cursor = cluster.split_cursor(command[1], topo)
            node = topo.primaries[index]
            (reply,) = self._node(node)([("SCAN", node_cursor, *command[2:])])
            if isinstance(reply, ErrorReply):
                return [reply]
            return [[cluster.join_cursor(index, reply[0], topo), reply[1]]]
        if name == "DBSIZE":
            return [sum(self._node(n)([command])[0] for n in topo.primaries)]
        if name in ("SCRIPT", "FLUSHALL"):
            return [self._node(n)([command])[0] for n in topo.primaries][:1]
        return self._node(topo.primaries[0])([command])


class ClusterAsyncExecutor(_ClusterBase):
    """The asyncio twin of ClusterSyncExecutor."""

    def _node(self, node: Any) -> AsyncExecutor:
        return AsyncExecutor(self.link.node_link(node))

    async def refresh(self) -> None:
        last: Exception | None = None
        for seed in self.link.seeds():
            try:
                (reply,) = await self._node(seed)._send([("CLUSTER", "SLOTS")])
                self.topology = cluster.Topology(reply)
                self.link.learn(reply)
                return
            except Exception as exc:
                last = exc
        raise RedisConnectionError(f"no cluster node answered CLUSTER SLOTS ({type(last).__name__})")

    async def __call__(self, commands: Sequence[Command]) -> list[Any]:
        if self.topology is None:
            await self.refresh()
        special = self._special(commands)
        if special:
            return await self._keyless(special, commands[0])
        replies: list[Any] = [None] * len(commands)
        todo = list(range(len(commands)))
        for attempt in range(MAX_REDIRECTS + 1):
            batch = [commands[i] for i in todo]
            routes = cluster.plan_batch(batch, self.topology)
            try:
                results = await asyncio.gather(*(self._node(r.node)(self._with_wait(r)) for r in routes))
            except (RedisConnectionError, OSError):
                try:
                    await self.refresh()
                except Exception:
                    self.topology = None
                raise
            for route, got in zip(routes, results, strict=True):
                got = self._check_wait(route, got)
                for pos, reply in zip(route.positions, got, strict=True):
                    replies[todo[pos]] = reply
            moved = [i for i in todo if cluster.redirected(replies[i])]
            if not moved or attempt == MAX_REDIRECTS:
                return replies
            await self.refresh()
            todo = moved
        return replies

    async def _keyless(self, name: str, command: Command) -> list[Any]:
        topo = self.topology
        if name == "SCAN":
            index, node_cursor = cluster.split_cursor(command[1], topo)
            (reply,) = await self._node(topo.primaries[index])([("SCAN", node_cursor, *command[2:])])
            if isinstance(reply, ErrorReply):
                return [reply]
            return [[cluster.join_cursor(index, reply[0], topo), reply[1]]]
        if name == "DBSIZE":
            return [sum([(await self._node(n)([command]))[0] for n in topo.primaries])]
        if name in ("SCRIPT", "FLUSHALL"):
            return [(await self._node(n)([command]))[0] for n in topo.primaries][:1]
        return await self._node(topo.primaries[0])([command])
