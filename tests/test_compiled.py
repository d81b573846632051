"""Compiled hash readers (keyspace.core.compiled) give exactly what the generic path gives.

The generic path (``codec._decode_hash``: decode, then pydantic validates the whole record with
keyspace's form validators inside) is the reference.  For every hash model of the TradingBoost
schema and of the contract tests, on every live-format fixture and on each of its fields replaced
by awkward texts, ``decode_hash`` (reader first, generic path when the reader steps aside) must
return an instance equal in every visible way — field values and their types and reprs, field
order, fields-set, extras, unknown fields, dumps — or raise the very same error.  The fast path
must also really be taken on well-formed records (else these tests would prove nothing).
"""

from __future__ import annotations

import pickle
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

import models
from keyspace import BoolText, Encrypted, EpochSeconds, HashModel, NoneText
from keyspace.core import codec, compiled
from keyspace.core.codec import CodecContext
from keyspace.core.model import KeyspaceModel, ModelSpec, get_unknown
from tests import models_for_tests
from tests.live_fixtures import FIXTURES

CTX = CodecContext()


class Plain(HashModel, key="tc:plain:{id}", register=False):
    id: int
    name: str
    balance: Decimal
    leverage: int
    active: bool
    ratio: float = 1.5


class Forms(HashModel, key="tc:forms:{user_id}:{side}", register=False):
    user_id: Annotated[str, Field(pattern=r"^[1-9][0-9]{2,5}$")]
    side: Literal["long", "short"]
    running: Annotated[bool, BoolText("1", "0")] = False
    maybe: Annotated[bool | None, NoneText("0")] = None  # "0" is None here, not False: the form decides
    price: Annotated[Decimal | None, NoneText("None", "")] = None
    count: Annotated[int | None, NoneText("None")] = None
    note: Annotated[str | None, NoneText("None")] = None
    seen: Annotated[datetime, EpochSeconds()] | None = None
    seen_f: Annotated[datetime, EpochSeconds(float=True)] | None = None
    iso: datetime | None = None
    small: Annotated[int, Field(ge=0, le=9)] = 0
    tags: list[str] = []
    state: Literal["a", "b"] | None = None


class Open(HashModel, key="tc:open:{id}", register=False):
    model_config = ConfigDict(extra="allow")
    id: int
    flag: bool = False


class Checked(HashModel, key="tc:checked:{id}", register=False):
    id: int
    name: str

    @field_validator("name")
    @classmethod
    def shout(cls, value: str) -> str:
        return value.upper()


class BeforeModel(HashModel, key="tc:before:{id}", register=False):
    id: int
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def see_input(cls, data: Any) -> Any:
        return data


class WithPrivate(HashModel, key="tc:private:{id}", register=False):
    id: int
    _cache: int = PrivateAttr(default=0)


class Secretive(HashModel, key="tc:secret:{id}", register=False):
    id: int
    api_key: Encrypted[str]


def hash_models() -> list[type[KeyspaceModel]]:
    found: list[type[KeyspaceModel]] = [Plain, Forms, Open, Checked]
    for source in (models.ALL_MODELS, vars(models_for_tests).values()):
        for m in source:
            if (
                isinstance(m, type)
                and issubclass(m, HashModel)
                and hasattr(m, "__keyspace__")
                and m not in found
            ):
                found.append(m)
    return found


def reader(spec: ModelSpec) -> compiled.Reader:
    return compiled.hash_reader(spec, codec._json_field)


def seen(obj: Any) -> Any:
    """Everything visible about a read: an instance in detail, or the error it raised."""
    if isinstance(obj, BaseException):
        return ("error", type(obj).__name__, str(obj), getattr(obj, "field", None))
    if obj is None:
        return None
    return (
        type(obj),
        [(k, type(v), repr(v)) for k, v in obj.__dict__.items()],
        obj.__pydantic_fields_set__,
        None
        if obj.__pydantic_extra__ is None
        else [(k, type(v), v) for k, v in obj.__pydantic_extra__.items()],
        get_unknown(obj),
        repr(obj),
        obj.model_dump_json(),
        pickle.loads(pickle.dumps(obj)) == obj,
    )


def both(spec: ModelSpec, key: str, keys: dict[str, str], reply: Any) -> tuple[Any, Any]:
    def run(fn: Any) -> Any:
        try:
            return fn(spec, key, keys, reply, CTX)
        except Exception as exc:
            return exc

    return seen(run(codec.decode_hash)), seen(run(codec._decode_hash))


def stored(record: dict[str, str]) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in record.items()}


# --- which models qualify ----------------------------------------------------------------------


def test_plain_and_formed_models_get_a_reader_the_others_keep_the_generic_path() -> None:
    for model in (Plain, Forms, Open, Checked, models.Position, models_for_tests.TPosition):
        assert reader(model.__keyspace__) is not compiled.never, model.__name__
    for model in (BeforeModel, WithPrivate, Secretive):
        assert reader(model.__keyspace__) is compiled.never, model.__name__


# --- the live keyspace ---------------------------------------------------------------------


HASH_FIXTURES = [fx for fx in FIXTURES if isinstance(fx.value, dict)]


@pytest.mark.parametrize("fx", HASH_FIXTURES, ids=[fx.name for fx in HASH_FIXTURES])
def test_every_live_hash_record_reads_the_same_and_fast(fx: Any) -> None:
    spec = getattr(models, fx.model).__keyspace__
    keys = spec.match(fx.key)
    assert keys is not None
    fast, generic = both(spec, fx.key, keys, stored(fx.value))
    assert fast == generic
    if reader(spec) is not compiled.never and generic[0] != "error":
        assert reader(spec)(keys, stored(fx.value)) is not compiled.MISS  # the fast path was taken


