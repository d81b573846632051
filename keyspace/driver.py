"""Drive the core's programs (see keyspace.commands) with real I/O.

``execute`` sends a batch of commands in one round trip and returns the raw
replies, error replies in place.  This is deliberately lower-level than
redis-py's ``Pipeline``: we need raw replies (no response callbacks), errors
in place rather than raised, and no per-call pipeline object on the hot path
of a single ``get``.  Connections come from redis-py's pool and are discarded
on any I/O error or cancellation, so an unread reply never reaches the next
caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import hiredis
from redis.exceptions import NoScriptError, ResponseError

from keyspace import scripts
from keyspace.commands import Call, Command, Emit, ErrorReply, Program


def pack(commands: Sequence[Command]) -> bytes:
    """RESP-encode a batch of commands with hiredis' C packer.

    redis-py's ``Connection.pack_commands`` is pure Python and general
    (memoryviews, buffer cut-offs); ``hiredis.pack_command`` is the same
    encoding in C, about 3.5x faster, which matters on the bulk path.
    """
    return b"".join(map(hiredis.pack_command, commands))


def _needs_script(reply: Any) -> bool:
    return isinstance(reply, ErrorReply) and reply.startswith("NOSCRIPT")


def _script_loads(commands: Sequence[Command], replies: Sequence[Any]) -> list[Command]:
    shas = {c[1] for c, r in zip(commands, replies, strict=True) if _needs_script(r)}
    return [("SCRIPT", "LOAD", scripts.ALL[sha].source) for sha in shas]


class SyncExecutor:
    """Sends command batches on a connection of a redis-py (sync) pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def _send(self, commands: Sequence[Command]) -> list[Any]:
        conn = self.pool.get_connection()
        try:
            conn.send_packed_command([pack(commands)])
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except NoScriptError as exc:
                    replies.append(ErrorReply(f"NOSCRIPT {exc}"))
                except ResponseError as exc:
                    replies.append(ErrorReply(str(exc)))
            return replies
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self.pool.release(conn)

    def __call__(self, commands: Sequence[Command]) -> list[Any]:
        replies = self._send(commands)
        loads = _script_loads(commands, replies)
        if loads:
            self._send(loads)
            again = [i for i, r in enumerate(replies) if _needs_script(r)]
            for i, reply in zip(again, self._send([commands[i] for i in again]), strict=True):
                replies[i] = reply
        return replies


class AsyncExecutor:
    """Sends command batches on a connection of a redis-py asyncio pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def _send(self, commands: Sequence[Command]) -> list[Any]:
        conn = await self.pool.get_connection()
        try:
            await conn.send_packed_command([pack(commands)])
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await conn.read_response())
                except NoScriptError as exc:
                    replies.append(ErrorReply(f"NOSCRIPT {exc}"))
                except ResponseError as exc:
                    replies.append(ErrorReply(str(exc)))
            return replies
        except BaseException:
            await conn.disconnect()
            raise
        finally:
            await self.pool.release(conn)

    async def __call__(self, commands: Sequence[Command]) -> list[Any]:
        replies = await self._send(commands)
        loads = _script_loads(commands, replies)
        if loads:
            await self._send(loads)
            again = [i for i, r in enumerate(replies) if _needs_script(r)]
            for i, reply in zip(again, await self._send([commands[i] for i in again]), strict=True):
                replies[i] = reply
        return replies


def run(execute: Callable[[Sequence[Command]], list[Any]], program: Program[Any]) -> Any:
    reply: Any = None
    while True:
        try:
            step = program.send(reply)
        except StopIteration as stop:
            return stop.value
        assert isinstance(step, Call)
        reply = execute(step.commands)


def stream(execute: Callable[[Sequence[Command]], list[Any]], program: Program[Any]) -> Iterator[Any]:
    reply: Any = None
    while True:
        try:
            step = program.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            reply = None
            yield step.item
        else:
            reply = execute(step.commands)


async def arun(execute: Callable[[Sequence[Command]], Any], program: Program[Any]) -> Any:
    reply: Any = None
    while True:
        try:
            step = program.send(reply)
        except StopIteration as stop:
            return stop.value
        assert isinstance(step, Call)
        reply = await execute(step.commands)


async def astream(execute: Callable[[Sequence[Command]], Any], program: Program[Any]) -> AsyncIterator[Any]:
    reply: Any = None
    while True:
        try:
            step = program.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            reply = None
            yield step.item
        else:
            reply = await execute(step.commands)
