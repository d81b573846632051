"""Operator engines as plans: programs on several servers, driven by either mapper.

A core program (keyspace.core.programs) runs on one server.  An operator
engine such as ``stats`` or ``doctor`` looks at both servers, so it is written
as a *plan*: a generator that yields :class:`OnServer` (run this program on
that server) and receives the program's result, or has the program's error
thrown in at the ``yield`` so it can report it.  A :class:`Task` step calls a public
API written for both mappers (a value on Mapper, an awaitable on AsyncMapper).  :func:`drive` runs a plan
with ``mapper.run`` — blocking on a Mapper, as a coroutine on an AsyncMapper —
so every engine is written once and gets the mapper's pool, breaker, budgets
and error translation.

:func:`for_each` lets a program consume another program's emitted items
(``scan_batches``) while forwarding its commands: a program reads a SCAN
stream without a second SCAN loop.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from keyspace.core.programs import Emit, Program, Step

T = TypeVar("T")


@dataclass(slots=True)
class OnServer:
    """Run ``program`` on ``server``; the plan receives its result (or its error)."""

    server: str
    program: Program[Any]


@dataclass(slots=True)
class Task:
    """Call ``fn``: a public API that returns its result on a Mapper and an awaitable on an
    AsyncMapper (e.g. ``Runner.pending``); the plan receives the result either way."""

    fn: Callable[[], Any]


Plan = Generator[OnServer | Task, Any, T]


def drive(mapper: Any, plan: Plan[T]) -> Any:
    """Run a plan with ``mapper``: its result on a Mapper, an awaitable on an AsyncMapper."""
    from keyspace.mapper import AsyncMapper

    if isinstance(mapper, AsyncMapper):
        return _adrive(mapper, plan)
    return _drive(mapper, plan)


def _drive(mapper: Any, plan: Plan[T]) -> T:
    reply: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                step = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply, error = None, None
            try:
                reply = step.fn() if isinstance(step, Task) else mapper.run(step.program, server=step.server)
            except Exception as exc:  # handed to the plan, which reports it or lets it rise
                error = exc
    finally:
        plan.close()


async def _adrive(mapper: Any, plan: Plan[T]) -> T:
    reply: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                step = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply, error = None, None
            try:
                if isinstance(step, Task):
                    reply = step.fn()
                    if inspect.isawaitable(reply):
                        reply = await reply
                else:
                    reply = await mapper.run(step.program, server=step.server)
            except Exception as exc:
                error = exc
    finally:
        plan.close()


def for_each(
    source: Program[Any], handle: Callable[[Any], Generator[Step, Any, bool | None]]
) -> Program[None]:
    """Run ``source``; each item it emits is handled by the program ``handle(item)``.

    ``handle`` returns True to stop early (``source`` is then closed, as a
    driver closes a program whose consumer stops).
    """
    reply: Any = None
    try:
        while True:
            try:
                step = source.send(reply)
            except StopIteration:
                return
            if type(step) is Emit:
                reply = None
                if (yield from handle(step.item)):
                    return
            else:
                reply = yield step
    finally:
        source.close()


def just(value: T) -> Program[T]:
    """A program that sends nothing and returns ``value`` (a plan step with no I/O)."""
    return value
    yield  # pragma: no cover - makes this a generator