# --- awkward texts in every field ----------------------------------------------------------

AWKWARD = [
    "",
    " ",
    " 1",
    "1 ",
    "1",
    "0",
    "-0",
    "007",
    "-1",
    "10",
    "10.0",
    "1.50",
    "1e5",
    "1E+3",
    "1e-05",
    "1e400",
    "-1e400",
    ".5",
    "5.",
    "+1",
    "1_000",
    "0x10",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "None",
    "none",
    "null",
    "true",
    "false",
    "True",
    "False",
    "yes",
    "no",
    "on",
    "t",
    "long",
    "a",
    "b",
    "[]",
    "{}",
    '["x"]',
    '{"a": 1}',
    "[1, 2]",
    "NaN]",
    "1735689600",
    "1735689600.5",
    "-62135596801",
    "99999999999999999999",
    "2025-01-01T00:00:00Z",
    "2025-01-01 09:00:00",
    "2025-01-01T00:00:00",
    "9" * 5000,
    "é",
    "\u200b",
    "x" * 300,
]
INVALID_UTF8 = b"\xff\xfe"


def base_record(model: type[KeyspaceModel]) -> tuple[str, dict[str, str], dict[str, str]]:
    """(key, key texts, a stored record): a live fixture when there is one, else a made-up one."""
    spec = model.__keyspace__
    for fx in HASH_FIXTURES:
        if getattr(models, fx.model, None) is model:
            keys = spec.match(fx.key)
            assert keys is not None
            return fx.key, keys, dict(fx.value)
    t = models_for_tests
    made: dict[Any, tuple[dict[str, str], dict[str, str]]] = {
        Plain: ({"id": "7"}, {"name": "n", "balance": "1.5", "leverage": "3", "active": "true"}),
        Forms: ({"user_id": "123", "side": "long"}, {"running": "1", "price": "None", "seen": "1735689600"}),
        Open: ({"id": "1"}, {"flag": "true", "free": "text"}),
        Checked: ({"id": "1"}, {"name": "quiet"}),
        t.TPosition: (
            {"user_id": "1", "symbol": "BTC", "side": "long"},
            {
                "size": "1.5",
                "price": "2.0",
                "active": "false",
                "opened": "2025-01-01T00:00:00Z",
                "color": "blue",
                "level": "2",
                "legs": '[{"price": "1.5", "qty": 2}]',
                "meta": '{"a": [1, 2]}',
                "note": "n",
            },
        ),
        t.TFourFields: ({"id": "1"}, {"name": "n", "balance": "10"}),
        t.TTempHash: ({"user_id": "1"}, {"value": "v"}),
        t.TGridUser: (
            {"exchange": "okx", "user_id": "5"},
            {
                "running": "1",
                "stop_loss": "None",
                "updated": "1735689600",
                "stamp": "1735689600.25",
                "flag": "false",
                "count": "3",
                "ratio": "0.5",
            },
        ),
        t.TSharedPosition: (
            {"user_id": "1", "symbol": "ETH", "side": "short"},
            {"size": "1", "sl_price": "None"},
        ),
        t.TPrefs: ({"user_id": "1"}, {"theme": "dark", "lang": "ko"}),
    }
    if model in made:
        keys, record = made[model]
        return spec.render(keys), keys, record
    pytest.skip(f"no base record for {model.__name__}")


def mutations(record: dict[str, str], spec: ModelSpec) -> list[dict[bytes, bytes]]:
    out = [stored(record), {}, stored({**record, "undeclared": "x"}), stored({**record, "id": "9"})]
    for name in spec.value_fields:
        for text in AWKWARD:
            out.append(stored({**record, name: text}))
        out.append({**stored(record), name.encode(): INVALID_UTF8})
        out.append(stored({k: v for k, v in record.items() if k != name}))
    return out


@pytest.mark.parametrize("model", hash_models(), ids=lambda m: m.__name__)
def test_every_field_with_awkward_texts_reads_the_same(model: type[KeyspaceModel]) -> None:
    spec = model.__keyspace__
    if reader(spec) is compiled.never:
        pytest.skip("keeps the generic path")
    key, keys, record = base_record(model)
    for reply in mutations(record, spec):
        fast, generic = both(spec, key, keys, reply)
        assert fast == generic, reply
        flat = [x for pair in reply.items() for x in pair]  # RESP2 replies are flat lists
        assert both(spec, key, keys, flat) == (generic, generic), reply


def test_forms_are_still_strict_and_name_model_key_and_field() -> None:
    spec = Plain.__keyspace__
    key, keys, record = base_record(Plain)
    fast, generic = both(spec, key, keys, stored({**record, "leverage": " 1"}))
    assert fast == generic and generic[:2] == ("error", "CorruptValue") and generic[3] == "leverage"


def test_field_validators_run_once_on_the_fast_path() -> None:
    spec = Checked.__keyspace__
    obj = reader(spec)({"id": "1"}, {b"name": b"quiet"})
    assert obj is not compiled.MISS and obj.name == "QUIET"


def test_replies_of_text_not_bytes_read_the_same() -> None:
    spec = Plain.__keyspace__
    key, keys, record = base_record(Plain)
    fast, generic = both(spec, key, keys, dict(record))  # decode_responses=True clients
    assert fast == generic and generic[0] is Plain
