"""Saves fit shared keys: fields-set writes, the "keep" TTL policy, round-trip identity, guarded
secrets, atomic JSON updates with an invalidation channel, and bad input that used to get through.

Each test reproduces a finding of issues 12 and 14 against the live application's behaviour
(TradingBoost-Strategy @ e61934e): several writers share a position hash and one gives it
``EXPIRE 86400`` (HYPERRSI/src/services/websocket_service.py:481-482, research/positions.md W2);
settings are written with json.dumps and ``PUBLISH settings:update:{user_id} <key>``
(HYPERRSI/src/services/redis_service.py:216-233, research/status_ids_settings.md §5.1).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis

from keyspace import (
    CorruptValue,
    InvalidKeyValue,
    Keyring,
    Mapper,
    NotFound,
    SuspiciousValue,
    UndecryptableValue,
    ValidationFailed,
    WrongType,
    generate_key,
)
from keyspace.core import programs
from keyspace.core.programs import Call
from tests.models_for_tests import (
    Leg,
    TCounter,
    TGridUser,
    TIds,
    TKeepCounter,
    TKeepIds,
    TKeepQueue,
    TKeepStatus,
    TPosition,
    TPrefs,
    TQueue,
    TSecrets,
    TSession,
    TSettings,
    TSharedPosition,
    TStatus,
    TTempHash,
)

SHARED = "t:shared:1:position:BTC-USDT-SWAP:long"
SHARED_KEY = dict(user_id=1, symbol="BTC-USDT-SWAP", side="long")
POS = "t:user:1:position:BTC-USDT-SWAP:long"
KEY = dict(user_id=1, symbol="BTC-USDT-SWAP", side="long")
SETTINGS = "t:user:7:settings"


def other_writer(raw: redis.Redis) -> None:
    """The application's websocket writer: its own fields, then EXPIRE 86400."""
    raw.hset(SHARED, mapping={"size": "3", "entry_price": "64000.5", "leverage": "10", "sl_price": "None"})
    raw.hset(SHARED, mapping={"direction": "long", "updated_at": "2025-10-01T12:00:00"})
    raw.expire(SHARED, 86400)


# --- fields-set saves and the "keep" policy ----------------------------------------------------


def test_readme_style_save_keeps_other_writers_fields_and_the_ttl(mapper: Mapper, raw: redis.Redis) -> None:
    other_writer(raw)
    mapper.save(TSharedPosition(**SHARED_KEY, size=Decimal("0.7")))
    stored = raw.hgetall(SHARED)
    assert stored[b"size"] == b"0.7"
    assert stored[b"entry_price"] == b"64000.5" and stored[b"leverage"] == b"10"
    assert stored[b"sl_price"] == b"None" and stored[b"direction"] == b"long"
    assert 86390 < raw.ttl(SHARED) <= 86400
    mapper.update(TSharedPosition, **SHARED_KEY, leverage=20)
    assert raw.hget(SHARED, "leverage") == b"20" and 86390 < raw.ttl(SHARED) <= 86400


def test_a_persistent_model_saves_only_its_set_fields_too(mapper: Mapper, raw: redis.Redis) -> None:
    raw.hset(POS, mapping={"size": "1", "leverage": "10", "note": "kept", "foreign": "x"})
    mapper.save(TPosition(**KEY, size=Decimal("2"), note=None))
    assert raw.hgetall(POS) == {b"size": b"2", b"leverage": b"10", b"foreign": b"x"}  # note: set to None
    assert raw.ttl(POS) == -1


def test_fields_set_by_assignment_are_written_and_nothing_else(mapper: Mapper, raw: redis.Redis) -> None:
    other_writer(raw)
    got = mapper.get(TSharedPosition, **SHARED_KEY)
    assert got.model_fields_set == set()
    raw.hset(SHARED, "leverage", "25")  # another writer, after our read
    got.size = Decimal("4")
    got.entry_price = None  # explicitly None: deleted
    got.sl_price = Decimal("63000")
    mapper.save(got)
    stored = raw.hgetall(SHARED)
    assert stored[b"size"] == b"4" and stored[b"leverage"] == b"25" and b"entry_price" not in stored
    assert stored[b"sl_price"] == b"63000"
    got.sl_price = None  # its family writes None as "None" (NoneText)
    mapper.save(got)
    assert raw.hget(SHARED, "sl_price") == b"None"
    assert stored[b"direction"] == b"long"  # undeclared: never touched


