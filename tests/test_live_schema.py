"""The TradingBoost schema adopts the live keyspace as it is (issue 14).

Every fixture is a stored value in one writer's convention (tests/live_fixtures.py,
each citing its writer in seungdori/TradingBoost-Strategy @ e61934e); it must
resolve to its model and survive get -> save byte for byte, TTL included, on
fakeredis and on a real redis-server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

import models
from keyspace import Keyring, KeyspaceError, Mapper, default_registry, generate_key
from keyspace.testing.dataset import seed, telegram_id
from tests.live_fixtures import FETCHER, FIXTURES, GRID_SAVE_USER, SYM, TG, UID, Fixture, read, write
from tests.tradingboost_app import app_read

KEY, OLD_KEY = generate_key(), generate_key()


@pytest.fixture(params=["memory", "redis"])
def live(request: pytest.FixtureRequest) -> Iterator[tuple[Mapper, Any]]:
    ring = Keyring(KEY, [OLD_KEY])
    if request.param == "memory":
        mapper = Mapper.from_url("memory://", keyring=ring)
    else:
        url = request.getfixturevalue("redis_url")
        app = redis.Redis.from_url(url)
        app.flushall()
        mapper = Mapper(app, redis.Redis.from_url(url.rsplit("/", 1)[0] + "/1"), keyring=ring)
    yield mapper, mapper.clients["app"]
    mapper.clients["app"].flushall()
    mapper.close()


# --- the registry -----------------------------------------------------------------------------


def test_every_model_is_registered_once_and_nothing_else_claims_its_keys() -> None:
    ours = [s for s in default_registry if s.model.__module__.startswith("models.")]
    assert {s.model for s in ours} == set(models.ALL_MODELS)
    assert len(ours) == len(models.ALL_MODELS)


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_every_fixture_key_resolves_to_exactly_its_model(fx: Fixture) -> None:
    owners = [
        s.name
        for s in default_registry
        if s.model.__module__.startswith("models.") and s.match(fx.key) is not None
    ]
    assert owners == [fx.model]


@pytest.mark.parametrize(
    "key",
    [
        "user:5000000000000001:preferences",  # 16 digits: neither id (shared/utils/uid_validator.py:52-63)
        "user:050000000000000001:api:keys",  # a leading zero
        "user:12345678:stats",  # 8 digits: too short for a Telegram id
        f"okx_uid_to_telegram:{TG}",  # a Telegram id where an OKX uid belongs
        f"user:{UID}:okx_uid",  # an OKX uid where a Telegram id belongs
        f"user:{UID}:position:{SYM}:both",  # not a side
        f"user:{UID}:position:btc-usdt-swap:long",  # not an instrument
        f"user:{UID}:signal_bot:a*b:status",  # a glob in a token
        "kraken:user:42",  # not one of GRID's exchanges
        "okx:user:042",  # GRID ids are decimal integers
        f"preset:{UID}:not-hex!",
    ],
)
def test_keys_that_no_template_may_claim(key: str) -> None:
    assert default_registry.resolve(key) is None


def test_the_api_key_hash_tells_which_kind_of_id_it_holds() -> None:
    by_okx = models.UserApiKeys(user_id=UID, api_key="k", api_secret="s", passphrase="p")
    by_tg = models.UserApiKeys(user_id=TG, api_key="k", api_secret="s", passphrase="p")
    assert (by_okx.id_kind, by_tg.id_kind) == ("okx_uid", "telegram_id")
    assert by_tg.redis_key == f"user:{TG}:api:keys"
    spec, values = default_registry.resolve(f"user:{TG}:api:keys")  # type: ignore[misc]
    assert spec.model is models.UserApiKeys and values == {"user_id": TG}


@pytest.mark.parametrize("token", ["a:b", "a*b", "a b", "a{b}", "", "x" * 300])
def test_a_signal_token_never_splits_a_key_or_widens_a_scan(token: str) -> None:
    with pytest.raises(KeyspaceError):
        models.SignalBotStatus(user_id=UID, token=token, status="running").redis_key  # noqa: B018


def test_deprecated_families_say_so_and_what_replaced_them() -> None:
    names = {m.__name__ for m in models.DEPRECATED}
    assert names == {"TradingStatus", "UserSession", "EntryPrice", "ScriptApiKeys"}
    for model in models.DEPRECATED:
        assert model.__doc__ and model.__doc__.startswith("Deprecated:")
        assert isinstance(model.__deprecated__, str) and model.__deprecated__
    assert not any(
        getattr(m, "__deprecated__", None) for m in set(models.ALL_MODELS) - set(models.DEPRECATED)
    )


def test_secret_forms_are_declared() -> None:
    spec = models.UserApiKeys.__keyspace__
    assert spec.envelope == "enc_v1:" and spec.encrypted_fields == ("api_key", "api_secret", "passphrase")
    for grid in (models.GridUser, models.GridUserKey, models.GridExchangeApiKeys):
        assert grid.__keyspace__.masked_fields and not grid.__keyspace__.encrypted_fields


# --- round trips ------------------------------------------------------------------------------


def _round_trip(mapper: Mapper, app: Any, key: str) -> None:
    spec, values = default_registry.resolve(key)  # type: ignore[misc]
    before, ttl = read(app, key), app.ttl(key)
    obj = mapper.get(spec.model, **values)
    assert obj is not None
    mapper.save(obj)
    assert read(app, key) == before
    after = app.ttl(key)
    assert (after == -1) if ttl == -1 else (ttl - 2 <= after <= ttl)


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_every_writer_convention_survives_get_then_save(live: tuple[Mapper, Any], fx: Fixture) -> None:
    mapper, app = live
    write(app, fx)
    _round_trip(mapper, app, fx.key)


@pytest.mark.parametrize("form", ["current", "old", "mixed"])
def test_encrypted_api_keys_survive_get_then_save(live: tuple[Mapper, Any], form: str) -> None:
    """ApiKeyService.set_user_api_keys stores enc_v1 + token
    (HYPERRSI/src/services/redis_service.py:591-622)."""
    mapper, app = live
    ring = Keyring(OLD_KEY) if form == "old" else Keyring(KEY)
    stored = {
        n: "enc_v1:" + ring.encrypt(n.encode()).decode() for n in ("api_key", "api_secret", "passphrase")
    }
    if form == "mixed":
        stored["api_secret"] = "plain-secret"
    app.hset(f"user:{UID}:api:keys", mapping=stored)
    _round_trip(mapper, app, f"user:{UID}:api:keys")


def test_a_partial_position_save_keeps_the_other_writers_fields_and_the_ttl(live: tuple[Mapper, Any]) -> None:
    mapper, app = live
    key = f"user:{UID}:position:{SYM}:long"
    app.hset(key, mapping=FETCHER)
    app.expire(key, 86400)  # HYPERRSI/src/services/websocket_service.py:482
    mapper.save(models.Position(user_id=UID, symbol=SYM, side="long", sl_price="61000.5"))
    stored = {k.decode(): v.decode() for k, v in app.hgetall(key).items()}
    assert stored == {**FETCHER, "sl_price": "61000.5"}
    assert 86000 < app.ttl(key) <= 86400


def test_a_grid_save_keeps_one_zero_booleans_and_the_30_day_ttl(live: tuple[Mapper, Any]) -> None:
    mapper, app = live
    key = f"okx:user:{UID}"
    app.hset(key, mapping=GRID_SAVE_USER)
    app.expire(key, 2592000)  # GRID/database/redis_database.py:943-945
    grid = mapper.get(models.GridUser, exchange="okx", user_id=UID)
    assert grid.is_running is False and grid.api_key.get_secret_value() == "grid-plain-key"
    grid.is_running = True
    mapper.save(grid)
    assert (
        app.hget(key, "is_running") == b"1"
    )  # what the `== '1'` readers need (GRID/database/redis_database.py:751)
    assert app.hget(key, "api_key") == b"grid-plain-key"  # plaintext by policy
    assert app.hget(key, "initial_capital") == GRID_SAVE_USER["initial_capital"].encode()
    assert 2591000 < app.ttl(key) <= 2592000


def test_grid_booleans_read_every_spelling(live: tuple[Mapper, Any]) -> None:
    mapper, app = live
    for n, (text, value) in enumerate((("1", True), ("0", False), ("true", True), ("false", False))):
        app.hset(f"okx:user:{n}", mapping={"is_running": text})
        assert mapper.get(models.GridUser, exchange="okx", user_id=str(n)).is_running is value


def test_a_settings_save_publishes_the_key_on_the_settings_channel(redis_url: str) -> None:
    """RedisService.set_user_settings publishes the key name
    (HYPERRSI/src/services/redis_service.py:225-233)."""
    app = redis.Redis.from_url(redis_url)
    pubsub = app.pubsub()
    pubsub.subscribe(f"settings:update:{UID}")
    pubsub.get_message(timeout=5)
    Mapper(app).save(models.UserSettings(user_id=UID, leverage=10))
    message = pubsub.get_message(timeout=5)
    assert message is not None and message["data"] == f"user:{UID}:settings".encode()
    pubsub.close()
    app.delete(f"user:{UID}:settings")


# --- the dataset ------------------------------------------------------------------------------


def _all_keys(client: Any) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(count=1000))


def test_the_live_dataset_has_no_key_of_no_model_but_its_bad_keys(live: tuple[Mapper, Any]) -> None:
    mapper, app = live
    data = seed(
        app,
        mapper.clients["celery"],
        users=80,
        keyring=Keyring(KEY),
        old_keyring=Keyring(OLD_KEY),
        secret_forms="live",
    )
    unowned = [k for k in _all_keys(app) if default_registry.resolve(k, server="app") is None]
    assert sorted(unowned) == sorted(k for k, kind in data.bad_kinds.items() if kind == "key_types")
    for key in unowned:  # each matches a template's shape but fails its key types
        assert any(t.match(key) is not None for s in default_registry for t in s.templates), key
    assert set(data.bad_kinds.values()) == {"wrong_type", "corrupt", "undecryptable", "key_types"}
    celery = mapper.clients["celery"]
    assert all(default_registry.resolve(k, server="celery") for k in _all_keys(celery))
    forms = {f for per_key in data.forms.values() for f in per_key.values()}
    assert forms == {"plaintext", "current", "old", "nested", "bare", "suspicious"}
    assert f"user:{telegram_id(7)}:api:keys" in data.secrets  # /user/register with a Telegram id
    assert data.legacy_running and data.legacy_stopped


def test_the_dataset_records_what_the_application_reads(live: tuple[Mapper, Any]) -> None:
    """The application's reader (tests/tradingboost_app.py) returns the recorded secret, form by form."""
    _, app = live
    data = seed(app, None, users=40, keyring=Keyring(KEY), secret_forms="live", bad_keys=False)
    for key, fields in data.forms.items():
        stored = {k.decode(): v.decode() for k, v in app.hgetall(key).items()}
        for name, form in fields.items():
            assert stored[name] == data.stored[key][name]
            got = app_read(stored[name], KEY)
            if form == "nested":  # one layer only (shared/security/encryption.py:148-158)
                assert got.startswith("enc_v1:") and app_read(got, KEY) == data.secrets[key][name]
            elif form == "bare":  # no prefix: the application passes it through as the "secret"
                assert got == stored[name]
            else:
                assert got == data.secrets[key][name], (key, name, form)


