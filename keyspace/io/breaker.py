"""A circuit breaker per Redis server.

closed -> (N consecutive connection/timeout failures) -> open
open   -> (reset timeout elapsed) -> half-open: exactly one trial call goes through,
          every other caller still fails fast
half-open -> trial succeeds -> closed;  trial fails -> open again

Only failures to *reach* the server count: an error reply (WRONGTYPE, a
script error, a failed WATCH) proves the server is up and counts as success.
While open, calls fail in microseconds without touching a socket.  The
breaker is thread-safe and also serves asyncio (its critical sections never
await).  State changes are logged on ``keyspace.io.breaker`` and readable with
:meth:`snapshot` (``keyspace doctor`` shows them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from keyspace.errors import CircuitOpen

log = logging.getLogger("keyspace.breaker")
State = Literal["closed", "open", "half-open"]


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    server: str
    state: State
    consecutive_failures: int
    opened_for: float | None  # seconds since the breaker opened
    transitions: int


class CircuitBreaker:
    def __init__(
        self,
        server: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold >= 1 and reset_timeout > 0 are required")
        self.server = server
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._transitions = 0

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    def snapshot(self) -> BreakerSnapshot:
        with self._lock:
            opened_for = self._clock() - self._opened_at if self._state != "closed" else None
            return BreakerSnapshot(self.server, self._state, self._failures, opened_for, self._transitions)

    def _move(self, state: State) -> None:
        if state != self._state:
            log.warning(
                "circuit breaker for the %s server: %s -> %s",
                self.server,
                self._state,
                state,
                extra={"keyspace_server": self.server, "keyspace_breaker": state},
            )
            self._state = state
            self._transitions += 1

    def before_call(self) -> None:
        """Let the call through, or raise CircuitOpen (no I/O either way)."""
        if self._state == "closed":  # the hot path: one attribute read, no lock
            return
        with self._lock:
            state: State = self._state  # re-read under the lock: another thread may have moved it
            if state == "closed":
                return
            if state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
                self._move("half-open")  # this caller is the one trial call
                return
            raise self._rejection()

    def _rejection(self) -> CircuitOpen:
        wait = max(0.0, self.reset_timeout - (self._clock() - self._opened_at))
        what = "a trial call is in flight" if self._state == "half-open" else f"retry in {wait:.1f}s"
        return CircuitOpen(
            f"the {self.server} Redis server is unavailable (circuit open after "
            f"{self.failure_threshold} consecutive failures; {what})"
        )

    def opened_meanwhile(self) -> CircuitOpen | None:
        """For a call that passed ``before_call`` and then waited (for a pooled connection).

        If the breaker opened in the meantime, the error to fail with; no state
        change (a half-open trial that waited is still the trial).
        """
        if self._state != "open":
            return None
        with self._lock:
            return self._rejection() if self._state == "open" else None

    def record_success(self) -> None:
        if self._state == "closed" and not self._failures:  # nothing to change: no lock
            return
        with self._lock:
            self._failures = 0
            if self._state != "closed":
                self._move("closed")

    def abandon(self) -> None:
        """A call ended without telling anything about the server (cancelled, pool busy).

        If it was the half-open trial, the breaker goes back to open with its
        reset time already spent, so the next caller becomes the new trial.
        """
        with self._lock:
            if self._state == "half-open":
                self._opened_at = self._clock() - self.reset_timeout
                self._move("open")

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == "half-open" or (
                self._state == "closed" and self._failures >= self.failure_threshold
            ):
                self._opened_at = self._clock()
                self._move("open")