def test_get_then_save_changes_no_byte_and_no_ttl_for_every_kind(mapper: Mapper, raw: redis.Redis) -> None:
    raw.hset(
        POS,
        mapping={"size": "1.50", "price": "1e-05", "active": "True", "legs": '[{"price": "1", "qty": 2}]'},
    )
    raw.set("t:user:1:session", '{"scopes": ["r"], "token": "t", "future": 1.0}', ex=5000)
    raw.set("t:user:1:status", "running", ex=4000)
    raw.set("t:user:1:dca_count", "7", ex=3000)
    raw.sadd("t:okx:user_ids", "3", "1")
    raw.expire("t:okx:user_ids", 2000)
    raw.rpush("t:queue:q", "b", "a")
    raw.hset("t:user:1:temp", "value", "v")
    raw.expire("t:user:1:temp", 30)
    keys = sorted(k for k in raw.scan_iter(count=1000))
    before = {k: (raw.dump(k), raw.ttl(k)) for k in keys}
    items = [
        mapper.get(TPosition, **KEY),
        mapper.get(TSession, user_id=1),
        mapper.get(TStatus, user_id=1),
        mapper.get(TCounter, user_id=1),
        mapper.get(TIds, exchange="okx"),
        mapper.get(TQueue, name="q"),
        mapper.get(TTempHash, user_id=1),
    ]
    for item in items:
        mapper.save(item)
    mapper.save_many([i for i in items if type(i).__keyspace__.server == "app"])
    assert {k: (raw.dump(k), raw.ttl(k)) for k in keys} == before


def test_a_read_document_is_re_emitted_byte_for_byte(mapper: Mapper, raw: redis.Redis) -> None:
    text = '{"token": "t",  "scopes":["r"], "future": 1E+2}'  # nobody's style: kept as it is
    raw.set("t:user:1:session", text)
    got = mapper.get(TSession, user_id=1)
    mapper.save(got.model_copy(update={"user_id": 2}))  # nothing changed but the key
    assert raw.get("t:user:2:session") == text.encode()
    got.token = "u"  # a change: the stored document with that key replaced, in the model's style
    mapper.save(got)
    assert raw.get("t:user:1:session") == b'{"token":"u","scopes":["r"],"future":100.0}'


def test_mark_set_writes_a_whole_record(mapper: Mapper, raw: redis.Redis) -> None:
    raw.hset(POS, mapping={"size": "1", "leverage": "3"})
    got = mapper.get(TPosition, **KEY)
    mapper.save(got.model_copy(update={"user_id": 2}).mark_set())
    stored = raw.hgetall("t:user:2:position:BTC-USDT-SWAP:long")
    assert stored[b"leverage"] == b"3" and stored[b"active"] == b"true" and b"note" not in stored
    with pytest.raises(InvalidKeyValue):
        got.mark_set("nope")


@pytest.mark.parametrize("policy", ["keep", "fixed", "persist"])
def test_ttl_policies_on_hash_writes(mapper: Mapper, raw: redis.Redis, policy: str) -> None:
    model, key, values = {
        "keep": (TSharedPosition, SHARED, SHARED_KEY),
        "fixed": (TTempHash, "t:user:1:temp", {"user_id": 1}),
        "persist": (TPosition, POS, KEY),
    }[policy]
    field = "value" if model is TTempHash else "size"
    raw.hset(key, field, "1")
    raw.expire(key, 500)
    mapper.save(model(**values, **{field: "2"}))
    mapper.update(model, **values, **{field: "3"})
    ttl = raw.ttl(key)
    assert {"keep": 490 < ttl <= 500, "fixed": 50 < ttl <= 60, "persist": ttl == -1}[policy]
    assert raw.hget(key, field) == b"3"


def test_keep_policy_on_strings_counters_sets_and_lists(mapper: Mapper, raw: redis.Redis) -> None:
    raw.set("t:user:1:kstatus", "a", ex=900)
    mapper.save(TKeepStatus(user_id=1, status="b"))  # SET … KEEPTTL
    assert raw.get("t:user:1:kstatus") == b"b" and 890 < raw.ttl("t:user:1:kstatus") <= 900
    raw.set("t:user:1:kcount", "1", ex=900)
    assert mapper.incr(TKeepCounter, user_id=1) == 2 and 890 < raw.ttl("t:user:1:kcount") <= 900
    raw.sadd("t:okx:kids", "9")
    raw.expire("t:okx:kids", 900)
    mapper.save(TKeepIds(exchange="okx", ids={1, 2}))  # a whole rewrite carries the TTL over
    assert raw.smembers("t:okx:kids") == {b"1", b"2"} and 890 < raw.ttl("t:okx:kids") <= 900
    mapper.add(TKeepIds, 3, exchange="okx")
    assert 890 < raw.ttl("t:okx:kids") <= 900
    mapper.save(TKeepQueue(name="q", items=["x"]))  # no TTL before: none after
    assert raw.ttl("t:kqueue:q") == -1


