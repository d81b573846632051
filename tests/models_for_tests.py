"""Models used by the contract tests (prefix ``t:`` keeps them apart from the real schema)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from keyspace import (
    CounterModel,
    Encrypted,
    HashModel,
    JsonModel,
    ListModel,
    SetModel,
    StringModel,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Leg(BaseModel):
    price: Decimal
    qty: int


class TPosition(HashModel, key="t:user:{user_id}:position:{symbol}:{side}"):
    user_id: int
    symbol: str
    side: Literal["long", "short"]
    size: Decimal
    price: float = 0.0
    leverage: int = 1
    active: bool = True
    opened: datetime | None = None
    color: Color = Color.RED
    level: Level = Level.LOW
    legs: list[Leg] = []
    meta: dict[str, Any] = {}
    note: str | None = None


class TFourFields(HashModel, key="t:bench:{id}"):
    id: int
    name: str
    balance: Decimal
    leverage: int
    active: bool


class TSession(JsonModel, key="t:user:{user_id}:session", ttl=timedelta(days=1)):
    user_id: int
    token: str
    scopes: list[str] = []


class TTempHash(HashModel, key="t:user:{user_id}:temp", ttl=60):
    user_id: int
    value: str


class TStatus(StringModel, key="t:user:{user_id}:status"):
    user_id: int
    status: Literal["running", "stopped", "error"]


class TCounter(CounterModel, key="t:user:{user_id}:dca_count"):
    user_id: int
    count: int = 0


class TTempCounter(CounterModel, key="t:user:{user_id}:hits", ttl=30):
    user_id: int
    count: int = 0


class TIds(SetModel, key="t:{exchange}:user_ids"):
    exchange: Literal["okx", "binance"]
    ids: set[int] = set()


class TQueue(ListModel, key="t:queue:{name}"):
    name: str
    items: list[str] = []


class TSecrets(HashModel, key="t:user:{uid}:api:keys"):
    uid: int
    api_key: Encrypted[str]
    api_secret: Encrypted[str]
    passphrase: Encrypted[str] | None = None
    label: str = ""


class TSecretDoc(JsonModel, key="t:user:{uid}:secret_doc"):
    uid: int
    pin: Encrypted[int]
    name: str


class TSecretString(StringModel, key="t:user:{uid}:otp"):
    uid: int
    otp: Encrypted[str]
