"""Encrypted fields: compatibility with the application's Fernet tokens, strict classification, no leaks."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from keyspace import (
    EncryptionKeyMissing,
    KeyConfigError,
    Keyring,
    Mapper,
    PlaintextSecret,
    UndecryptableValue,
    ValidationFailed,
    generate_key,
)
from keyspace.core.crypto import fingerprint, well_formed_token
from tests.async_facade import sibling
from tests.models_for_tests import TSecretDoc, TSecrets, TSecretString

SECRET = "S3cr3t-Value-0987"
KEY = "t:user:1:api:keys"
# Copies of ../shared/testdata/fernet (the public Fernet spec vectors).
TESTDATA = Path(__file__).resolve().parent / "data" / "fernet"


def secrets(**over: object) -> TSecrets:
    values: dict[str, object] = dict(uid=1, api_key="ak-123", api_secret=SECRET, passphrase="pp-456")
    values.update(over)
    return TSecrets(**values)  # type: ignore[arg-type]


def vectors(name: str) -> list[dict[str, object]]:
    return json.loads((TESTDATA / name).read_text())


@pytest.mark.parametrize("name", ["generate.json", "verify.json"])
def test_fernet_spec_vectors_decrypt_through_keyspace(name: str) -> None:
    for vector in vectors(name):
        keyring = Keyring(str(vector["secret"]))
        verdict = keyring.classify(str(vector["token"]).encode())
        assert verdict.kind == "current"
        assert verdict.plaintext == str(vector["src"]).encode()


def test_tokens_keyspace_writes_decrypt_with_plain_fernet(
    mapper: Mapper, raw: redis.Redis, keyring: Keyring
) -> None:
    from tests.conftest import TEST_KEY

    mapper.save(secrets())
    stored = raw.hgetall(KEY)
    assert set(stored) == {b"api_key", b"api_secret", b"passphrase"}  # label: a default, never set
    assert stored[b"api_secret"].startswith(b"gAAAAA") and well_formed_token(stored[b"api_secret"])
    assert Fernet(TEST_KEY.encode()).decrypt(stored[b"api_secret"]) == SECRET.encode()
    assert SECRET.encode() not in b"".join(stored.values())
    got = mapper.get(TSecrets, uid=1)
    assert got.api_secret.get_secret_value() == SECRET


def test_json_and_string_models_encrypt_too(mapper: Mapper, raw: redis.Redis) -> None:
    from tests.conftest import TEST_KEY

    mapper.save(TSecretDoc(uid=1, pin=4321, name="n"))
    doc = json.loads(raw.get("t:user:1:secret_doc"))
    assert doc["name"] == "n" and Fernet(TEST_KEY.encode()).decrypt(doc["pin"].encode()) == b"4321"
    assert mapper.get(TSecretDoc, uid=1).pin.get_secret_value() == 4321
    mapper.save(TSecretString(uid=1, otp=SECRET))
    assert Fernet(TEST_KEY.encode()).decrypt(raw.get("t:user:1:otp")) == SECRET.encode()
    assert mapper.get(TSecretString, uid=1).otp.get_secret_value() == SECRET


def test_old_key_tokens_are_read(raw: redis.Redis, mapper: Mapper) -> None:
    old = generate_key()
    raw.hset(
        KEY,
        mapping={
            f: Fernet(old.encode()).encrypt(b"v-" + f.encode())
            for f in ("api_key", "api_secret", "passphrase")
        },
    )
    rotated = sibling(mapper, keyring=Keyring(generate_key(), [old]))
    got = rotated.get(TSecrets, uid=1)
    assert got.api_key.get_secret_value() == "v-api_key"
    assert rotated.ctx.events["old_key"] == 3
    assert rotated.ctx.keyring is not None
    assert rotated.ctx.keyring.classify(raw.hget(KEY, "api_key")).kind == "old"


def test_rotate_keeps_the_timestamp() -> None:
    old, new = generate_key(), generate_key()
    token = Fernet(old.encode()).encrypt_at_time(b"x", 1_700_000_000)
    keyring = Keyring(new, [old])
    rotated = keyring.rotate(token)
    assert Fernet(new.encode()).extract_timestamp(rotated) == 1_700_000_000
    assert keyring.classify(rotated).kind == "current"


def test_plaintext_is_allowed_and_counted(
    raw: redis.Redis, mapper: Mapper, caplog: pytest.LogCaptureFixture
) -> None:
    raw.hset(KEY, mapping={"api_key": "legacy-key", "api_secret": SECRET, "passphrase": "legacy-pass"})
    seen: list[tuple[str, str, str]] = []
    mapper.ctx.on_plaintext = lambda *where: seen.append(where)
    with caplog.at_level(logging.WARNING, logger="keyspace.secrets"):
        got = mapper.get(TSecrets, uid=1)
    assert got.api_secret.get_secret_value() == SECRET
    assert mapper.ctx.events["plaintext"] == 3
    assert ("TSecrets", KEY, "api_secret") in seen
    assert any(r.getMessage() == "plaintext secret read" for r in caplog.records)
    assert SECRET not in caplog.text and all(SECRET not in str(r.__dict__) for r in caplog.records)


def test_plaintext_is_refused_under_forbid(raw: redis.Redis, mapper: Mapper) -> None:
    raw.hset(KEY, mapping={"api_key": "legacy", "api_secret": SECRET, "passphrase": "p"})
    mapper.ctx.plaintext_reads = "forbid"
    with pytest.raises(PlaintextSecret) as info:
        mapper.get(TSecrets, uid=1)
    assert (info.value.model, info.value.key) == ("TSecrets", KEY)
    assert info.value.field in {"api_key", "api_secret", "passphrase"}
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "stored",
    [
        b"gAAAAAthis-is-not-a-token",  # token-shaped garbage
        None,  # truncated token (filled in below)
        None,  # token under an unknown key
    ],
    ids=["garbage", "truncated", "unknown-key"],
)
def test_undecryptable_values_are_refused(
    raw: redis.Redis, mapper: Mapper, stored: bytes | None, request: pytest.FixtureRequest
) -> None:
    foreign = Fernet(generate_key().encode()).encrypt(SECRET.encode())
    if request.node.callspec.id.startswith("truncated"):
        assert mapper.ctx.keyring is not None
        stored = mapper.ctx.keyring.encrypt(SECRET.encode())[:-10]
    elif stored is None:
        stored = foreign
    raw.hset(KEY, mapping={"api_key": stored, "api_secret": stored, "passphrase": stored})
    with pytest.raises(UndecryptableValue) as info:
        mapper.get(TSecrets, uid=1)
    assert info.value.key == KEY and info.value.model == "TSecrets"
    assert info.value.fingerprints == mapper.ctx.keyring.fingerprints  # type: ignore[union-attr]
    assert mapper.ctx.keyring.current_fingerprint in str(info.value)  # type: ignore[union-attr]
    assert raw.hget(KEY, "api_key") == stored  # untouched


def test_wrong_encryption_key_reads_nothing(raw: redis.Redis, mapper: Mapper) -> None:
    mapper.save(secrets())
    wrong = sibling(mapper, keyring=Keyring(generate_key()))
    with pytest.raises(UndecryptableValue):
        wrong.get(TSecrets, uid=1)


def test_missing_key_refuses_encrypted_fields_and_writes_nothing(raw: redis.Redis, mapper: Mapper) -> None:
    keyless = sibling(mapper)
    with pytest.raises(EncryptionKeyMissing) as info:
        keyless.save(secrets())
    assert "ENCRYPTION_KEY" in str(info.value) and info.value.model == "TSecrets"
    assert raw.exists(KEY) == 0
    mapper.save(secrets())
    with pytest.raises(EncryptionKeyMissing):
        keyless.get(TSecrets, uid=1)
    from tests.models_for_tests import TStatus

    keyless.save(TStatus(user_id=1, status="running"))  # models without secrets still work
    assert keyless.get(TStatus, user_id=1).status == "running"


def test_non_utf8_and_empty_secrets(raw: redis.Redis, mapper: Mapper) -> None:
    mapper.save(secrets(passphrase=""))
    assert mapper.get(TSecrets, uid=1).passphrase.get_secret_value() == ""
    # An empty secret is stored as "", as the application does: its writer refuses to encrypt an
    # empty value and its reader hands "" back (shared/security/encryption.py:94-95, :137-138).
    assert raw.hget(KEY, "passphrase") == b""
    raw.hset(KEY, "api_key", b"\xff\xfe\x00legacy")
    from keyspace import CorruptValue

    with pytest.raises(CorruptValue) as info:
        mapper.get(TSecrets, uid=1)
    assert info.value.field == "api_key"


def test_secrets_never_leak(
    mapper: Mapper, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    s = secrets()
    shown = [repr(s), str(s), s.model_dump_json(), json.dumps(s.model_dump(mode="json")), f"{s}"]
    assert all(SECRET not in text for text in shown)
    with pytest.raises(ValidationFailed) as info:
        TSecrets(uid=1, api_key="a", api_secret=["not", SECRET], passphrase="p")  # type: ignore[arg-type]
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.errors)
    with pytest.raises(ValidationFailed) as info:
        s.api_secret = 123  # type: ignore[assignment]
    assert SECRET not in str(info.value)
    keyless = sibling(mapper)
    with caplog.at_level(logging.DEBUG), pytest.raises(EncryptionKeyMissing) as missing:
        keyless.save(s)
    assert SECRET not in str(missing.value)
    assert SECRET not in caplog.text
    assert SECRET not in capsys.readouterr().out


def test_key_configuration_errors_never_show_the_key() -> None:
    bad = "definitely-not-a-fernet-key-value"
    with pytest.raises(KeyConfigError) as info:
        Keyring(bad)
    assert "ENCRYPTION_KEY" in str(info.value) and bad not in str(info.value)
    with pytest.raises(KeyConfigError) as info:
        Keyring.from_env({"ENCRYPTION_KEY": generate_key(), "ENCRYPTION_OLD_KEYS": f"{generate_key()},{bad}"})
    assert "ENCRYPTION_OLD_KEYS (entry 2)" in str(info.value) and bad not in str(info.value)
    assert Keyring.from_env({}) is None
    with pytest.raises(KeyConfigError):
        Keyring.from_env({"ENCRYPTION_OLD_KEYS": generate_key()})
    key = generate_key()
    ring = Keyring(key)
    assert key not in repr(ring) and ring.current_fingerprint == fingerprint(key)
    assert len(ring.current_fingerprint) == 8


def test_classification_is_strict() -> None:
    key = generate_key()
    ring = Keyring(key)
    token = ring.encrypt(b"v")
    assert ring.classify(token).kind == "current"
    assert ring.classify(b"plain API secret").kind == "plaintext"
    assert ring.classify(b"").kind == "empty"
    assert ring.classify(token[:-4]).kind == "undecryptable"
    tampered = token[:-6] + (b"A" if token[-6:-5] != b"A" else b"B") + token[-5:]
    assert ring.classify(tampered).kind == "undecryptable"
    assert ring.classify(b"\xff\xfe").kind == "plaintext"
    assert not well_formed_token(b"gAAAAA")
