"""``keyspace stats`` on a real redis-server: every secret counted by its stored form (with a key, and by
shape without one), keys failing their model's key types named, corrupt keys named, each secret
classified once, on Mapper and AsyncMapper alike."""

from __future__ import annotations

import json

import redis

from keyspace import Keyring, generate_key
from keyspace.ops.stats import KeyspaceStats, collect_stats
from tests.inspect_support import (
    UID,
    UID2,
    CountingKeyring,
    async_mapper,
    deep_json,
    registry,
    seal,
    server_url,
    sync_mapper,
)

__all__ = ["server_url"]  # fixture

CURRENT, OLD, STRANGER = generate_key(), generate_key(), generate_key()


def seed_forms(r: redis.Redis) -> None:
    """One key per stored form of an Encrypted field, and GRID's plaintext-by-policy hashes."""
    current, old, stranger = Keyring(CURRENT), Keyring(OLD), Keyring(STRANGER)
    forms = {
        "500000000000000011": (seal(current, "k"), seal(current, "s")),  # current, current
        "500000000000000012": (b"plain-key", seal(current, "s")),  # legacy plaintext (the bot's writer)
        "500000000000000013": (seal(old, "k"), seal(current, "s")),  # under a retired key
        "500000000000000014": (current.encrypt(b"k"), seal(current, "s")),  # a bare token
        "500000000000000015": (seal(current, seal(current, "k").decode()), b""),  # nested; empty
        "500000000000000016": (seal(stranger, "k"), seal(current, "s")),  # verified by no key
        "500000000000000017": (b"b'" + current.encrypt(b"k") + b"'", seal(current, "s")),  # suspicious
    }
    for uid, (api_key, api_secret) in forms.items():
        r.hset(f"t:user:{uid}:api:keys", mapping={"api_key": api_key, "api_secret": api_secret})
    # GRID keeps secrets in plaintext by policy; one value there was encrypted by someone
    r.hset(f"t:okx:user:{UID}", mapping={"api_key": "grid-key", "password": "grid-pw"})
    r.hset(f"t:okx:user:{UID2}", mapping={"api_key": seal(current, "grid-key")})


def test_every_secret_form_is_counted_per_family_with_a_key(server_url: str) -> None:
    with sync_mapper(server_url, Keyring(CURRENT, [OLD])) as mapper:
        seed_forms(mapper.clients["app"])
        stats = collect_stats(mapper, registry=registry())
    keys = stats.models["Keys"]
    values = keys.encrypted.values
    assert values["plaintext"] == 1 and values["old"] == 1 and values["bare"] == 1
    assert values["nested"] == 1 and values["empty"] == 1 and values["undecryptable"] == 1
    assert values["suspicious"] == 1
    assert values["current"] == 1 + 6  # the first api_key, and six sealed api_secrets
    assert keys.plaintext == 1 and keys.undecryptable == 1 and keys.old_key == 1
    assert keys.problem_keys["encrypted:plaintext"] == ["t:user:500000000000000012:api:keys"]
    assert keys.problem_keys["encrypted:undecryptable"] == ["t:user:500000000000000016:api:keys"]
    grid = stats.models["GridUser"]
    assert grid.masked.values["plaintext"] == 2 and grid.policy_plaintext == 1  # values, keys
    assert grid.masked.values["token"] == 1
    assert keys.corrupt == 0 and grid.corrupt == 0  # unreadable secrets are counted by form, not "corrupt"
    data = json.loads(json.dumps(stats.as_dict()))
    assert data["verified"] is True and data["totals"]["plaintext"] == 1
    assert data["totals"]["policy_plaintext"] == 1 and data["fingerprints"] == list(
        mapper.ctx.keyring.fingerprints
    )