def test_save_many_follows_the_same_rules(mapper: Mapper, raw: redis.Redis) -> None:
    other_writer(raw)
    raw.hset(POS, mapping={"size": "1", "note": "n"})
    mapper.save_many(
        [TSharedPosition(**SHARED_KEY, size=Decimal("5")), TPosition(**KEY, size=Decimal("6"), leverage=2)]
    )
    assert raw.hget(SHARED, "entry_price") == b"64000.5" and 86390 < raw.ttl(SHARED) <= 86400
    assert raw.hgetall(POS) == {b"size": b"6", b"leverage": b"2", b"note": b"n"}


# --- secrets: partial writes never mix two keys ------------------------------------------------


@pytest.fixture
def foreign_record(mapper: Mapper, raw: redis.Redis) -> Iterator[str]:
    """A record whose secrets were written under a key this mapper does not have."""
    stranger = Mapper.from_url("memory://", keyring=Keyring(generate_key()))
    key = "t:user:1:api:keys"
    for name in ("api_secret", "passphrase"):
        raw.hset(key, name, stranger.ctx.keyring.seal(b"theirs"))  # type: ignore[union-attr]
    raw.hset(key, "label", "x")
    yield key
    stranger.close()


def test_a_partial_secret_update_under_an_unknown_key_is_refused(
    mapper: Mapper, raw: redis.Redis, foreign_record: str
) -> None:
    before = raw.hgetall(foreign_record)
    with pytest.raises(UndecryptableValue) as info:
        mapper.update(TSecrets, uid=1, api_key="new-key")
    assert (info.value.key, info.value.field) == (foreign_record, "api_secret")
    assert "new-key" not in str(info.value) and "theirs" not in str(info.value)
    with pytest.raises(UndecryptableValue):
        mapper.save(TSecrets(uid=1, api_key="k", api_secret="s"))  # passphrase: not given, does not verify
    with pytest.raises(UndecryptableValue):
        mapper.save_many([TSecrets(uid=1, api_key="k", api_secret="s")])
    assert raw.hgetall(foreign_record) == before
    mapper.update(TSecrets, uid=1, label="y")  # no secret written: nothing to mix
    mapper.save(TSecrets(uid=1, api_key="k", api_secret="s", passphrase="p"))  # every secret: a clean record
    got = mapper.get(TSecrets, uid=1)
    assert got.passphrase.get_secret_value() == "p" and got.label == "y"


def test_a_suspicious_sibling_is_refused_too(mapper: Mapper, raw: redis.Redis, keyring: Keyring) -> None:
    token = keyring.seal(b"s").decode()
    raw.hset("t:user:1:api:keys", mapping={"api_secret": f"b'{token}'", "api_key": keyring.seal(b"k")})
    with pytest.raises(SuspiciousValue) as info:
        mapper.update(TSecrets, uid=1, api_key="k2")
    assert info.value.field == "api_secret"


def test_a_partial_secret_write_beside_readable_secrets_goes_through(
    mapper: Mapper, raw: redis.Redis
) -> None:
    mapper.save(TSecrets(uid=1, api_key="k", api_secret="s", passphrase="p"))
    raw.hset("t:user:1:api:keys", "passphrase", "legacy-plaintext")  # readable: the migration's business
    mapper.update(TSecrets, uid=1, api_key="k2")
    got = mapper.get(TSecrets, uid=1)
    assert got.api_key.get_secret_value() == "k2" and got.passphrase.get_secret_value() == "legacy-plaintext"


def interfere(program: Any, at_call: int, command: tuple[Any, ...]) -> Any:
    """Run ``program``, sending ``command`` (another writer) just before its ``at_call``-th round trip."""
    calls = 0
    reply: Any = None
    try:
        step = program.send(None)
        while True:
            if isinstance(step, Call):
                calls += 1
                if calls == at_call:
                    yield Call([command])
            reply = yield step
            step = program.send(reply)
    except StopIteration as stop:
        return stop.value


