"""Encryption-key safety and migration 0001's rules, on a real redis-server, sync and asyncio.

Secrets are built from the application's rules (tests/tradingboost_app.py: ``enc_v1:`` +
Fernet token, ``shared/security/encryption.py:45``, ``:101-105``; the reader passes any
value without the exact prefix through unchanged, ``:141-146``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from keyspace import (
    EncryptFields,
    Keyring,
    Mapper,
    MigrationError,
    Registry,
    Runner,
    TransformValues,
    generate_key,
)
from keyspace.core.membership import classify_scanned_key
from keyspace.ops.migrate.state import APPLIED, LOCK, checkpoint_key
from tests.migrate_support import (
    ENCRYPT_0001,
    SUSPICIOUS,
    Flavour,
    MDoc,
    MGrid,
    MKeys,
    bare,
    current,
    flavours,
    migrations_dir,
    nested,
    raw_client,
    registry,
    snapshot,
    token_time,
)
from tests.tradingboost_app import app_read


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    yield from raw_client(redis_url)


@pytest.fixture(params=["sync", "asyncio"])
def flavour(request: pytest.FixtureRequest, redis_url: str, raw: redis.Redis) -> Iterator[Flavour]:
    yield from flavours(request.param, redis_url)


UID = 500_000_000_000_000_000
SECRET = "s3cr3t-api-value"


def uid(i: int) -> str:
    return str(UID + i)


def runner_for(flavour, keyring, tmp_path: Path, **options):  # type: ignore[no-untyped-def]
    return flavour.runner(
        keyring, registry=registry(), directory=migrations_dir(tmp_path, ENCRYPT_0001), **options
    )


def seed_forms(r: redis.Redis, key: str, old: str, other: str) -> dict[str, tuple[str, str]]:
    """One MKeys hash per stored form (api_key), one MDoc per form, MGrid masked; -> key: (form, secret)."""
    forms: dict[str, tuple[str, str]] = {}
    values = {
        "plaintext": lambda s: s,
        "current": lambda s: current(s, key),
        "old": lambda s: current(s, old),
        "bare": lambda s: bare(s, key),
        "bare_old": lambda s: bare(s, old),
        "nested": lambda s: nested(s, key),
        "empty": lambda s: "",
        "undecryptable": lambda s: current(s, other),
        **{f"suspicious_{n}": (lambda s, f=f: f(s, key)) for n, f in SUSPICIOUS.items()},
    }
    for i, (form, make) in enumerate(values.items(), start=1):
        secret = f"{SECRET}-{form}"
        k = f"mk:{uid(i)}:keys"
        r.hset(k, mapping={"api_key": make(secret), "note": f"n{i}"})
        if i % 2:
            r.expire(k, 5000)  # a TTL the migration must keep
        forms[k] = (form, secret)
        d = f"md:{i}:doc"
        r.set(d, json.dumps({"token": make(secret), "other": "ü"}, ensure_ascii=False))
        forms[d] = (form, secret)
    r.hset("mg:1:grid", mapping={"api_key": "grid-plaintext-by-policy"})
    return forms


def stored(r: redis.Redis, key: str) -> bytes:
    """The api_key of an MKeys hash or the token of an MDoc document, as stored."""
    if key.startswith("mk:"):
        return r.hget(key, "api_key")
    return json.loads(r.get(key))["token"].encode()


FORM_OF = {
    "plaintext": "plaintext",
    "current": "current",
    "old": "old",
    "bare": "bare",
    "bare_old": "bare",
    "nested": "nested",
    "empty": "empty",
    "undecryptable": "undecryptable",
    **{f"suspicious_{n}": "suspicious" for n in SUSPICIOUS},
}


def test_plan_counts_every_stored_form_per_family_and_writes_nothing(flavour, raw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key, old, other = generate_key(), generate_key(), generate_key()
    forms = seed_forms(raw, key, old, other)
    before = snapshot(raw)
    reports = flavour.do(runner_for(flavour, Keyring(key, [old]), tmp_path).plan())
    report = reports["mig/0001"]
    expected: dict[str, int] = {}
    for form, _ in forms.values():
        expected[FORM_OF[form]] = expected.get(FORM_OF[form], 0) + 1
    half = {f: n // 2 for f, n in expected.items()}  # each form once in MKeys, once in MDoc
    assert dict(report.forms["MKeys"]) == half and dict(report.forms["MDoc"]) == half
    assert dict(report.forms["MGrid"]) == {"masked": 1}  # plaintext by policy, counted apart
    # what up would change: plaintext, bare (both), nested - in both families
    assert report.changed == 2 * 4
    assert report.skipped == {"undecryptable": 2, "suspicious": 2 * len(SUSPICIOUS)}
    assert snapshot(raw) == before and raw.exists(APPLIED, LOCK, "keyspace:keyring:canary") == 0


def test_up_brings_every_form_to_the_declared_form_keeping_what_the_app_reads(  # type: ignore[no-untyped-def]
    flavour, raw, tmp_path: Path
) -> None:
    key, old, other = generate_key(), generate_key(), generate_key()
    forms = seed_forms(raw, key, old, other)
    before = {k: raw.dump(k) for k in forms}
    times = {k: token_time(stored(raw, k)) for k, (f, _) in forms.items() if f.startswith("bare")}
    ttl_before = {k: raw.ttl(k) for k in forms}
    ring = Keyring(key, [old])
    report = flavour.do(runner_for(flavour, ring, tmp_path, batch=3).up())["mig/0001"]
    assert not report.ok and "mig/0001" not in flavour.do(runner_for(flavour, ring, tmp_path).applied())
    assert report.changed == 8
    for k, (form, secret) in forms.items():
        value = stored(raw, k)
        if form in ("plaintext", "bare", "bare_old", "nested"):
            assert ring.classify(value, "enc_v1:").kind == "current", (k, form)
            assert app_read(value.decode(), key) == secret  # the application reads the same secret
            assert raw.ttl(k) >= ttl_before[k] - 5 and (raw.ttl(k) < 0) == (ttl_before[k] < 0)  # TTL kept
        else:
            assert raw.dump(k) == before[k], (k, form)  # current, old, empty, undecryptable, suspicious
    for k, t in times.items():
        assert token_time(stored(raw, k)) == t  # a bare token keeps its timestamp (reseal)
    assert raw.hget("mg:1:grid", "api_key") == b"grid-plaintext-by-policy"  # Masked: never encrypted
    bad = {k for k, (f, _) in forms.items() if f == "undecryptable" or f.startswith("suspicious")}
    assert set(report.errors["undecryptable"]) | set(report.errors["suspicious"]) == bad
    # idempotent: a second run changes nothing
    again = flavour.do(runner_for(flavour, ring, tmp_path).up())["mig/0001"]
    assert again.changed == 0 and again.skipped == report.skipped


def test_suspicious_values_are_never_encrypted_again(flavour, raw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = generate_key()
    for i, make in enumerate(SUSPICIOUS.values(), start=1):
        raw.hset(f"mk:{uid(i)}:keys", mapping={"api_key": make(SECRET, key), "api_secret": "plain"})
    before = {k: raw.hget(k, "api_key") for k in raw.scan_iter("mk:*")}
    report = flavour.do(runner_for(flavour, Keyring(key), tmp_path).up())["mig/0001"]
    assert report.skipped["suspicious"] == len(SUSPICIOUS)
    assert sorted(report.errors["suspicious"]) == sorted(k.decode() for k in before)
    for k, value in before.items():
        assert raw.hget(k, "api_key") == value  # left untouched: no double encryption
        assert raw.hget(k, "api_secret").startswith(b"enc_v1:")  # the clean plaintext beside it is encrypted


def test_read_equivalence_refuses_a_write_that_changes_the_secret(flavour, raw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = generate_key()
    ring = Keyring(key)
    raw.hset(f"mk:{uid(1)}:keys", mapping={"api_key": "plain-1"})
    raw.hset(f"mk:{uid(2)}:keys", mapping={"api_key": current("plain-2", key)})

    class WrapsTwice(EncryptFields):
        """A format mistake: an envelope around an enveloped token (what the app writer does)."""

        def transform(self, keyring, verdict, stored, envelope):  # type: ignore[no-untyped-def]
            if verdict.kind == "plaintext":
                return keyring.seal(keyring.seal(stored, envelope), envelope), None
            return None, None

    def to_plaintext(fields: dict[str, bytes]) -> dict[str, bytes]:
        # key 1: another secret; key 2: its own secret, decrypted (the application would read it
        # the same, but a transform must not store an encrypted secret in plaintext)
        return {"api_key": b"plain-2"}

    before = snapshot(raw)
    runner = flavour.runner(ring, registry=registry(MKeys))
    report = flavour.do(runner.run_operations([WrapsTwice(models=["MKeys"])], run_id="broken"))
    assert report.skipped == {"read_equivalence": 1} and report.changed == 0
    assert report.errors["read_equivalence"] == [f"mk:{uid(1)}:keys"]
    assert any("nested" in note for note in report.notes)
    report = flavour.do(runner.run_operations([TransformValues("MKeys", to_plaintext)], run_id="t"))
    assert report.skipped == {"read_equivalence": 2} and report.changed == 0
    assert any("in plaintext" in note for note in report.notes)
    assert snapshot(raw) == before


def test_wrong_key_refuses_before_anything_is_written(flavour, raw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    right, wrong = generate_key(), generate_key()
    for i in range(1, 41):  # the application's tokens, and legacy plaintext awaiting encryption
        value = current(f"s-{i}", right) if i % 4 == 0 else f"s-{i}"
        raw.hset(f"mk:{uid(i)}:keys", mapping={"api_key": value})
    before = snapshot(raw)
    with pytest.raises(MigrationError, match="verify under none of the configured keys"):
        flavour.do(runner_for(flavour, Keyring(wrong), tmp_path).up())
    assert snapshot(raw) == before  # nothing encrypted under the wrong key: the plaintext is intact
    assert raw.exists(APPLIED, LOCK, checkpoint_key("mig/0001"), "keyspace:keyring:canary") == 0
    # the per-batch check: no sample, one batch holding both kinds -> stops before writing it
    with pytest.raises(MigrationError, match="not one verifies"):
        flavour.do(runner_for(flavour, Keyring(wrong), tmp_path, sample=0, batch=1000).up())
    assert snapshot(raw) == before
    # the right key goes through
    report = flavour.do(runner_for(flavour, Keyring(right), tmp_path).up())["mig/0001"]
    assert report.ok and report.changed == 30


def test_key_canary_guards_a_keyspace_without_tokens(flavour, raw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, stranger, newer = generate_key(), generate_key(), generate_key()
    raw.hset(f"mk:{uid(1)}:keys", mapping={"api_key": "plain-1"})
    report = flavour.do(runner_for(flavour, Keyring(first), tmp_path).up())["mig/0001"]
    assert report.ok and any("wrote the key canary" in n for n in report.notes)
    # no tokens to sample now: a run with another key is refused by the canary alone
    raw.hdel(f"mk:{uid(1)}:keys", "api_key")
    raw.hset(f"mk:{uid(2)}:keys", mapping={"api_key": "plain-2"})
    raw.hdel(APPLIED, "mig/0001")
    before = snapshot(raw)
    with pytest.raises(
        MigrationError, match=rf"canary .*sealed under key {Keyring(first).current_fingerprint}"
    ):
        flavour.do(runner_for(flavour, Keyring(stranger), tmp_path).up())
    assert snapshot(raw) == before
    # rotating to a new key (old key configured) reseals it; then the new key alone is accepted
    rotated = flavour.do(runner_for(flavour, Keyring(newer, [first]), tmp_path).rotate_keys())
    assert any("resealed the key canary" in n for n in rotated.notes)
    report = flavour.do(runner_for(flavour, Keyring(newer), tmp_path).up())["mig/0001"]
    assert report.ok and report.changed == 1
    result = flavour.do(runner_for(flavour, Keyring(newer), tmp_path).verify())
    assert result["canary"] == "current" and result["ok"]


def test_key_type_misfits_are_counted_named_and_fail_verify(flavour, raw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = generate_key()
    ring = Keyring(key)
    raw.hset(f"mk:{uid(1)}:keys", mapping={"api_key": "fine"})
    misfits = {
        "mk:12345678901234:keys": "plain",  # 14 digits where 15-20 are declared
        "mk:0123456789012345678:keys": "plain",  # a leading zero
        "mk:abcdefabcdefabcdef:keys": "plain",  # letters
        "mk:5000:0000000000000:keys": "plain",  # a ':' inside the id
    }
    for k, v in misfits.items():
        raw.hset(k, mapping={"api_key": v})
    undecodable = b"mk:\xff\xfe5000000000000000:keys"
    raw.hset(undecodable, mapping={"api_key": "plain"})
    raw.hset("mk:77:keys", mapping={"api_key": current("already-current", key)})  # a misfit, no problem
    names = {*misfits, undecodable.decode("utf-8", "backslashreplace"), "mk:77:keys"}
    plan = flavour.do(runner_for(flavour, ring, tmp_path).plan())["mig/0001"]
    assert plan.key_types == {"MKeys": 6} and set(plan.key_type_samples["MKeys"]) == names
    before = {k: raw.dump(k) for k in [*misfits, undecodable]}
    report = flavour.do(runner_for(flavour, ring, tmp_path).up())["mig/0001"]
    assert report.key_types == {"MKeys": 6}
    assert report.skipped == {"key_types": 5} and "mk:77:keys" not in report.errors["key_types"]
    assert {k: raw.dump(k) for k in before} == before  # never touched: not the model's keys
    assert "mig/0001" not in flavour.do(runner_for(flavour, ring, tmp_path).applied())
    result = flavour.do(runner_for(flavour, ring, tmp_path).verify())
    assert not result["ok"] and result["key_types"] == {"MKeys": 6}
    assert set(result["problems"]["key_types"]) == names - {"mk:77:keys"}


def test_classify_scanned_key_is_pure_and_names_the_owner() -> None:
    reg = registry()
    spec = MKeys.__keyspace__
    assert classify_scanned_key(spec, f"mk:{uid(1)}:keys", reg).membership == "belongs"
    for key in ("mk:123:keys", b"mk:\xff:keys", "mk:a:b:keys", "mk:01234567890123456:keys"):
        assert classify_scanned_key(spec, key, reg).membership == "fails_key_types", key
    other = classify_scanned_key(MDoc.__keyspace__, "mg:1:grid", reg)
    assert other.membership == "not_this_model"
    wide = Registry()
    wide.add(MKeys.__keyspace__)
    assert classify_scanned_key(MGrid.__keyspace__, f"mk:{uid(1)}:keys", wide).owner == "MKeys"


def test_a_migration_that_targets_no_model_refuses_and_records_nothing(flavour, raw) -> None:  # type: ignore[no-untyped-def]
    shipped = Path(__file__).resolve().parent.parent / "migrations"
    runner = flavour.runner(Keyring(generate_key()), registry=Registry(), directory=shipped)
    with pytest.raises(
        MigrationError, match=r"targets model 'UserApiKeys', which the schema does not declare"
    ):
        flavour.do(runner.up())
    assert raw.exists(APPLIED, LOCK, "keyspace:keyring:canary") == 0 and not list(raw.scan_iter("keyspace:*"))
    with pytest.raises(MigrationError, match="targets no model"):
        flavour.do(flavour.runner(Keyring(generate_key()), registry=Registry()).verify())
    with pytest.raises(MigrationError, match="looked for every model with a TTL policy"):
        flavour.do(flavour.runner(None, registry=Registry()).apply_ttl_policy())


# --- rotation interrupted by SIGKILL, resumed with another target key ----------------------------

ROTATE = textwrap.dedent(
    """
    import sys
    from keyspace import Keyring, Mapper, Runner
    from tests.migrate_support import registry
    url, new, old = sys.argv[1:4]
    mapper = Mapper.from_url(url, keyring=Keyring(new, [old]))
    Runner(mapper, registry=registry(), batch=20, rate=400).rotate_keys()
    """
)


def test_rotation_resumed_towards_another_key_restarts_and_counts_only_verified_writes(
    redis_url: str, raw: redis.Redis
) -> None:
    a, b, c = generate_key(), generate_key(), generate_key()
    n = 1500
    pipe = raw.pipeline(transaction=False)
    for i in range(1, n + 1):
        pipe.hset(f"mk:{uid(i)}:keys", mapping={"api_key": current(f"s-{i}", a)})
    pipe.execute()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-c", ROTATE, redis_url, b, a], env=env, stderr=subprocess.PIPE)
    under_b = Keyring(b)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until part of the keyspace is under B
        sample = [raw.hget(f"mk:{uid(i)}:keys", "api_key") for i in range(1, n + 1, 50)]
        if sum(under_b.classify(v, "enc_v1:").kind == "current" for v in sample) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert raw.exists(checkpoint_key("rotate-keys")) == 1
    partial = sum(
        under_b.classify(raw.hget(k, "api_key"), "enc_v1:").kind == "current" for k in raw.scan_iter("mk:*")
    )
    assert 0 < partial < n
    raw.delete(LOCK)  # the killed runner's lease (or wait for it to expire)
    mapper = Mapper.from_url(redis_url, keyring=Keyring(c, [a]))
    with pytest.raises(MigrationError, match=rf"canary .*{under_b.current_fingerprint}"):
        Runner(mapper, registry=registry()).rotate_keys()  # B is not configured: refused, nothing written
    mapper = Mapper.from_url(redis_url, keyring=Keyring(c, [a, b]))
    report = Runner(mapper, registry=registry()).rotate_keys()
    assert any("discarded the checkpoint" in note and "towards key" in note for note in report.notes)
    only_c = Keyring(c)
    values = [raw.hget(k, "api_key") for k in raw.scan_iter("mk:*")]
    assert len(values) == n and all(only_c.classify(v, "enc_v1:").kind == "current" for v in values)
    assert report.ok and report.changed == n and report.scanned == n  # every key, counted once
    for i in (1, 700, n):
        assert app_read(raw.hget(f"mk:{uid(i)}:keys", "api_key").decode(), c) == f"s-{i}"
    assert Runner(mapper, registry=registry()).verify()["ok"]