def test_without_a_key_plaintext_and_tokens_are_told_apart_by_shape(server_url: str) -> None:
    """Before: stats without ENCRYPTION_KEY reported 0 plaintext secrets, though a value that is not an
    envelope or a token is plaintext whatever the key (``shared/security/encryption.py:141-146``)."""
    with sync_mapper(server_url, None) as mapper:
        seed_forms(mapper.clients["app"])
        stats = collect_stats(mapper, registry=registry())
    values = stats.models["Keys"].encrypted.values
    assert stats.verified is False and stats.fingerprints == ()
    assert values["plaintext"] == 1 and values["empty"] == 1 and values["suspicious"] == 1
    assert values["bare"] == 1  # the bare token, not verified
    assert values["enveloped"] == 10  # every enveloped value, unverified (no current/old/undecryptable)
    assert not values["current"] and not values["undecryptable"] and not values["old"]
    assert stats.models["Keys"].plaintext == 1
    assert stats.models["GridUser"].masked.values["plaintext"] == 2
    assert stats.models["Keys"].corrupt == 0  # unverified secrets do not make a record corrupt


def test_each_secret_is_decrypted_once(server_url: str) -> None:
    """Before: stats classified every secret to count it, then decrypted it again to decode the record."""
    keyring = CountingKeyring(CURRENT)
    with sync_mapper(server_url, keyring) as mapper:
        r = mapper.clients["app"]
        for i in range(20):
            r.hset(
                f"t:user:5000000000000001{i:02d}:api:keys",
                mapping={"api_key": seal(keyring, "k"), "api_secret": "p"},
            )
        r.set(f"t:user:{UID}:profile", json.dumps({"token": seal(keyring, "t").decode(), "name": "x"}))
        keyring.calls = 0
        stats = collect_stats(mapper, registry=registry())
    assert keyring.calls == 20 * 2 + 1  # one classification per stored secret value
    assert stats.models["Keys"].encrypted.values["current"] == 20
    assert stats.models["Profile"].encrypted.values["current"] == 1 and stats.models["Profile"].corrupt == 0


def test_keys_that_fail_a_models_key_types_are_counted_and_named(server_url: str) -> None:
    """Before: keys in a model's SCAN pattern whose key fields fail their types were counted nowhere."""
    with sync_mapper(server_url, Keyring(CURRENT)) as mapper:
        r = mapper.clients["app"]
        r.hset(f"t:user:{UID}:api:keys", mapping={"api_key": "p", "api_secret": "q"})
        r.hset("t:user:50000000000001:api:keys", "api_key", "14 digits")  # 14-digit uid
        r.hset("t:user:050000000000000001:api:keys", "api_key", "leading zero")
        r.hset("t:user:5000000000000abcde:api:keys", "api_key", "letters")
        r.hset(b"t:user:\xff\xfe:api:keys", "api_key", "not utf-8")
        r.set("t:unrelated", "x")
        stats = collect_stats(mapper, registry=registry())
    keys = stats.models["Keys"]
    assert keys.keys == 1 and keys.mistyped == 4
    named = set(keys.problem_keys["mistyped"])
    assert named == {
        "t:user:50000000000001:api:keys",
        "t:user:050000000000000001:api:keys",
        "t:user:5000000000000abcde:api:keys",
        "t:user:\\xff\\xfe:api:keys",
    }
    assert "not valid UTF-8" in keys.reasons["t:user:\\xff\\xfe:api:keys"]
    assert "uid" in keys.reasons["t:user:50000000000001:api:keys"]
    assert stats.unowned["app"] == 1 and stats.unowned_samples["app"] == ["t:unrelated"]  # no model: apart


def test_a_deeply_nested_json_value_is_one_corrupt_key_named(server_url: str) -> None:
    """Before: a 200 KB deeply nested JSON value aborted stats/show with an error naming no key."""
    with sync_mapper(server_url, Keyring(CURRENT)) as mapper:
        r = mapper.clients["app"]
        r.set(f"t:user:{UID}:settings", deep_json())
        r.set(f"t:user:{UID}:profile", deep_json())  # a model with an Encrypted field (its census parses it)
        r.set(f"t:user:{UID2}:settings", json.dumps({"ok": True}))
        stats = collect_stats(mapper, registry=registry())
    for model in ("Settings", "Profile"):
        assert stats.models[model].corrupt == 1
        (key,) = stats.models[model].problem_keys["corrupt"]
        assert key.startswith(f"t:user:{UID}:") and "nested too deeply" in stats.models[model].reasons[key]
    assert stats.models["Settings"].keys == 2