def test_a_guarded_write_retries_when_a_sibling_changes_meanwhile(
    mapper: Mapper, raw: redis.Redis, keyring: Keyring
) -> None:
    mapper.save(TSecrets(uid=1, api_key="k", api_secret="s", passphrase="p"))
    rewrite = ("HSET", "t:user:1:api:keys", "api_secret", keyring.seal(b"s2"))
    spec = TSecrets.__keyspace__
    program = programs.update(spec, mapper.ctx, None, {"uid": 1, "api_key": "k2"})
    mapper.run(interfere(program, 2, rewrite))  # between the guard read and the write
    got = mapper.get(TSecrets, uid=1)
    assert got.api_key.get_secret_value() == "k2" and got.api_secret.get_secret_value() == "s2"
    stranger = Keyring(generate_key()).seal(b"x")
    program = programs.update(spec, mapper.ctx, None, {"uid": 1, "api_key": "k3"})
    with pytest.raises(UndecryptableValue):  # the retry re-reads and finds the foreign token
        mapper.run(interfere(program, 2, ("HSET", "t:user:1:api:keys", "passphrase", stranger)))
    assert mapper.get_many(TSecrets, [{"uid": 1}], on_error=lambda e: None)[0] is None
    assert raw.hget("t:user:1:api:keys", "passphrase") == stranger


# --- JSON documents: atomic updates, free-form keys, the invalidation channel ---------------------


def test_update_of_a_free_form_document_keeps_order_unknown_keys_and_style(
    mapper: Mapper, raw: redis.Redis
) -> None:
    doc = {"btc_investment": 20, "direction": "롱숏", "leverage": 10, "use_sl": False, "x": {"y": [1.0]}}
    raw.set(SETTINGS, json.dumps(doc))
    mapper.update(TSettings, user_id=7, leverage=20, current_category="tp")
    assert raw.get(SETTINGS) == json.dumps({**doc, "leverage": 20, "current_category": "tp"}).encode()
    with pytest.raises(NotFound):
        mapper.update(TSettings, user_id=8, leverage=1)
    assert not raw.exists("t:user:8:settings")


def test_json_update_is_a_compare_and_set(mapper: Mapper, raw: redis.Redis) -> None:
    raw.set(SETTINGS, json.dumps({"leverage": 10, "use_sl": False}))
    spec = TSettings.__keyspace__
    concurrent = ("SET", SETTINGS, json.dumps({"leverage": 10, "use_sl": True}))
    program = programs.update(spec, mapper.ctx, None, {"user_id": 7, "leverage": 30})
    mapper.run(interfere(program, 2, concurrent))  # between our GET and our CAS
    assert json.loads(raw.get(SETTINGS)) == {"leverage": 30, "use_sl": True}  # both changes kept


def subscriber(raw: redis.Redis, channel: str) -> Any:
    pubsub = raw.pubsub()
    pubsub.subscribe(channel)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "subscribe":
            return pubsub
    raise AssertionError("no subscribe confirmation")


def received(pubsub: Any, wait: float = 0.5) -> list[bytes]:
    out: list[bytes] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            out.append(message["data"])
    return out


def test_every_write_publishes_the_key_on_the_models_channel(mapper: Mapper, raw: redis.Redis) -> None:
    pubsub = subscriber(raw, "t:settings:update:7")
    try:
        payload = SETTINGS.encode()
        mapper.save(TSettings(user_id=7, leverage=10))
        assert received(pubsub) == [payload]
        mapper.update(TSettings, user_id=7, leverage=11)
        mapper.save_many([TSettings(user_id=7, leverage=12), TSettings(user_id=8, leverage=1)])
        assert received(pubsub) == [payload, payload]
        mapper.save(mapper.get(TSettings, user_id=7))  # nothing set: no write, no message
        assert mapper.delete(TSettings, user_id=7) is True
        assert mapper.delete(TSettings, user_id=7) is False  # nothing deleted: no message
        assert received(pubsub) == [payload]
        raw.hset(SETTINGS, "a", "b")
        with pytest.raises(WrongType):
            mapper.save(TSettings(user_id=7, leverage=1))  # refused: nothing published
        with pytest.raises(WrongType):
            mapper.update(TSettings, user_id=7, leverage=1)
        assert received(pubsub) == []
    finally:
        pubsub.close()


def test_a_hash_model_with_a_channel_publishes_too(mapper: Mapper, raw: redis.Redis) -> None:
    pubsub = subscriber(raw, "t:prefs:update:3")
    try:
        mapper.save(TPrefs(user_id=3, language="ko"))
        mapper.update(TPrefs, user_id=3, theme="dark")
        assert received(pubsub) == [b"t:user:3:prefs", b"t:user:3:prefs"]
        assert raw.hgetall("t:user:3:prefs") == {b"language": b"ko", b"theme": b"dark"}
    finally:
        pubsub.close()


