"""Models used by the contract tests (prefix ``t:`` keeps them apart from the real schema)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keyspace import (
    BoolText,
    CounterModel,
    Encrypted,
    EpochSeconds,
    HashModel,
    JsonModel,
    ListModel,
    NoneText,
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


class TTwoIds(StringModel, key=("t:who:{long_id}:flag", "t:who:{short_id}:flag")):
    """Two templates of one shape, told apart by their ids' types (as TradingStatus's OKX uid and
    Telegram id keys are): one SCAN pattern for both."""

    long_id: Annotated[str, Field(pattern=r"^[0-9]{18,19}$")] | None = None
    short_id: Annotated[str, Field(pattern=r"^[0-9]{5,12}$")] | None = None
    flag: str


class TOverlapping(StringModel, key=("t:ov:{uid}:status", "t:ov:{uid}:{exchange}:status")):
    """Two templates whose SCAN patterns differ but overlap: ``t:ov:*:status`` also matches the
    second template's keys (a glob's ``*`` spans ``:``)."""

    uid: int
    exchange: str | None = None
    status: str


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


# --- family encodings, TTL policies, channels (tests/test_encodings.py, tests/test_fields_set.py) ---


class TGridUser(HashModel, key="t:{exchange}:user:{user_id}", ttl="keep"):
    """A GRID-style hash: '1'/'0' booleans, "None" for missing numbers, epoch times (research/grid.md §1)."""

    exchange: Literal["okx", "binance"]
    user_id: int
    running: Annotated[bool, BoolText("1", "0")] = False
    stop_loss: Annotated[Decimal | None, NoneText("None")] = None
    updated: Annotated[datetime, EpochSeconds()] | None = None
    stamp: Annotated[datetime | None, EpochSeconds(float=True)] = None
    flag: bool = False
    count: int = 0
    ratio: float = 0.0
    opened: datetime | None = None


class TSharedPosition(HashModel, key="t:shared:{user_id}:position:{symbol}:{side}", ttl="keep"):
    """A position hash several writers share; one of them sets EXPIRE 86400 (research/positions.md W2)."""

    user_id: int
    symbol: str
    side: Literal["long", "short"]
    size: Decimal | None = None
    entry_price: Decimal | None = None
    leverage: int | None = None
    sl_price: Annotated[Decimal | None, NoneText("None")] = None  # str(None) written by the fetcher


class TSettings(
    JsonModel,
    key="t:user:{user_id}:settings",
    json_style="python",
    channel="t:settings:update:{user_id}",
    channel_payload="key",
):
    """A free-form settings document written by json.dumps, with its invalidation channel."""

    model_config = ConfigDict(extra="allow")
    user_id: int


class TPrefs(HashModel, key="t:user:{user_id}:prefs", channel="t:prefs:update:{user_id}"):
    """A free-form hash (string preferences) with a channel."""

    model_config = ConfigDict(extra="allow")
    user_id: int


class TStamped(JsonModel, key="t:user:{user_id}:stamped", ttl="keep"):
    user_id: int
    at: Annotated[datetime, EpochSeconds()]
    at_float: Annotated[datetime, EpochSeconds(float=True)] | None = None
    price: Decimal | None = None
    active: Annotated[bool, BoolText("1", "0")] = False


class TKeepStatus(StringModel, key="t:user:{user_id}:kstatus", ttl="keep"):
    user_id: int
    status: str


class TKeepCounter(CounterModel, key="t:user:{user_id}:kcount", ttl="keep"):
    user_id: int
    count: int = 0


class TKeepIds(SetModel, key="t:{exchange}:kids", ttl="keep"):
    exchange: Literal["okx", "binance"]
    ids: set[int] = set()


class TKeepQueue(ListModel, key="t:kqueue:{name}", ttl="keep"):
    name: str
    items: list[str] = []


class TNoneStatus(StringModel, key="t:user:{user_id}:nstatus"):
    user_id: int
    status: Annotated[str | None, NoneText("")] = None