def test_the_dataset_is_deterministic_per_seed() -> None:
    dumps = []
    for _ in range(2):
        mapper = Mapper.from_url("memory://", keyring=Keyring(generate_key()))
        app = mapper.clients["app"]
        seed(app, None, users=15, keyring=None, seed_value=3, bad_keys=False)
        dumps.append({k: read(app, k) for k in _all_keys(app)})
    assert dumps[0] == dumps[1]


def test_simple_forms_keep_one_hash_per_user(live: tuple[Mapper, Any]) -> None:
    mapper, app = live
    data = seed(app, None, users=20, plaintext_share=0.5, keyring=mapper.ctx.keyring, bad_keys=False)
    assert len(data.secrets) == 20
    assert {f for fields in data.forms.values() for f in fields.values()} == {"plaintext", "current"}
    for key in data.secrets:
        got = mapper.get(models.UserApiKeys, user_id=key.split(":")[1])
        assert {n: getattr(got, n).get_secret_value() for n in data.secrets[key]} == data.secrets[key]


def test_invalid_ids_are_refused_with_the_field_named() -> None:
    with pytest.raises(KeyspaceError) as info:
        models.SymbolStatus(user_id="0123", symbol=SYM, status="running")
    assert "user_id" in str(info.value)
    with pytest.raises(KeyspaceError) as info:
        models.SymbolStatus.__keyspace__.key_texts({"user_id": UID, "symbol": "BTC:USDT"})
    assert info.value.field == "symbol" and "BTC:USDT" not in str(info.value)


