"""Per-operation time budgets by class: fast 2 s, normal 5 s, slow 10 s, pipelines 15 s.

A batch of more than one command is a pipeline; a single command is classed
by its name.  The budget runs from the moment a call is made and covers
waiting for a pooled connection, connecting (TCP, TLS, AUTH/SELECT and the
connect retry, together bounded by the shortest budget), the send and every
reply; a call over budget raises OperationTimeout and its connection is
discarded, so a late reply can never reach the next caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FAST = frozenset(
    {
        "GET",
        "SET",
        "EXISTS",
        "TTL",
        "PTTL",
        "TYPE",
        "INCRBY",
        "SISMEMBER",
        "LLEN",
        "PING",
        "DEL",
        "EXPIRE",
        "PERSIST",
        "EVALSHA",
        "EVAL",
        "SCRIPT",
        "HGET",
        "HSET",
        "HDEL",
        "SADD",
        "SREM",
        "RPUSH",
    }
)
NORMAL = frozenset({"HGETALL", "MGET", "SMEMBERS", "LRANGE", "ZRANGE", "INFO", "MEMORY", "DUMP", "RESTORE"})
SLOW = frozenset({"SCAN", "HSCAN", "SSCAN", "ZSCAN"})


@dataclass(frozen=True, slots=True)
class Timeouts:
    fast: float = 2.0
    normal: float = 5.0
    slow: float = 10.0
    pipeline: float = 15.0

    @property
    def shortest(self) -> float:
        """The budget for connecting (TCP, TLS, AUTH/SELECT, the retry): it must fit every class."""
        return min(self.fast, self.normal, self.slow, self.pipeline)

    def budget(self, commands: Sequence[tuple[Any, ...]]) -> tuple[str, float]:
        """(class, seconds) for a batch."""
        if len(commands) > 1:
            return "pipeline", self.pipeline
        name = str(commands[0][0]).upper()
        if name in SLOW:
            return "slow", self.slow
        if name in FAST:
            return "fast", self.fast
        return "normal", self.normal
