"""Migration state in Redis (app server): applied migrations, checkpoints, the lease lock.

Keys (all under ``keyspace:``, which no model may claim):

* ``keyspace:migrations:applied``   HASH  id -> JSON {applied_at, duration_s, counts, checksum}
* ``keyspace:migrations:checkpoint:{id}`` HASH  "op/model/template" -> JSON {cursor, done, counters}
* ``keyspace:migrations:lock``      STRING JSON {token, holder, since}, with a lease (PX)

The lock is a lease: a random token, an expiry renewed by a heartbeat thread,
and compare-and-delete on release.  A crashed runner's lock simply expires.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keyspace.core import scripts
from keyspace.errors import LockHeld, LockLost

PREFIX = "keyspace:migrations"
APPLIED = f"{PREFIX}:applied"
LOCK = f"{PREFIX}:lock"

Execute = Callable[[Sequence[tuple[Any, ...]]], list[Any]]


def checkpoint_key(migration_id: str) -> str:
    return f"{PREFIX}:checkpoint:{migration_id}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StateStore:
    def __init__(self, execute: Execute) -> None:
        self.execute = execute

    def applied(self) -> dict[str, dict[str, Any]]:
        (reply,) = self.execute([("HGETALL", APPLIED)])
        pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
        return {_text(k): json.loads(v) for k, v in pairs}

    def mark_applied(self, migration_id: str, record: dict[str, Any]) -> None:
        self.execute(
            [("HSET", APPLIED, migration_id, json.dumps(record)), ("DEL", checkpoint_key(migration_id))]
        )

    def unmark(self, migration_id: str) -> None:
        self.execute([("HDEL", APPLIED, migration_id), ("DEL", checkpoint_key(migration_id))])

    def checkpoints(self, migration_id: str) -> dict[str, dict[str, Any]]:
        (reply,) = self.execute([("HGETALL", checkpoint_key(migration_id))])
        pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
        return {_text(k): json.loads(v) for k, v in pairs}

    def save_checkpoint(self, migration_id: str, part: str, state: dict[str, Any]) -> None:
        self.execute([("HSET", checkpoint_key(migration_id), part, json.dumps(state))])

    def clear_checkpoints(self, migration_id: str) -> None:
        self.execute([("DEL", checkpoint_key(migration_id))])

    def lock_holder(self) -> dict[str, Any] | None:
        (reply,) = self.execute([("GET", LOCK)])
        return None if reply is None else json.loads(reply)


@dataclass
class LeaseLock:
    """The migration lock; use as a context manager."""

    execute: Execute
    lease: float = 30.0
    purpose: str = "migrate"

    def __post_init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.value = json.dumps(
            {
                "token": self.token,
                "holder": f"{socket.gethostname()}:{os.getpid()}",
                "purpose": self.purpose,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def acquire(self) -> None:
        (ok,) = self.execute([("SET", LOCK, self.value, "NX", "PX", int(self.lease * 1000))])
        if ok is None or (isinstance(ok, bytes | str) and _text(ok) != "OK"):
            (current,) = self.execute([("GET", LOCK)])
            if current is None:  # expired between the two calls: try once more
                (ok,) = self.execute([("SET", LOCK, self.value, "NX", "PX", int(self.lease * 1000))])
                if ok is not None:
                    self._start()
                    return
                (current,) = self.execute([("GET", LOCK)])
            info = json.loads(current) if current else {}
            raise LockHeld(
                f"another migration runner holds the lock: {info.get('holder', '?')} "
                f"({info.get('purpose', '?')}) since {info.get('since', '?')}; it expires by itself "
                f"{self.lease:g}s after that runner stops renewing it"
            )
        self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._heartbeat, name="keyspace-migration-lock", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                (renewed,) = self.execute(
                    [scripts.call(scripts.LOCK_RENEW, [LOCK], [self.value, int(self.lease * 1000)])]
                )
            except Exception:  # a failed renewal is retried; expiry decides
                continue
            if not renewed:
                self.lost = True
                return

    def check(self) -> None:
        if self.lost:
            raise LockLost("the migration lock was lost (lease expired); stopping before writing more")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.execute([scripts.call(scripts.LOCK_RELEASE, [LOCK], [self.value])])

    def __enter__(self) -> LeaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def monotonic() -> float:
    return time.monotonic()