def test_the_dataset_counts_every_key_it_writes(live: tuple[Mapper, Any]) -> None:
    """``keyspace seed`` reports sum(counts) + bad keys as the number of keys written."""
    mapper, app = live
    celery = mapper.clients["celery"]
    data = seed(
        app, celery, users=31, keyring=Keyring(KEY), old_keyring=Keyring(OLD_KEY), secret_forms="live"
    )
    assert sum(data.counts.values()) + len(data.bad_keys) == app.dbsize() + celery.dbsize()
    assert data.plaintext_count == len(data.plaintext_keys)
    for name in data.counts:
        assert hasattr(models, name), name


def test_an_unrecorded_dataset_keeps_nothing_per_key(live: tuple[Mapper, Any]) -> None:
    _, app = live
    data = seed(app, None, users=40, keyring=Keyring(KEY), secret_forms="live", record=False, bad_keys=False)
    assert not (data.secrets or data.stored or data.forms or data.plaintext_keys or data.legacy_running)
    assert data.plaintext_count > 0 and data.counts["UserApiKeys"] >= 40


@pytest.mark.slow
def test_the_dataset_writes_in_flat_memory(redis_url: str) -> None:
    """Pipelined in batches with nothing kept per user: nothing is retained, and three times the
    users peak below twice the memory (the peak is one batch plus garbage awaiting collection)."""
    import gc
    import tracemalloc

    app = redis.Redis.from_url(redis_url)

    def measure(users: int) -> tuple[int, int]:
        app.flushall()
        gc.collect()
        tracemalloc.start()
        seed(app, None, users=users, keyring=None, secret_forms="live", record=False, batch=100)
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return retained, peak

    (kept_small, small), (kept_large, large) = measure(900), measure(2700)
    app.flushall()
    assert kept_large < 100_000 and kept_large < kept_small + 50_000, (kept_small, kept_large)
    assert large < small * 2, (small, large)


