"""Each key family's text forms (BoolText, NoneText, EpochSeconds, strict numbers, json_style).

The forms are those the live application writes (TradingBoost-Strategy @ e61934e, see /tmp/research):
GRID's '1'/'0' booleans (GRID/database/redis_database.py, research/grid.md §1.2), "None" and "10.0"
written by str() in the position fetcher (HYPERRSI/src/trading/modules/okx_position_fetcher.py:321-339),
epoch seconds as str(int(time.time())) (same file, last_update_time), and settings written with
json.dumps defaults (HYPERRSI/src/services/redis_service.py:216-233).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

import pytest
import redis

from keyspace import (
    BoolText,
    CorruptValue,
    EpochSeconds,
    HashModel,
    JsonModel,
    Mapper,
    ModelDeclarationError,
    NoneText,
    ValidationFailed,
)
from tests.models_for_tests import TGridUser, TNoneStatus, TPosition, TSession, TSettings, TStamped

GRID = "t:okx:user:7"
KEY = dict(user_id=1, symbol="BTC-USDT-SWAP", side="long")
POS = "t:user:1:position:BTC-USDT-SWAP:long"


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,text",
    [
        ("leverage", " 1 "),
        ("leverage", "1_000"),
        ("leverage", "+1"),
        ("leverage", "0x10"),
        ("leverage", "1e3"),
        ("leverage", "10.0"),  # an int family writes str(int)
        ("leverage", "007"),
        ("leverage", "٣"),  # a non-ASCII digit: int() takes it
        ("size", " 1.5"),
        ("size", "1_000.5"),
        ("size", "+1.5"),
        ("size", ".5"),
        ("size", "NaN"),
        ("size", "Infinity"),
        ("price", "inf"),
        ("price", "1.5 "),
        ("price", "0x1p3"),
    ],
)
def test_numbers_in_other_spellings_are_corrupt(
    mapper: Mapper, raw: redis.Redis, field: str, text: str
) -> None:
    raw.hset(POS, mapping={"size": "1", field: text})
    with pytest.raises(CorruptValue) as info:
        mapper.get(TPosition, **KEY)
    assert (info.value.model, info.value.key, info.value.field) == ("TPosition", POS, field)
    assert repr(text) not in str(info.value)  # the message never quotes a stored value


@pytest.mark.parametrize(
    "values",
    [
        {"size": "10.0", "price": "10.0", "leverage": "10"},  # str(float), str(int)
        {"size": "1e-05", "price": "1e-05"},  # str(float) of small numbers
        {"size": "1.5e+20", "price": "1.5e+20"},
        {"size": "1E+3", "price": "-0.0", "leverage": "-3"},  # str(Decimal), negative zero
        {"size": "0.00012", "price": "64250.5", "leverage": "0"},
    ],
)
def test_numbers_as_python_writes_them_are_read(
    mapper: Mapper, raw: redis.Redis, values: dict[str, str]
) -> None:
    raw.hset(POS, mapping=values)
    got = mapper.get(TPosition, **KEY)
    assert got.size == Decimal(values["size"])
    assert got.price == float(values["price"])
    if "leverage" in values:
        assert got.leverage == int(values["leverage"])


def test_constructing_or_assigning_such_text_is_refused() -> None:
    for bad in (" 1 ", "1_000", "+1", "0x10"):
        with pytest.raises(ValidationFailed) as info:
            TPosition(**KEY, size=bad)
        assert info.value.field == "size" and bad.strip() not in str(info.value)
    with pytest.raises(ValidationFailed):
        TPosition(**KEY, size="1", leverage="1e3")
    p = TPosition(**KEY, size="1.5", leverage="10", price="2.5")
    assert (p.size, p.leverage, p.price) == (Decimal("1.5"), 10, 2.5)
    with pytest.raises(ValidationFailed):
        p.size = " 2"
    assert TPosition(**KEY, size=Decimal("2"), leverage=10, price=3).price == 3.0  # numbers stay pydantic's


# --- bools -----------------------------------------------------------------------------------


def test_default_bools_are_true_false_and_read_strictly(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(TPosition(**KEY, size=1, active=True))
    assert raw.hget(POS, "active") == b"true"
    for text, meaning in (("true", True), ("False", False), ("1", True), ("0", False)):
        raw.hset(POS, "active", text)
        assert mapper.get(TPosition, **KEY).active is meaning
    for text in ("yes", "on", "t", "TRUE", " true", ""):
        raw.hset(POS, "active", text)
        with pytest.raises(CorruptValue) as info:
            mapper.get(TPosition, **KEY)
        assert info.value.field == "active"
    with pytest.raises(ValidationFailed):
        TPosition(**KEY, size=1, active="yes")


def test_bool_text_writes_the_familys_form_and_reads_every_known_one(
    mapper: Mapper, raw: redis.Redis
) -> None:
    mapper.save(TGridUser(exchange="okx", user_id=7, running=True, flag=True))
    assert raw.hgetall(GRID) == {b"running": b"1", b"flag": b"true"}
    for text, meaning in (("0", False), ("true", True), ("False", False), ("1", True)):
        raw.hset(GRID, "running", text)
        assert mapper.get(TGridUser, exchange="okx", user_id=7).running is meaning
    raw.hset(GRID, "running", "yes")
    with pytest.raises(CorruptValue) as info:
        mapper.get(TGridUser, exchange="okx", user_id=7)
    assert (info.value.key, info.value.field) == (GRID, "running")


def test_bool_text_accept_replaces_the_extra_spellings() -> None:
    class Flags(HashModel, key="t:flags:{id}", register=False):
        id: int
        on: Annotated[bool, BoolText("Y", "N", accept={"yes": True, "no": False})] = False

    assert Flags(id=1, on="yes").on is True and Flags(id=1, on="N").on is False
    with pytest.raises(ValidationFailed):
        Flags(id=1, on="true")  # not in this family's accept set
    with pytest.raises(ValueError):
        BoolText("1", "1")
    with pytest.raises(ValueError):
        BoolText("1", "0", accept={"1": False})


# --- None ------------------------------------------------------------------------------------


def test_none_text_reads_as_none_and_is_written_for_none(mapper: Mapper, raw: redis.Redis) -> None:
    raw.hset(GRID, mapping={"stop_loss": "None", "count": "3"})
    got = mapper.get(TGridUser, exchange="okx", user_id=7)
    assert got.stop_loss is None and got.count == 3
    raw.hdel(GRID, "stop_loss")
    assert mapper.get(TGridUser, exchange="okx", user_id=7).stop_loss is None  # missing: None too
    mapper.save(TGridUser(exchange="okx", user_id=7, stop_loss=Decimal("9.5")))
    assert raw.hget(GRID, "stop_loss") == b"9.5"
    mapper.update(TGridUser, exchange="okx", user_id=7, stop_loss=None)
    assert raw.hget(GRID, "stop_loss") == b"None"  # written, not deleted
    mapper.save(TNoneStatus(user_id=1, status=None))
    assert raw.get("t:user:1:nstatus") == b""
    assert mapper.get(TNoneStatus, user_id=1).status is None


def test_without_none_text_none_deletes_the_field(mapper: Mapper, raw: redis.Redis) -> None:
    raw.hset(POS, mapping={"size": "1", "note": "x"})
    mapper.update(TPosition, **KEY, note=None)
    assert raw.hgetall(POS) == {b"size": b"1"}


def test_forms_that_cannot_work_are_refused_at_declaration() -> None:
    with pytest.raises(ModelDeclarationError) as info:

        class NotNullable(HashModel, key="t:nn:{id}", register=False):
            id: int
            price: Annotated[Decimal, NoneText("None")]

    assert info.value.field == "price"
    with pytest.raises(ModelDeclarationError):

        class WrongType(HashModel, key="t:wt:{id}", register=False):
            id: int
            count: Annotated[int, BoolText("1", "0")]

    with pytest.raises(ModelDeclarationError):

        class WrongStamp(HashModel, key="t:ws:{id}", register=False):
            id: int
            at: Annotated[int, EpochSeconds()]


# --- timestamps ------------------------------------------------------------------------------


def test_epoch_seconds_round_trip_as_the_family_writes_them(mapper: Mapper, raw: redis.Redis) -> None:
    at = datetime(2025, 10, 1, 12, 30, 5, tzinfo=UTC)
    mapper.save(TGridUser(exchange="okx", user_id=7, updated=at, stamp=at.replace(microsecond=250000)))
    stored = raw.hgetall(GRID)
    assert stored[b"updated"] == str(int(at.timestamp())).encode()  # str(int(time.time()))
    assert stored[b"stamp"] == str(at.timestamp() + 0.25).encode()  # str(time.time())
    got = mapper.get(TGridUser, exchange="okx", user_id=7)
    assert got.updated == at and got.updated.tzinfo is not None
    assert got.stamp == at.replace(microsecond=250000)
    raw.hset(GRID, "updated", "1759321805.5")  # a float where ints are written: still epoch seconds
    assert mapper.get(TGridUser, exchange="okx", user_id=7).updated == at.replace(microsecond=500000)
    raw.hset(GRID, "updated", "2025-10-01T12:30:05Z")  # ISO in an epoch family: the writers disagree
    with pytest.raises(CorruptValue) as info:
        mapper.get(TGridUser, exchange="okx", user_id=7)
    assert info.value.field == "updated"
    raw.hset(GRID, mapping={"updated": "1759321805", "opened": "1759321805"})  # epoch in an ISO field
    with pytest.raises(CorruptValue) as info:
        mapper.get(TGridUser, exchange="okx", user_id=7)
    assert info.value.field == "opened"


def test_epoch_seconds_refuse_naive_datetimes_and_guess_no_milliseconds() -> None:
    with pytest.raises(ValidationFailed):
        TGridUser(exchange="okx", user_id=1, updated=datetime(2025, 1, 1))  # naive: the point
    # pydantic reads numbers above 2e10 as milliseconds; epoch seconds never guess
    far = TGridUser(exchange="okx", user_id=1, updated=32503680000)  # year 3000, in seconds
    assert far.updated is not None and far.updated.year == 3000


def test_epoch_seconds_are_json_numbers_in_a_document(mapper: Mapper, raw: redis.Redis) -> None:
    at = datetime(2025, 10, 1, 12, 30, 5, tzinfo=UTC)
    mapper.save(TStamped(user_id=1, at=at, at_float=at, price=Decimal("1.5"), active=True))
    doc = json.loads(raw.get("t:user:1:stamped"))
    assert doc == {"at": 1759321805, "at_float": 1759321805.0, "price": "1.5", "active": True}
    assert mapper.get(TStamped, user_id=1).at == at


# --- JSON styles -----------------------------------------------------------------------------


def test_json_style_python_writes_what_json_dumps_writes(mapper: Mapper, raw: redis.Redis) -> None:
    doc = {
        "leverage": 10,
        "direction": "롱숏",
        "symbol_investments": {"BTC-USDT-SWAP": 20.5},
        "use_sl": False,
    }
    mapper.save(TSettings(user_id=1, **doc))
    assert raw.get("t:user:1:settings") == json.dumps(doc).encode()  # ensure_ascii, ", " and ": "
    mapper.save(TSession(user_id=1, token="토큰", scopes=["a", "b"]))
    assert raw.get("t:user:1:session") == '{"token":"토큰","scopes":["a","b"]}'.encode()  # compact


def test_json_valued_hash_fields_follow_the_models_style() -> None:
    class Styled(HashModel, key="t:styled:{id}", json_style="python", register=False):
        id: int
        tp_prices: list[float] = []

    from keyspace.core import codec

    pairs, _ = codec.encode_hash(Styled(id=1, tp_prices=[1.5, 2.0]), "t:styled:1", codec.CodecContext())
    assert pairs == ["tp_prices", "[1.5, 2.0]"]  # json.dumps([1.5, 2.0])


def test_declaration_keywords_are_checked() -> None:
    with pytest.raises(ModelDeclarationError):

        class BadStyle(JsonModel, key="t:bs:{id}", json_style="pretty", register=False):
            id: int

    with pytest.raises(ModelDeclarationError):

        class BadTtl(JsonModel, key="t:bt:{id}", ttl="forever", register=False):
            id: int

    with pytest.raises(ModelDeclarationError) as info:

        class BadChannel(JsonModel, key="t:bc:{id}", channel="up:{other}", register=False):
            id: int
            other: str = ""

    assert info.value.field == "other"
    with pytest.raises(ModelDeclarationError):

        class BadPayload(
            JsonModel, key="t:bp:{id}", channel="up:{id}", channel_payload="doc", register=False
        ):
            id: int

    spec = TGridUser.__keyspace__
    assert (spec.ttl, spec.ttl_policy) == ("keep", "keep")
    assert TPosition.__keyspace__.ttl_policy == "persist" and TSession.__keyspace__.ttl_policy == "fixed"


def test_a_subclass_keeps_one_validator_per_field() -> None:
    class Base(HashModel, key="t:base:{id}", register=False):
        id: int
        n: int = 0

    class Child(Base, key="t:child:{id}", register=False):
        pass

    from keyspace.core.model import _FormValidator

    assert sum(isinstance(m, _FormValidator) for m in Child.model_fields["n"].metadata) == 1
    with pytest.raises(ValidationFailed):
        Child(id=1, n=" 1")
    assert Base(id=1, n="2").n == 2


def test_literal_and_enum_fields_are_left_to_pydantic() -> None:
    class Lit(HashModel, key="t:lit:{id}", register=False):
        id: int
        side: Literal["long", "short"] = "long"

    assert Lit(id=1, side="short").side == "short"