# --- bad input that used to get through ------------------------------------------------------------


def test_a_none_key_filter_is_refused_not_a_wildcard(mapper: Mapper, raw: redis.Redis) -> None:
    mapper.save(TSecrets(uid=1, api_key="k", api_secret="s"))
    mapper.save(TSecrets(uid=2, api_key="k", api_secret="s"))
    with pytest.raises(InvalidKeyValue) as info:
        list(mapper.scan(TSecrets, uid=None))
    assert info.value.field == "uid"
    with pytest.raises(InvalidKeyValue):
        list(mapper.scan_keys(TSecrets, uid=None))
    with pytest.raises(InvalidKeyValue):
        mapper.count(TSecrets, uid=None)
    with pytest.raises(InvalidKeyValue):
        mapper.get(TSecrets, uid=None)


@pytest.mark.parametrize(
    "char", ["\u200b", "\u202e", "\ufeff", "\u2060", "\ue000", "\u00a0", "\u0085", "\u0378"]
)
def test_invisible_characters_in_key_fields_are_refused(mapper: Mapper, raw: redis.Redis, char: str) -> None:
    symbol = f"BTC{char}-USDT-SWAP"
    with pytest.raises(InvalidKeyValue) as info:
        mapper.save(TPosition(user_id=1, symbol=symbol, side="long", size=1))
    assert info.value.field == "symbol" and f"U+{ord(char):04X}" in str(info.value)
    with pytest.raises(InvalidKeyValue):
        mapper.get(TPosition, user_id=1, symbol=symbol, side="long")
    with pytest.raises(InvalidKeyValue):
        list(mapper.scan(TPosition, symbol=symbol))
    assert not any(raw.scan_iter(count=1000))


