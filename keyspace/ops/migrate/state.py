"""Migration state in Redis (app server), read and written by programs: records, checkpoints, the lease.

Keys (all under ``keyspace:``, which no model may claim):

* ``keyspace:migrations:applied``            HASH  id -> JSON {applied_at, duration_s, counts, checksum}
* ``keyspace:migrations:checkpoint:{run}``   HASH  "op/model/template" -> JSON {cursor, done};
  ``_report`` -> the counters so far; ``_meta`` -> what the checkpoint belongs to
  (the operations' signature and the target key's fingerprint)
* ``keyspace:migrations:lock``               STRING JSON {token, holder, purpose, since}, with a lease (PX)

Every function here returns a program (keyspace.core.programs): the runner
drives them on a Mapper or an AsyncMapper alike.

**The lease** is part of the programs, not a thread: :func:`acquire` takes it
(SET NX PX), :meth:`Lease.keep` renews it inline when more than a third of the
lease has passed — the engine calls it before every batch's writes, so a
write is never sent more than lease/3 after the lock was last confirmed
ours — and a lost lease (expired, or taken by another runner) raises
LockLost before anything more is written.  :func:`locked` releases it with
compare-and-delete when the body ends, by returning or by raising.  A driver
that stops a program from outside (an I/O error, a cancellation) closes it,
and a closed generator can send nothing: the runner then releases the lease
itself (``Lease.held`` says whether it must); if even that fails, the lease
expires by itself ``lease`` seconds after the last renewal.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from keyspace.core import scripts
from keyspace.core.programs import Call, ErrorReply, Program, Sleep
from keyspace.errors import LockHeld, LockLost, ServerError

T = TypeVar("T")

PREFIX = "keyspace:migrations"
APPLIED = f"{PREFIX}:applied"
LOCK = f"{PREFIX}:lock"
META = "_meta"
REPORT = "_report"


def checkpoint_key(run_id: str) -> str:
    return f"{PREFIX}:checkpoint:{run_id}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(reply: Any) -> list[tuple[Any, Any]]:
    if isinstance(reply, dict):
        return list(reply.items())
    return list(zip(reply[::2], reply[1::2], strict=True)) if reply else []


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _checked(reply: Any, what: str) -> Any:
    if isinstance(reply, ErrorReply):
        raise ServerError(f"{what} failed: {reply}")
    return reply


# --- records -----------------------------------------------------------------------------


def read_applied() -> Program[dict[str, dict[str, Any]]]:
    (reply,) = yield Call([("HGETALL", APPLIED)])
    return {_text(k): json.loads(v) for k, v in _pairs(_checked(reply, "reading the applied records"))}


def mark_applied(migration_id: str, record: dict[str, Any]) -> Program[None]:
    replies = yield Call(
        [("HSET", APPLIED, migration_id, _json(record)), ("DEL", checkpoint_key(migration_id))]
    )
    _checked(replies[0], f"recording {migration_id}")


def unmark(*migration_ids: str) -> Program[None]:
    commands: list[tuple[Any, ...]] = [("HDEL", APPLIED, *migration_ids)]
    commands += [("DEL", checkpoint_key(m)) for m in migration_ids]
    replies = yield Call(commands)
    _checked(replies[0], "removing applied records")


def lock_holder() -> Program[dict[str, Any] | None]:
    (reply,) = yield Call([("GET", LOCK)])
    reply = _checked(reply, "reading the lock")
    return None if reply is None else json.loads(reply)


def with_checkpoints(run_ids: list[str]) -> Program[set[str]]:
    """Which of ``run_ids`` have a checkpoint (an interrupted run), in one round trip."""
    if not run_ids:
        return set()
    replies = yield Call([("EXISTS", checkpoint_key(r)) for r in run_ids])
    return {r for r, found in zip(run_ids, replies, strict=True) if found == 1}


# --- checkpoints -------------------------------------------------------------------------------


def read_checkpoint(run_id: str) -> Program[dict[str, Any]]:
    (reply,) = yield Call([("HGETALL", checkpoint_key(run_id))])
    return {_text(k): json.loads(v) for k, v in _pairs(_checked(reply, "reading a checkpoint"))}


def clear_checkpoint(run_id: str) -> Program[None]:
    yield Call([("DEL", checkpoint_key(run_id))])


def checkpoint_command(run_id: str, *pairs: tuple[str, Any]) -> tuple[Any, ...]:
    """The HSET that saves parts of a checkpoint (sent with a batch's writes through the lease)."""
    flat: list[Any] = []
    for name, value in pairs:
        flat += [name, _json(value)]
    return ("HSET", checkpoint_key(run_id), *flat)


# --- the lease ---------------------------------------------------------------------------------


@dataclass
class Lease:
    """The migration lock as a lease; its state travels with the programs that use it."""

    seconds: float = 30.0
    purpose: str = "migrate"
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    held: bool = False
    confirmed_at: float = 0.0  # time.monotonic() when the server last confirmed it is ours

    def __post_init__(self) -> None:
        self.value = _json(
            {
                "token": self.token,
                "holder": f"{socket.gethostname()}:{os.getpid()}",
                "purpose": self.purpose,
                "since": now_iso(),
            }
        )

    @property
    def millis(self) -> int:
        return max(1, int(self.seconds * 1000))

    def keep(self) -> Program[None]:
        """Renew the lease when more than a third of it has passed; LockLost when it is not ours."""
        if time.monotonic() - self.confirmed_at < self.seconds / 3:
            return
        (renewed,) = yield Call([scripts.call(scripts.LOCK_RENEW, [LOCK], [self.value, self.millis])])
        if isinstance(renewed, ErrorReply) or not renewed:
            self.held = False
            raise LockLost(
                f"the migration lock was lost (its {self.seconds:g}s lease expired or another runner took "
                "it); stopping before writing more"
            )
        self.confirmed_at = time.monotonic()

    def sleep(self, seconds: float) -> Program[None]:
        """Sleep (a rate limit) in pieces short enough to keep the lease renewed meanwhile."""
        piece = max(0.01, self.seconds / 4)
        while seconds > 0:
            step = min(piece, seconds)
            yield Sleep(step)
            seconds -= step
            yield from self.keep()


def acquire(lease: Lease) -> Program[None]:
    """Take the lock (SET NX PX) or raise LockHeld naming its holder."""
    for _ in range(2):
        started = time.monotonic()
        (ok,) = yield Call([("SET", LOCK, lease.value, "NX", "PX", lease.millis)])
        if ok is not None and not isinstance(ok, ErrorReply):
            lease.held, lease.confirmed_at = True, started
            return
        (current,) = yield Call([("GET", LOCK)])
        if current is not None:
            break  # held by someone else (if it expired between the two calls: try once more)
    info: dict[str, Any] = {}
    if current is not None and not isinstance(current, ErrorReply):
        try:
            info = json.loads(current)
        except ValueError:
            info = {}
    raise LockHeld(
        f"another migration runner holds the lock: {info.get('holder', '?')} "
        f"({info.get('purpose', '?')}) since {info.get('since', '?')}; it expires by itself "
        f"{lease.seconds:g}s after that runner stops renewing it"
    )


def release(lease: Lease) -> Program[None]:
    """Compare-and-delete: never removes a lock another runner holds."""
    if not lease.held:
        return
    yield Call([scripts.call(scripts.LOCK_RELEASE, [LOCK], [lease.value])])
    lease.held = False


def locked(lease: Lease, body: Program[T]) -> Program[T]:
    """Run ``body`` holding the lease; released when the body returns or raises.

    A program closed by its driver (GeneratorExit) cannot send the release: the
    runner does it after the driver returns (see the module docstring).
    """
    yield from acquire(lease)
    try:
        result = yield from body
    except GeneratorExit:
        raise
    except BaseException:
        yield from release(lease)
        raise
    yield from release(lease)
    return result
