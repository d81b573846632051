"""What every benchmark shares: the models, the hand-written baseline, the paired timing."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from decimal import Decimal

import redis
from pydantic import BaseModel

from keyspace import Encrypted, HashModel


class Account(HashModel, key="bench:account:{id}", register=False):
    id: int
    name: str
    balance: Decimal
    leverage: int
    active: bool


class SecretAccount(HashModel, key="bench:secret:{id}", register=False):
    id: int
    api_secret: Encrypted[str]


class PlainAccount(BaseModel):
    """What hand-written code validates into: the same four typed fields."""

    id: int
    name: str
    balance: Decimal
    leverage: int
    active: bool


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def paired(
    rounds: int, baseline: Callable[[], object], candidate: Callable[[], object]
) -> tuple[float, float]:
    b = c = float("inf")
    for _ in range(rounds):
        b = min(b, best_of(1, baseline))
        c = min(c, best_of(1, candidate))
    return b, c


def hand_mapping(a: PlainAccount) -> dict[str, str]:
    """How hand-written code encodes the four fields."""
    return {
        "name": a.name,
        "balance": str(a.balance),
        "leverage": str(a.leverage),
        "active": "true" if a.active else "false",
    }


def hand_decode(i: int, raw: dict[bytes, bytes]) -> PlainAccount:
    """How hand-written code decodes them (into a pydantic model, as the application does)."""
    return PlainAccount.model_validate(
        {
            "id": i,
            "name": raw[b"name"].decode(),
            "balance": raw[b"balance"].decode(),
            "leverage": raw[b"leverage"].decode(),
            "active": raw[b"active"] == b"true",
        }
    )


def hand_save(r: redis.Redis, a: PlainAccount) -> None:
    r.hset(f"bench:account:{a.id}", mapping=hand_mapping(a))


def hand_get(r: redis.Redis, i: int) -> PlainAccount | None:
    raw = r.hgetall(f"bench:account:{i}")
    return hand_decode(i, raw) if raw else None
