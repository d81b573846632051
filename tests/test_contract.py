"""The mapper's contract, run on the in-memory server and on a real redis-server."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis

from keyspace import (
    BulkReadError,
    CorruptValue,
    InvalidKeyValue,
    Mapper,
    NotFound,
    ScanError,
    ValidationFailed,
    WrongType,
)
from tests.models_for_tests import (
    Color,
    Leg,
    Level,
    TCounter,
    TIds,
    TOverlapping,
    TPosition,
    TQueue,
    TSession,
    TStatus,
    TTempCounter,
    TTempHash,
    TTwoIds,
)

KEY = dict(user_id=1, symbol="BTC-USDT-SWAP", side="long")


def key_count(raw: redis.Redis) -> int:
    """Keys on the server (every primary of a cluster)."""
    return sum(1 for _ in raw.scan_iter(count=1000))


def position(**over: object) -> TPosition:
    values: dict[str, object] = dict(
        KEY,
        size=Decimal("1.50"),
        price=64250.5,
        leverage=10,
        active=False,
        opened=datetime(2025, 10, 1, 12, 30, tzinfo=UTC),
        color=Color.BLUE,
        level=Level.HIGH,
        legs=[Leg(price=Decimal("64000.1"), qty=2)],
        meta={"source": "bot", "n": 3},
        note="first",
    )
    values.update(over)
    return TPosition(**values)  # type: ignore[arg-type]


def test_hash_round_trip_and_storage_format(mapper: Mapper, raw: redis.Redis) -> None:
    p = position()
    mapper.save(p)
    assert raw.type("t:user:1:position:BTC-USDT-SWAP:long") == b"hash"
    stored = raw.hgetall("t:user:1:position:BTC-USDT-SWAP:long")
    assert stored == {
        b"size": b"1.50",
        b"price": b"64250.5",
        b"leverage": b"10",
        b"active": b"false",
        b"opened": b"2025-10-01T12:30:00Z",
        b"color": b"blue",
        b"level": b"2",
        b"legs": b'[{"price":"64000.1","qty":2}]',
        b"meta": b'{"source":"bot","n":3}',
        b"note": b"first",
    }
    assert b"user_id" not in stored  # key fields live in the key only
    assert mapper.get(TPosition, **KEY) == p
    assert raw.ttl("t:user:1:position:BTC-USDT-SWAP:long") == -1


def test_get_missing_is_none_and_get_or_raise_names_the_key(mapper: Mapper) -> None:
    assert mapper.get(TPosition, **KEY) is None
    with pytest.raises(NotFound) as info:
        mapper.get_or_raise(TPosition, **KEY)
    assert info.value.key == "t:user:1:position:BTC-USDT-SWAP:long"
    assert info.value.model == "TPosition"


def test_none_fields_are_removed_on_save(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(position())
    mapper.save(position(note=None, opened=None))
    stored = raw.hgetall("t:user:1:position:BTC-USDT-SWAP:long")
    assert b"note" not in stored and b"opened" not in stored
    assert mapper.get(TPosition, **KEY).note is None


def test_unknown_fields_are_read_and_never_touched(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(position())
    raw.hset("t:user:1:position:BTC-USDT-SWAP:long", mapping={"added_by_v2": "x", "other": "1"})
    p = mapper.get(TPosition, **KEY)
    assert p.unknown_fields == {"added_by_v2": "x", "other": "1"}
    p.size = Decimal("3")
    copy = p.model_copy(update={"user_id": 2})
    assert copy.unknown_fields == p.unknown_fields  # model_copy carries them
    mapper.save(copy)  # a new key: only what is set on the copy (size, assigned before the copy)
    assert raw.hgetall("t:user:2:position:BTC-USDT-SWAP:long") == {b"size": b"3"}
    mapper.save(copy.mark_set())  # every declared field; still never the undeclared ones
    stored = raw.hgetall("t:user:2:position:BTC-USDT-SWAP:long")
    assert b"added_by_v2" not in stored and stored[b"leverage"] == b"10" and stored[b"note"] == b"first"
    raw.hdel("t:user:1:position:BTC-USDT-SWAP:long", "other")  # another writer removes a field meanwhile
    mapper.save(p)
    assert raw.hget("t:user:1:position:BTC-USDT-SWAP:long", "other") is None  # not written back
    assert raw.hget("t:user:1:position:BTC-USDT-SWAP:long", "added_by_v2") == b"x"
    assert raw.hget("t:user:1:position:BTC-USDT-SWAP:long", "size") == b"3"


def test_json_model_keeps_unknown_document_keys(mapper: Mapper, raw: redis.Redis) -> None:
    raw.set("t:user:5:session", '{"token":"abc","scopes":["r"],"future":{"x":1}}')
    s = mapper.get(TSession, user_id=5)
    assert s.unknown_fields == {"future": {"x": 1}}
    s.token = "def"
    mapper.save(s)
    import json

    assert json.loads(raw.get("t:user:5:session")) == {"token": "def", "scopes": ["r"], "future": {"x": 1}}


def test_ttl_model_gets_its_expiry_on_every_write(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(TSession(user_id=1, token="t"))
    assert 86390 < raw.ttl("t:user:1:session") <= 86400
    assert 86390 < mapper.ttl(TSession, user_id=1) <= 86400
    raw.expire("t:user:1:session", 5)
    mapper.update(TSession, user_id=1, token="u")  # update refreshes the TTL (documented)
    assert raw.ttl("t:user:1:session") > 86000
    mapper.save(TTempHash(user_id=1, value="v"))
    assert 50 < raw.ttl("t:user:1:temp") <= 60


def test_persistent_save_removes_a_stale_ttl(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(position())
    raw.expire("t:user:1:position:BTC-USDT-SWAP:long", 100)
    mapper.save(position(size=Decimal("2")))
    assert raw.ttl("t:user:1:position:BTC-USDT-SWAP:long") == -1
    raw.set("t:user:1:status", "running", ex=100)
    mapper.save(TStatus(user_id=1, status="stopped"))
    assert raw.ttl("t:user:1:status") == -1
    assert mapper.ttl(TStatus, user_id=1) is None
    with pytest.raises(NotFound):
        mapper.ttl(TStatus, user_id=2)


def test_update_writes_only_the_given_fields(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(position())
    raw.hset("t:user:1:position:BTC-USDT-SWAP:long", "extra", "keep")
    mapper.update(TPosition, **KEY, size="2.5", note=None)
    got = mapper.get(TPosition, **KEY)
    assert got.size == Decimal("2.5") and got.note is None and got.leverage == 10
    assert raw.hget("t:user:1:position:BTC-USDT-SWAP:long", "extra") == b"keep"


def test_update_of_a_missing_key_creates_nothing(mapper: Mapper, raw: redis.Redis) -> None:
    with pytest.raises(NotFound):
        mapper.update(TPosition, **KEY, size="1")
    assert raw.exists("t:user:1:position:BTC-USDT-SWAP:long") == 0
    with pytest.raises(NotFound):
        mapper.update(TSession, user_id=9, token="x")
    assert raw.exists("t:user:9:session") == 0


def test_update_validates_and_writes_nothing_on_bad_input(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(position())
    before = raw.hgetall("t:user:1:position:BTC-USDT-SWAP:long")
    with pytest.raises(ValidationFailed) as info:
        mapper.update(TPosition, **KEY, leverage="ten")
    assert info.value.field == "leverage"
    with pytest.raises(InvalidKeyValue):
        mapper.update(TPosition, **KEY, not_a_field=1)
    assert raw.hgetall("t:user:1:position:BTC-USDT-SWAP:long") == before


def test_string_counter_set_list(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(TStatus(user_id=1, status="running"))
    assert raw.get("t:user:1:status") == b"running"
    assert mapper.get(TStatus, user_id=1).status == "running"

    assert mapper.incr(TCounter, user_id=1) == 1
    assert mapper.incr(TCounter, by=5, user_id=1) == 6
    assert mapper.decr(TCounter, user_id=1) == 5
    assert mapper.get(TCounter, user_id=1).count == 5
    assert raw.ttl("t:user:1:dca_count") == -1
    assert mapper.incr(TTempCounter, user_id=1) == 1
    assert 0 < raw.ttl("t:user:1:hits") <= 30

    assert mapper.add(TIds, 3, 1, 2, exchange="okx") == 3
    assert mapper.add(TIds, "2", exchange="okx") == 0
    assert mapper.members(TIds, exchange="okx") == {1, 2, 3}
    assert mapper.contains(TIds, 2, exchange="okx")
    assert not mapper.contains(TIds, 9, exchange="okx")
    assert mapper.remove(TIds, 2, exchange="okx") == 1
    assert mapper.get(TIds, exchange="okx").ids == {1, 3}
    assert mapper.members(TIds, exchange="binance") == set()
    mapper.save(TIds(exchange="binance", ids={7}))
    assert raw.smembers("t:binance:user_ids") == {b"7"}

    mapper.save(TQueue(name="q", items=["a", "b"]))
    assert mapper.push(TQueue, "c", name="q") == 3
    assert mapper.length(TQueue, name="q") == 3
    assert mapper.range(TQueue, 1, -1, name="q") == ["b", "c"]
    assert raw.type("t:queue:q") == b"list"


def test_delete_and_exists(mapper: Mapper) -> None:
    mapper.save(position())
    assert mapper.exists(TPosition, **KEY)
    assert mapper.delete(TPosition, **KEY) is True
    assert not mapper.exists(TPosition, **KEY)
    assert mapper.delete(position()) is False


def test_wrong_type_is_refused_and_nothing_is_lost(mapper: Mapper, raw: redis.Redis) -> None:
    raw.set("t:user:1:position:BTC-USDT-SWAP:long", "a string")
    with pytest.raises(WrongType) as info:
        mapper.get(TPosition, **KEY)
    assert (info.value.expected, info.value.actual) == ("hash", "string")
    assert info.value.key == "t:user:1:position:BTC-USDT-SWAP:long"
    with pytest.raises(WrongType) as info:
        mapper.save(position())
    assert info.value.actual == "string"
    with pytest.raises(WrongType):
        mapper.delete(TPosition, **KEY)
    assert raw.get("t:user:1:position:BTC-USDT-SWAP:long") == b"a string"

    raw.hset("t:user:1:session", "a", "b")
    with pytest.raises(WrongType) as info:
        mapper.save(TSession(user_id=1, token="x"))
    assert info.value.actual == "hash"
    assert raw.hgetall("t:user:1:session") == {b"a": b"b"}
    raw.hset("t:user:1:dca_count", "a", "b")
    with pytest.raises(WrongType):
        mapper.incr(TCounter, user_id=1)
    assert raw.hgetall("t:user:1:dca_count") == {b"a": b"b"}
    raw.sadd("t:user:3:status", "x")
    with pytest.raises(WrongType) as info:
        mapper.get(TStatus, user_id=3)
    assert info.value.actual == "set"


def test_corrupt_values_name_model_key_and_field(mapper: Mapper, raw: redis.Redis) -> None:
    k = "t:user:1:position:BTC-USDT-SWAP:long"
    raw.hset(k, mapping={"size": "1", "legs": "[not json"})
    with pytest.raises(CorruptValue) as info:
        mapper.get(TPosition, **KEY)
    assert (info.value.model, info.value.key, info.value.field) == ("TPosition", k, "legs")
    raw.hset(k, mapping={"legs": "[]", "note": b"\xff\xfe"})
    with pytest.raises(CorruptValue) as info:
        mapper.get(TPosition, **KEY)
    assert info.value.field == "note" and "UTF-8" in str(info.value)
    raw.hset(k, mapping={"note": "ok", "leverage": "ten"})
    with pytest.raises(CorruptValue) as info:  # not an int as str(int) writes it
        mapper.get(TPosition, **KEY)
    assert info.value.field == "leverage" and "ten" not in str(info.value)
    raw.hset(k, mapping={"leverage": "10", "color": "green"})
    with pytest.raises(ValidationFailed) as info:  # well-formed text, not a value of the type
        mapper.get(TPosition, **KEY)
    assert info.value.field == "color" and "green" not in str(info.value)
    raw.hset(k, "color", "red")
    raw.set("t:user:1:session", "{broken")
    with pytest.raises(CorruptValue):
        mapper.get(TSession, user_id=1)
    raw.set("t:user:1:session", "[1, 2]")
    with pytest.raises(CorruptValue):
        mapper.get(TSession, user_id=1)
    raw.set("t:user:1:dca_count", "abc")
    with pytest.raises((CorruptValue, ValidationFailed)):
        mapper.get(TCounter, user_id=1)
    with pytest.raises(CorruptValue):
        mapper.incr(TCounter, user_id=1)
    assert raw.get("t:user:1:dca_count") == b"abc"


def test_bad_input_is_refused_and_nothing_is_written(mapper: Mapper, raw: redis.Redis) -> None:
    with pytest.raises(ValidationFailed) as info:
        TPosition(**KEY, size="not a number")  # pydantic's own check, at construction
    with pytest.raises(InvalidKeyValue) as info:
        mapper.save(position(symbol="BTC:USDT"))
    assert info.value.field == "symbol"
    with pytest.raises(InvalidKeyValue):
        mapper.save(position(symbol="BTC*"))
    with pytest.raises(ValidationFailed):
        mapper.get(TPosition, user_id="abc", symbol="BTC", side="long")
    with pytest.raises(ValidationFailed):
        mapper.get(TPosition, user_id=1, symbol="BTC", side="sideways")
    with pytest.raises(InvalidKeyValue):
        mapper.get(TPosition, user_id=1, symbol="BTC")
    good = position(user_id=2)
    bad = position(user_id=3, symbol="a b")
    with pytest.raises(InvalidKeyValue):
        mapper.save_many([good, bad])
    assert key_count(raw) == 0


def test_get_many_and_save_many(mapper: Mapper, raw: redis.Redis) -> None:
    items = [position(user_id=i, size=Decimal(i)) for i in range(1, 1201)]
    mapper.save_many(items)
    assert key_count(raw) == 1200
    keys = [dict(KEY, user_id=i) for i in range(0, 1202)]
    got = mapper.get_many(TPosition, keys)
    assert got[0] is None and got[-1] is None
    assert got[1:-1] == items


def test_get_many_reports_bad_items_without_hiding_good_ones(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save_many([position(user_id=i) for i in range(1, 4)])
    raw.hset("t:user:2:position:BTC-USDT-SWAP:long", "legs", "{bad")
    with pytest.raises(BulkReadError) as info:
        mapper.get_many(TPosition, [dict(KEY, user_id=i) for i in range(1, 4)])
    err = info.value
    assert err.results[0].user_id == 1 and err.results[1] is None and err.results[2].user_id == 3
    assert [e.key for e in err.errors] == ["t:user:2:position:BTC-USDT-SWAP:long"]
    seen: list[Exception] = []
    got = mapper.get_many(TPosition, [dict(KEY, user_id=i) for i in range(1, 4)], on_error=seen.append)
    assert got[1] is None and len(seen) == 1


def test_scan_filters_and_never_mixes_models(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save_many([position(user_id=i, side=s) for i in range(1, 6) for s in ("long", "short")])
    mapper.incr(TCounter, user_id=1)
    raw.set("t:user:1:position:BTC-USDT-SWAP:long:dca_count", "1")  # same prefix, other model
    raw.hset("t:user:1:position:BTC-USDT-SWAP:sideways", "size", "1")  # not a valid side
    assert mapper.count(TPosition) == 10
    assert mapper.count(TPosition, user_id=2) == 2
    assert {p.side for p in mapper.scan(TPosition, user_id=3)} == {"long", "short"}
    assert sorted(mapper.scan_keys(TPosition, side="short", count=2)) == sorted(
        f"t:user:{i}:position:BTC-USDT-SWAP:short" for i in range(1, 6)
    )
    assert [p.user_id for p in mapper.scan(TPosition, side="long", leverage=10, note="first")] != []
    assert list(mapper.scan(TPosition, note="nothing")) == []
    mapper.save(TStatus(user_id=1, status="running"))
    mapper.save(TStatus(user_id=2, status="stopped"))
    assert [s.user_id for s in mapper.scan(TStatus, status="running")] == [1]


def test_scan_reports_corrupt_items_after_yielding_the_good_ones(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save_many([position(user_id=i) for i in range(1, 5)])
    raw.hset("t:user:3:position:BTC-USDT-SWAP:long", "legs", "{bad")
    good: list[int] = []
    with pytest.raises(ScanError) as info:
        for p in mapper.scan(TPosition):
            good.append(p.user_id)
    assert sorted(good) == [1, 2, 4]
    assert [e.key for e in info.value.errors] == ["t:user:3:position:BTC-USDT-SWAP:long"]
    errors: list[Exception] = []
    assert len(list(mapper.scan(TPosition, on_error=errors.append))) == 3 and len(errors) == 1


def test_read_only_and_registry(mapper: Mapper) -> None:
    from keyspace import default_registry

    found = default_registry.resolve("t:user:1:position:BTC-USDT-SWAP:long")
    assert found is not None and found[0].name == "TPosition"
    assert found[1] == {"user_id": "1", "symbol": "BTC-USDT-SWAP", "side": "long"}
    assert default_registry.resolve("t:user:1:position:BTC-USDT-SWAP:sideways") is None
    assert default_registry.resolve("t:user:01:status") is None  # "01" is not how 1 renders


def test_a_scan_over_two_templates_of_one_shape_sees_each_key_once(mapper: Mapper) -> None:
    """Before: each template scanned the shared pattern, so every key came back twice (a migration over
    TradingStatus processed and tallied each legacy status twice)."""
    long_id, short_id = "500000000000000001", "123456"
    mapper.save(TTwoIds(long_id=long_id, flag="a"))
    mapper.save(TTwoIds(short_id=short_id, flag="b"))
    found = sorted((x.long_id or x.short_id, x.flag) for x in mapper.scan(TTwoIds))
    assert found == [(short_id, "b"), (long_id, "a")] or found == [(long_id, "a"), (short_id, "b")]
    assert len(found) == 2
    # without de-duplication too: the pattern is scanned once (de-duplication hid the second pass,
    # which still read every key twice)
    assert len(list(mapper.scan(TTwoIds, dedupe=False))) == 2
    assert len(list(mapper.scan_keys(TTwoIds, dedupe=False))) == 2
    assert sorted(mapper.scan_keys(TTwoIds)) == sorted([f"t:who:{long_id}:flag", f"t:who:{short_id}:flag"])
    assert [x.flag for x in mapper.scan(TTwoIds, short_id=short_id)] == ["b"]
    assert mapper.count(TTwoIds) == 2


def test_a_scan_over_overlapping_template_patterns_loses_no_key(mapper: Mapper, raw: redis.Redis) -> None:
    """Before: a key met first by the part that does not own it was recorded as seen there and then
    skipped by the part that owns it: scan_keys and count dropped it (hostile review). The keys are
    written raw: a save with both key fields writes the record under both templates (alternates)."""
    raw.set("t:ov:1:status", "a")
    raw.set("t:ov:2:status", "b")
    raw.set("t:ov:2:okx:status", "c")
    expected = ["t:ov:1:status", "t:ov:2:okx:status", "t:ov:2:status"]
    assert sorted(mapper.scan_keys(TOverlapping)) == expected
    assert sorted(mapper.scan_keys(TOverlapping, dedupe=False)) == expected
    assert sorted(x.status for x in mapper.scan(TOverlapping)) == ["a", "b", "c"]
    assert mapper.count(TOverlapping) == 3
    assert [x.status for x in mapper.scan(TOverlapping, exchange="okx")] == ["c"]
