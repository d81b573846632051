"""The stored form of a secret (``enc_v1:`` + token), strict classification, and the
application's reader rule in both directions (see tests/tradingboost_app.py for its facts)."""

from __future__ import annotations

import json

import pytest
import redis
from cryptography.fernet import Fernet

from keyspace import (
    CorruptValue,
    Encrypted,
    HashModel,
    JsonModel,
    Keyring,
    KeyspaceError,
    Mapper,
    Masked,
    SuspiciousValue,
    UndecryptableValue,
    ValidationFailed,
    generate_key,
)
from keyspace.core.crypto import read_equivalence_problem
from tests.tradingboost_app import app_encrypt, app_read

SECRET = "s3cr3t-api-value-0123456789"


class TEnvKeys(HashModel, key="t:env:{uid}:api:keys", envelope="enc_v1:"):
    uid: int
    api_key: Encrypted[str]
    api_secret: Encrypted[str] | None = None


class TEnvDoc(JsonModel, key="t:env:{uid}:doc", envelope="enc_v1:"):
    uid: int
    token: Encrypted[str]
    note: str = ""


class TGridLike(HashModel, key="t:env:{uid}:grid", ttl=None):
    uid: int
    api_key: Masked[str]
    password: Masked[str] | None = None


@pytest.fixture(scope="module")
def key() -> str:
    return generate_key()


@pytest.fixture
def ring(key: str) -> Keyring:
    return Keyring(key)


# --- classification ---------------------------------------------------------------------


def test_every_stored_form_is_classified(key: str, ring: Keyring) -> None:
    old_key = generate_key()
    both = Keyring(key, [old_key])
    old = Fernet(old_key.encode())
    enveloped = app_encrypt(SECRET, key).encode()
    cases = {
        enveloped: "current",
        b"enc_v1:" + old.encrypt(SECRET.encode()): "old",
        Fernet(key.encode()).encrypt(SECRET.encode()): "bare",  # older keyspace wrote bare tokens
        app_encrypt(enveloped.decode(), key).encode(): "nested",  # the app's writer over its own output
        Fernet(key.encode()).encrypt(enveloped): "nested",
        SECRET.encode(): "plaintext",
        b"": "empty",
        b"enc_v1:" + Fernet(generate_key().encode()).encrypt(b"x"): "undecryptable",
        b"enc_v1:not-a-token": "undecryptable",
        enveloped[:-5]: "undecryptable",
        Fernet(generate_key().encode()).encrypt(b"x"): "undecryptable",
        b"b'" + Fernet(key.encode()).encrypt(b"x") + b"'": "suspicious",  # a Python bytes repr
        b" " + enveloped: "suspicious",
        b'"' + enveloped + b'"': "suspicious",
        json.dumps({"api_key": enveloped.decode()}).encode(): "suspicious",
        b"ENC_V1:" + enveloped[7:]: "suspicious",
        enveloped + b"\n": "suspicious",  # Fernet would verify it; the stored form is not clean
    }
    for stored, kind in cases.items():
        assert both.classify(stored, "enc_v1:").kind == kind, (stored[:20], kind)
    thrice = app_encrypt(app_encrypt(app_encrypt(SECRET, key), key), key).encode()
    nested = both.classify(thrice, "enc_v1:")
    assert nested.kind == "nested" and nested.layers == 3 and nested.plaintext == SECRET.encode()
    assert app_read(thrice.decode(), key) != SECRET  # why nested values need the repair


def test_the_applications_reader_rule_matches_the_tests_restatement(key: str, ring: Keyring) -> None:
    for stored in (app_encrypt(SECRET, key), SECRET, "", "enc_v1:garbage", app_encrypt("é 한글", key)):
        assert ring.app_read(stored.encode(), "enc_v1:").decode() == app_read(stored, key)