def test_nan_and_infinity_are_refused_everywhere(mapper: Mapper, raw: redis.Redis) -> None:
    with pytest.raises(ValidationFailed):
        TPosition(**KEY, size=1, price=float("nan"))
    with pytest.raises(ValidationFailed) as info:
        mapper.save(TPosition(**KEY, size=1, meta={"x": float("inf")}))  # a JSON-valued hash field
    assert info.value.field == "meta"
    with pytest.raises(ValidationFailed) as info:
        mapper.save(TPrefs(user_id=1, ratio=float("nan")))  # a free-form hash extra
    assert info.value.field == "ratio"
    with pytest.raises(ValidationFailed):
        mapper.save(TSettings(user_id=1, ratio=float("inf")))  # a free-form document key
    raw.set(SETTINGS, "{}")
    with pytest.raises(ValidationFailed):
        mapper.update(TSettings, user_id=7, nested={"v": float("nan")})
    assert raw.get(SETTINGS) == b"{}" and raw.exists(POS, "t:user:1:prefs", "t:user:1:settings") == 0
    raw.set(SETTINGS, '{"leverage": 10, "ratio": NaN}')  # what json.dumps writes for nan: not JSON
    with pytest.raises(CorruptValue):
        mapper.get(TSettings, user_id=7)
    raw.hset(POS, mapping={"size": "1", "meta": '{"x": Infinity}'})
    with pytest.raises(CorruptValue) as info:
        mapper.get(TPosition, **KEY)
    assert info.value.field == "meta"


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], (1,), {1, 2}])
def test_nested_values_in_a_free_form_hash_are_refused(mapper: Mapper, raw: redis.Redis, value: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        mapper.save(TPrefs(user_id=1, language="ko", nested=value))
    assert (info.value.model, info.value.field) == ("TPrefs", "nested")
    with pytest.raises(ValidationFailed):
        mapper.update(TPrefs, user_id=1, nested=value)
    assert raw.exists("t:user:1:prefs") == 0
    mapper.save(TPrefs(user_id=1, language="ko", count=3, on=True))  # scalars are text
    assert raw.hgetall("t:user:1:prefs") == {b"language": b"ko", b"count": b"3", b"on": b"true"}


def deep_json(depth: int = 60_000) -> str:
    return '{"a":' * depth + "1" + "}" * depth  # ~360 KB


def test_a_deeply_nested_value_is_one_corrupt_record_among_good_ones(
    mapper: Mapper, raw: redis.Redis
) -> None:
    mapper.save_many(
        [TPosition(**dict(KEY, user_id=i), size=1, legs=[Leg(price=1, qty=1)]) for i in (1, 2, 3)]
    )
    raw.hset("t:user:2:position:BTC-USDT-SWAP:long", "legs", "[" * 100_000 + "]" * 100_000)  # 200 KB
    with pytest.raises(CorruptValue) as info:
        mapper.get(TPosition, **dict(KEY, user_id=2))
    assert info.value.field == "legs"
    errors: list[Exception] = []
    got = mapper.get_many(TPosition, [dict(KEY, user_id=i) for i in (1, 2, 3)], on_error=errors.append)
    assert [g.user_id if g else None for g in got] == [1, None, 3] and len(errors) == 1
    errors.clear()
    assert sorted(p.user_id for p in mapper.scan(TPosition, on_error=errors.append)) == [1, 3]
    assert [type(e) for e in errors] == [CorruptValue]
    mapper.save(TSettings(user_id=1, a=1))
    raw.set("t:user:2:settings", deep_json())
    with pytest.raises(CorruptValue) as info:
        mapper.get(TSettings, user_id=2)
    assert info.value.key == "t:user:2:settings"
    errors.clear()
    assert [s.user_id for s in mapper.scan(TSettings, on_error=errors.append)] == [1]
    assert len(errors) == 1
    with pytest.raises(CorruptValue):  # an update reads first: refused, the document left as it is
        mapper.update(TSettings, user_id=2, a=2)
    assert len(raw.get("t:user:2:settings")) == len(deep_json())


def test_grid_records_written_by_the_application_read_back(mapper: Mapper, raw: redis.Redis) -> None:
    raw.hset(
        "t:okx:user:7",
        mapping={"running": "1", "stop_loss": "None", "updated": "1759321805", "count": "3", "ratio": "0.5"},
    )
    raw.expire("t:okx:user:7", 2592000)  # 30 days, set by GRID (research/grid.md §1.1)
    got = mapper.get(TGridUser, exchange="okx", user_id=7)
    assert got.running is True and got.stop_loss is None and got.count == 3
    got.running = False
    mapper.save(got)
    assert raw.hget("t:okx:user:7", "running") == b"0" and raw.hget("t:okx:user:7", "stop_loss") == b"None"
    assert raw.ttl("t:okx:user:7") > 2591000


def test_a_read_instance_equals_a_built_one_through_copies_and_pickles(
    mapper: Mapper, raw: redis.Redis
) -> None:
    import copy
    import pickle

    raw.set("t:user:1:session", '{"token": "t", "scopes": []}')
    got = mapper.get(TSession, user_id=1)
    built = TSession(user_id=1, token="t")
    for other in (got, copy.copy(got), copy.deepcopy(got), pickle.loads(pickle.dumps(got)), got.model_copy()):
        assert other == built  # the stored text it was read from is not part of its value
        other.token = "u"
        mapper.save(other)  # ... but it is what a save patches
        assert raw.get("t:user:1:session") == b'{"token":"u","scopes":[]}'
        raw.set("t:user:1:session", '{"token": "t", "scopes": []}')


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def test_json_deeper_than_the_limit_is_refused_both_ways(mapper: Mapper, raw: redis.Redis) -> None:
    from keyspace.core.codec import MAX_JSON_DEPTH

    # readable by json.loads, but pydantic cannot serialize it: it would crash the next save or dump
    raw.set("t:user:3:settings", json.dumps({"k": nested(MAX_JSON_DEPTH + 50)}))
    with pytest.raises(CorruptValue):
        mapper.get(TSettings, user_id=3)
    raw.hset(POS, mapping={"size": "1", "meta": json.dumps({"k": nested(MAX_JSON_DEPTH + 50)})})
    with pytest.raises(CorruptValue) as info:
        mapper.get(TPosition, **KEY)
    assert info.value.field == "meta"
    raw.delete(POS)
    for too_deep in (MAX_JSON_DEPTH + 50, 900):  # what could not be read back is never written
        with pytest.raises(ValidationFailed):
            mapper.save(TSettings(user_id=4, k=nested(too_deep)))
        with pytest.raises(ValidationFailed):
            mapper.save(TPosition(**KEY, size=1, meta={"k": nested(too_deep)}))
    assert raw.exists("t:user:4:settings", POS) == 0
    mapper.save(TSettings(user_id=4, k=nested(MAX_JSON_DEPTH - 10)))
    assert mapper.get(TSettings, user_id=4).k == nested(MAX_JSON_DEPTH - 10)
