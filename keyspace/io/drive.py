"""Drive the core's programs with real I/O: the only loop between a program and an executor.

A program (see keyspace.core.programs) yields steps: ``Call`` (send these
commands, get the raw replies back), ``Emit`` (hand an item to a streaming
caller) and ``Sleep`` (pause, e.g. for a rate limit).  The drivers here run
a program to its result (``run``) or stream its items (``stream``), blocking
or awaiting.  Like httpx's auth flows, a program is closed when the driver
stops early — an error, a cancellation, a consumer that stops iterating — so
its ``finally`` blocks run (a migration lock is released, say).  A step of
the wrong kind is a programming error and raises TypeError (never ``assert``:
it must hold under ``python -O`` too).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from keyspace.core.programs import Call, Command, Emit, Program, Sleep

T = TypeVar("T")
SyncExecute = Callable[[Sequence[Command]], list[Any]]
AsyncExecute = Callable[[Sequence[Command]], Awaitable[list[Any]]]


def _unexpected(step: object, where: str) -> TypeError:
    return TypeError(f"a program run by {where} yielded {type(step).__name__}, not Call/Sleep")


def run(execute: SyncExecute, program: Program[T]) -> T:
    """Run ``program`` to its return value (an Emit is a programming error here)."""
    reply: Any = None
    try:
        while True:
            try:
                step = program.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if type(step) is Call:
                reply = execute(step.commands)
            elif type(step) is Sleep:
                time.sleep(step.seconds)
                reply = None
            else:
                raise _unexpected(step, "run()")
    finally:
        program.close()


def stream(execute: SyncExecute, program: Program[Any]) -> Iterator[Any]:
    """Yield every item the program emits; its return value is dropped."""
    reply: Any = None
    try:
        while True:
            try:
                step = program.send(reply)
            except StopIteration:
                return
            if type(step) is Emit:
                reply = None
                yield step.item
            elif type(step) is Call:
                reply = execute(step.commands)
            elif type(step) is Sleep:
                time.sleep(step.seconds)
                reply = None
            else:
                raise TypeError(f"a program yielded {type(step).__name__}")
    finally:
        program.close()


async def arun(execute: AsyncExecute, program: Program[T]) -> T:
    """The asyncio twin of :func:`run`."""
    reply: Any = None
    try:
        while True:
            try:
                step = program.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if type(step) is Call:
                reply = await execute(step.commands)
            elif type(step) is Sleep:
                await asyncio.sleep(step.seconds)
                reply = None
            else:
                raise _unexpected(step, "run()")
    finally:
        program.close()


async def astream(execute: AsyncExecute, program: Program[Any]) -> AsyncIterator[Any]:
    """The asyncio twin of :func:`stream`."""
    reply: Any = None
    try:
        while True:
            try:
                step = program.send(reply)
            except StopIteration:
                return
            if type(step) is Emit:
                reply = None
                yield step.item
            elif type(step) is Call:
                reply = await execute(step.commands)
            elif type(step) is Sleep:
                await asyncio.sleep(step.seconds)
                reply = None
            else:
                raise TypeError(f"a program yielded {type(step).__name__}")
    finally:
        program.close()


def drain(program: Program[T]) -> Program[T]:
    """A program's return value, its emitted items discarded (``count`` is a drained scan)."""
    reply: Any = None
    try:
        while True:
            try:
                step = program.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply = None if type(step) is Emit else (yield step)
    finally:
        program.close()