def test_read_equivalence_refuses_a_write_that_changes_what_the_application_reads(ring: Keyring) -> None:
    plain = SECRET.encode()
    assert read_equivalence_problem(ring, plain, ring.seal(plain, "enc_v1:"), "enc_v1:") is None
    bare = ring.encrypt(plain)  # the app would hand this token to the exchange: normalising repairs it
    assert read_equivalence_problem(ring, bare, ring.seal(plain, "enc_v1:"), "enc_v1:") is None
    # the mistakes a future format change could make are refused at the first key:
    assert read_equivalence_problem(ring, plain, ring.encrypt(plain), "enc_v1:")  # bare token
    double = ring.seal(ring.seal(plain, "enc_v1:"), "enc_v1:")
    assert read_equivalence_problem(ring, plain, double, "enc_v1:")  # double encryption
    assert read_equivalence_problem(ring, plain, ring.seal(b"other", "enc_v1:"), "enc_v1:")
    assert read_equivalence_problem(ring, b"enc_v1:junk", ring.seal(b"junk", "enc_v1:"), "enc_v1:")


# --- the mapper writes the live form and reads every form the application writes ---------------


def test_keyspace_writes_exactly_the_applications_form(key: str, ring: Keyring) -> None:
    mapper = Mapper.from_url("memory://", keyring=ring)
    raw = mapper.clients["app"]
    mapper.save(TEnvKeys(uid=1, api_key=SECRET, api_secret="second"))
    stored = raw.hgetall("t:env:1:api:keys")
    for field, plain in ((b"api_key", SECRET), (b"api_secret", "second")):
        value = stored[field].decode()
        assert value.startswith("enc_v1:gAAAAA") and Fernet(key.encode()).decrypt(value[7:].encode())
        assert app_read(value, key) == plain  # the application reads what keyspace wrote
    mapper.save(TEnvDoc(uid=1, token=SECRET))
    doc = json.loads(raw.get("t:env:1:doc"))
    assert doc["token"].startswith("enc_v1:") and app_read(doc["token"], key) == SECRET


def test_keyspace_reads_what_the_application_wrote(key: str, ring: Keyring) -> None:
    old_key = generate_key()
    mapper = Mapper.from_url("memory://", keyring=Keyring(key, [old_key]))
    raw = mapper.clients["app"]
    forms = {
        1: app_encrypt(SECRET, key),  # the encrypting writer
        2: SECRET,  # /register, the cache copy-back
        3: "enc_v1:" + Fernet(old_key.encode()).encrypt(SECRET.encode()).decode(),  # a retired key
        4: app_encrypt(app_encrypt(SECRET, key), key),  # double encryption by the settings routes
        5: Fernet(key.encode()).encrypt(SECRET.encode()).decode(),  # older keyspace's bare token
    }
    for uid, stored in forms.items():
        raw.hset(f"t:env:{uid}:api:keys", mapping={"api_key": stored, "uid": "x", "last_update_time": "1"})
        got = mapper.get(TEnvKeys, uid=uid)
        assert got.api_key.get_secret_value() == SECRET, uid
        assert got.unknown_fields == {"uid": "x", "last_update_time": "1"}
    assert mapper.ctx.events["plaintext"] == 1 and mapper.ctx.events["old_key"] == 1
    assert mapper.ctx.events["nested"] == 1 and mapper.ctx.events["bare"] == 1


def test_suspicious_and_undecryptable_values_are_refused_without_the_value(key: str, ring: Keyring) -> None:
    mapper = Mapper.from_url("memory://", keyring=ring)
    raw = mapper.clients["app"]
    token = app_encrypt(SECRET, key)
    raw.hset("t:env:1:api:keys", "api_key", f" {token}")
    with pytest.raises(SuspiciousValue) as info:
        mapper.get(TEnvKeys, uid=1)
    assert info.value.field == "api_key" and token not in str(info.value)
    foreign = "enc_v1:" + Fernet(generate_key().encode()).encrypt(b"x").decode()
    raw.hset("t:env:2:api:keys", "api_key", foreign)
    with pytest.raises(UndecryptableValue):
        mapper.get(TEnvKeys, uid=2)