def test_stats_on_the_live_dataset_find_no_key_of_no_model(live: tuple[Mapper, Any]) -> None:
    """`keyspace stats`: every key belongs to a model; the bad keys are counted as what they are."""
    from keyspace.ops.inspect import collect_stats

    mapper, app = live
    data = seed(
        app,
        mapper.clients["celery"],
        users=60,
        keyring=Keyring(KEY),
        old_keyring=Keyring(OLD_KEY),
        secret_forms="live",
    )
    stats = collect_stats(mapper).as_dict()
    assert stats["unowned"] == {} or set(stats["unowned"].values()) == {0}
    rows = {row["model"]: row for row in stats["models"]}
    assert sum(r["fails_key_types"] for r in rows.values()) == list(data.bad_kinds.values()).count(
        "key_types"
    )
    assert rows["UserApiKeys"]["wrong_type"] == 1 and rows["UserSettings"]["corrupt"] == 1
    assert rows["UserApiKeys"]["undecryptable"] >= 1
    # the TTL policies agree with what the writers did (keep = no opinion)
    assert {name: r["ttl_mismatch"] for name, r in rows.items() if r["ttl_mismatch"]} == {}


def test_a_catch_all_template_next_to_the_live_families_is_refused() -> None:
    """Why the guide's GridUserData (``{exchange}:user:{user_id}:{name}``) is gone: it would claim
    ``okx:user:42:key`` (GridUserKey) as well; the registry refuses such a pair when it is declared."""
    from keyspace import AnyModel, Registry, TemplateError

    registry = Registry()
    for model in models.ALL_MODELS:
        registry.add(model.__keyspace__)

    class GridUserData(AnyModel, key="{exchange}:user:{user_id}:{name}", register=False):
        exchange: models.Exchange
        user_id: models.GridUserId
        name: str

    with pytest.raises(TemplateError, match="GridUserKey"):
        registry.add(GridUserData.__keyspace__)
