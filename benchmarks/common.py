"""What every benchmark shares: the models, the hand-written baseline, paired timing, figures.

A figure is a ratio measured round by round: in each round the baseline and the
candidate run in short interleaved blocks (their order alternating, so that neither
always runs on a warmer cache or a quieter moment), and the round's ratio is kept.
A figure is reported as the median of its rounds with their min and max.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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


def accounts(n: int) -> list[Account]:
    return [
        Account(id=i, name=f"user-{i}", balance=Decimal("1234.56"), leverage=10, active=True)
        for i in range(n)
    ]


def plain(objs: list[Account]) -> list[PlainAccount]:
    return [PlainAccount(**a.model_dump()) for a in objs]


def hand_mapping(a: PlainAccount) -> dict[Any, Any]:
    """How hand-written code encodes the four fields."""
    return {
        "name": a.name,
        "balance": str(a.balance),
        "leverage": str(a.leverage),
        "active": "true" if a.active else "false",
    }


def hand_decode(i: int, raw: Any) -> PlainAccount:
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


# --- timing -----------------------------------------------------------------------------------


def paired(
    rounds: int,
    baseline: Callable[[], object],
    candidate: Callable[[], object],
    *,
    blocks: int = 1,
    throughput: bool = False,
    warmup: bool = True,
) -> list[float]:
    """Per-round ratios: candidate/baseline time, or baseline/candidate for throughput.

    A round runs ``blocks`` short blocks of each side, interleaved (baseline,
    candidate, candidate, baseline, ...): on a shared machine load comes in
    bursts, and a burst then lands on both sides of the round alike.
    """
    if warmup:
        baseline()
        candidate()
    ratios = []
    clock = time.perf_counter
    for r in range(rounds):
        gc.collect()
        b = c = 0.0
        for j in range(blocks):
            if (r + j) % 2:
                t0 = clock()
                candidate()
                t1 = clock()
                baseline()
                t2 = clock()
                c += t1 - t0
                b += t2 - t1
            else:
                t0 = clock()
                baseline()
                t1 = clock()
                candidate()
                t2 = clock()
                b += t1 - t0
                c += t2 - t1
        ratios.append(b / c if throughput else c / b)
    return ratios


# --- figures ----------------------------------------------------------------------------------


def _meets(value: float, target: str) -> bool | None:
    """Whether ``value`` meets a target written as "<= 1.03", ">= 1", "> 1" or "flat" (<= 1.2)."""
    text = target.strip()
    if text.startswith("flat"):
        return value <= 1.2
    for op in ("<=", ">=", "<", ">"):
        if text.startswith(op):
            bound = float(text[len(op) :].split()[0])
            return {
                "<=": value <= bound,
                ">=": value >= bound,
                "<": value < bound,
                ">": value > bound,
            }[op]
    return None


@dataclass
class Figure:
    """One measured ratio: its rounds, what it compares, and the target it is held to."""

    key: str
    label: str
    samples: list[float]
    target: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def met(self) -> bool | None:
        return _meets(self.median, self.target) if self.target else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "median": round(self.median, 3),
            "min": round(min(self.samples), 3),
            "max": round(max(self.samples), 3),
            "rounds": len(self.samples),
            "label": self.label,
        }
        if self.target:
            out["target"] = self.target
            out["met"] = self.met
        if self.note:
            out["note"] = self.note
        out.update(self.extra)
        return out