def test_stats_run_the_same_on_the_async_mapper(server_url: str) -> None:
    import asyncio

    with sync_mapper(server_url, Keyring(CURRENT, [OLD])) as mapper:
        seed_forms(mapper.clients["app"])
        expected = collect_stats(mapper, registry=registry()).as_dict()

    async def run() -> KeyspaceStats:
        async with async_mapper(server_url, Keyring(CURRENT, [OLD])) as amapper:
            return await collect_stats(amapper, registry=registry())

    got = asyncio.run(run()).as_dict()
    assert got["models"] == expected["models"] and got["totals"] == expected["totals"]


def test_models_are_reported_in_the_registrys_order_not_scans(server_url: str) -> None:
    """Before: the table listed models in the order SCAN first met one of their keys, which changes with
    the server's rehashing; CI saw the sync and the asyncio run of the same data disagree. Registered in
    both orders, SCAN's order must lose at least once if it still decided."""
    from keyspace.core.registry import Registry

    with sync_mapper(server_url, Keyring(CURRENT, [OLD])) as mapper:
        seed_forms(mapper.clients["app"])
        specs = [s for s in registry() if s.name in ("Keys", "GridUser")]
        for order in (specs, specs[::-1]):
            reg = Registry()
            for spec in order:
                reg.add(spec)
            stats = collect_stats(mapper, registry=reg)
            assert list(stats.models) == [s.name for s in order]
            assert [m["model"] for m in stats.as_dict()["models"]] == [s.name for s in order]


def test_a_sample_says_it_is_one_and_ttl_policies_are_judged(server_url: str) -> None:
    with sync_mapper(server_url, Keyring(CURRENT)) as mapper:
        r = mapper.clients["app"]
        for i in range(300):
            r.set(f"t:user:6000000000000{i:05d}:session", "x")  # TTL policy 3600: persistent = mismatch
        r.set(f"t:user:{UID}:session", "y", ex=3600)
        full = collect_stats(mapper, registry=registry(), batch=50)
        part = collect_stats(mapper, registry=registry(), batch=50, sample=100)
    assert (
        full.everything and full.models["Session"].ttl_mismatch == 300 and full.models["Session"].keys == 301
    )
    assert part.sampled and not part.everything and part.complete == {"app": False, "celery": True}
    assert 100 <= part.scanned["app"] < 301


def test_two_runs_over_the_same_data_report_the_same_samples(server_url: str) -> None:
    """Before: the sample keys were the first 20 SCAN met, so a server that rehashed in between (here:
    3,000 keys written and deleted) showed other samples for the same data (hostile review). Only the
    memory estimate may differ: it is measured on the first keys met."""
    import time

    with sync_mapper(server_url, Keyring(CURRENT)) as mapper:
        r = mapper.clients["app"]
        for i in range(25):
            r.set(f"t:user:5000000000000000{i:02d}:settings", "{not json")
        for i in range(25):
            r.set(f"nobody:{i:02d}", "x")  # keys of no model: their samples too

        def run() -> dict[str, object]:
            data = collect_stats(mapper, registry=registry()).as_dict()
            for row in data["models"]:
                row.pop("memory_estimate_bytes")
            return data

        first = run()
        r.mset({f"filler:{i}": 1 for i in range(3000)})
        r.delete(*[f"filler:{i}" for i in range(3000)])
        time.sleep(0.3)  # let serverCron resize the table
        second = run()
    (settings,) = [row for row in first["models"] if row["model"] == "Settings"]
    assert settings["corrupt"] == 25
    assert settings["problem_keys"]["corrupt"] == sorted(settings["problem_keys"]["corrupt"])
    assert len(settings["problem_keys"]["corrupt"]) == 20
    assert settings["problem_keys"]["corrupt"][0] == "t:user:500000000000000000:settings"
    assert first["models"] == second["models"]
    assert first["unowned_samples"] == second["unowned_samples"]