def test_masked_fields_are_plaintext_by_policy_and_never_shown(ring: Keyring) -> None:
    mapper = Mapper.from_url("memory://", keyring=ring)
    raw = mapper.clients["app"]
    grid = TGridLike(uid=3, api_key=SECRET, password="pw-123456")
    assert SECRET not in repr(grid) and SECRET not in grid.model_dump_json()
    mapper.save(grid)
    assert raw.hget("t:env:3:grid", "api_key") == SECRET.encode()  # its readers do not decrypt
    assert mapper.get(TGridLike, uid=3).api_key.get_secret_value() == SECRET
    keyless = Mapper(raw)  # no ENCRYPTION_KEY needed for plaintext-by-policy secrets
    assert keyless.get(TGridLike, uid=3).password.get_secret_value() == "pw-123456"


# --- secrets in memory and messages --------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def _assert_clean(exc: BaseException, secret: str) -> None:
    for item in _chain(exc):
        assert isinstance(item, KeyspaceError), type(item)
        for text in (str(item), repr(item), repr(item.args), repr(getattr(item, "errors", ""))):
            assert secret not in text


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: TEnvKeys.model_validate({"uid": 1, "api_key": [SECRET]}),
        lambda: TEnvKeys.model_validate_json(json.dumps({"uid": 1, "api_key": [SECRET]})),
        lambda: TEnvKeys.model_validate_strings({"uid": "x" + SECRET, "api_key": SECRET}),
        lambda: TEnvKeys(uid=1, api_key={"nested": SECRET}),
        lambda: setattr(TEnvKeys(uid=1, api_key="a"), "api_key", [SECRET]),
    ],
)
def test_validation_errors_never_carry_the_input(attempt: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        attempt()  # type: ignore[operator]
    _assert_clean(info.value, SECRET)


def test_model_copy_validates_and_masks_its_updates() -> None:
    copy = TEnvKeys(uid=1, api_key="a").model_copy(update={"api_secret": SECRET})
    assert copy.api_secret is not None and copy.api_secret.get_secret_value() == SECRET
    for text in (repr(copy), str(copy), copy.model_dump_json(), json.dumps(copy.model_dump(mode="json"))):
        assert SECRET not in text
    with pytest.raises(ValidationFailed):
        TEnvKeys(uid=1, api_key="a").model_copy(update={"uid": "not an int"})


def test_undecodable_and_unencodable_secrets_raise_clean_keyspace_errors(ring: Keyring) -> None:
    mapper = Mapper.from_url("memory://", keyring=ring)
    raw = mapper.clients["app"]
    secret_bytes = b"\xff\xfe" + SECRET.encode()
    raw.hset("t:env:1:api:keys", "api_key", ring.seal(secret_bytes, "enc_v1:"))
    with pytest.raises(CorruptValue) as info:
        mapper.get(TEnvKeys, uid=1)
    assert info.value.__context__ is None and info.value.__cause__ is None
    _assert_clean(info.value, SECRET)
    with pytest.raises(ValidationFailed) as failed:
        mapper.save(TEnvKeys(uid=2, api_key=SECRET + "\ud800"))
    _assert_clean(failed.value, SECRET)
    assert not raw.exists("t:env:2:api:keys")  # nothing written


def test_a_real_server_holds_the_same_forms(redis_url: str, key: str, ring: Keyring) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    with Mapper.from_url(redis_url, keyring=ring) as mapper:
        mapper.save(TEnvKeys(uid=9, api_key=SECRET))
        assert app_read(client.hget("t:env:9:api:keys", "api_key").decode(), key) == SECRET
        client.hset("t:env:8:api:keys", "api_key", app_encrypt(SECRET, key))
        assert mapper.get(TEnvKeys, uid=8).api_key.get_secret_value() == SECRET
