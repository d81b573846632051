"""``keyspace doctor`` on a real redis-server: it tells the truth about keys, secrets and what it looked
at, its fixes name commands that exist, and per-user checks come from the schema (a hook) with a
generic fallback — on Mapper and AsyncMapper."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

import pytest

from keyspace import Keyring, generate_key
from keyspace.core.programs import Program
from keyspace.io.project import MigrationLocation, Project
from keyspace.ops.doctor import Check, UserChecks, UserContext, run_doctor
from tests.inspect_support import (
    UID,
    UID2,
    async_mapper,
    deep_json,
    registry,
    seal,
    server_url,
    sync_mapper,
)

__all__ = ["server_url"]  # fixture

KEY = generate_key()
NO_CHECKS = UserChecks()  # no per-user checks registered: the tests below choose their own


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def doctor(url: str, keyring: Keyring | None, **options: object) -> dict[str, Check]:
    options.setdefault("registry", registry())
    options.setdefault("checks", NO_CHECKS)
    with sync_mapper(url, keyring) as mapper:
        return by_name(run_doctor(mapper, **options))  # type: ignore[arg-type]


def seed_tokens(url: str, keyring: Keyring, n: int = 3) -> None:
    with sync_mapper(url, None) as mapper:
        r = mapper.clients["app"]
        for i in range(n):
            r.hset(
                f"t:user:50000000000000010{i}:api:keys",
                mapping={"api_key": seal(keyring, "k"), "api_secret": seal(keyring, "s")},
            )


def test_a_wrong_key_is_named_a_failure_with_the_fingerprints_tried(server_url: str) -> None:
    """Before: with a wrong ENCRYPTION_KEY the doctor said "valid …; decrypts the stored secrets"."""
    seed_tokens(server_url, Keyring(KEY))
    wrong = Keyring(generate_key(), [generate_key()])
    checks = doctor(server_url, wrong)
    key = checks["ENCRYPTION_KEY"]
    assert key.status == "fail"
    assert "none of the 6 stored token(s)" in key.message and "decrypts" not in key.message
    assert wrong.current_fingerprint in key.message and wrong.old_fingerprints[0] in key.message
    assert KEY not in repr(checks)  # never a key


def test_the_right_key_says_how_many_tokens_it_verified(server_url: str) -> None:
    seed_tokens(server_url, Keyring(KEY))
    key = doctor(server_url, Keyring(KEY))["ENCRYPTION_KEY"]
    assert key.status == "ok" and "decrypts all 6 stored token(s) among all 3 keys" in key.message


def test_without_a_key_plaintext_is_still_counted_and_tokens_said_unverified(server_url: str) -> None:
    """Before: without a key the doctor said "plaintext secrets: none left" over legacy plaintext."""
    seed_tokens(server_url, Keyring(KEY), n=2)
    with sync_mapper(server_url, None) as mapper:
        mapper.clients["app"].hset(f"t:user:{UID}:api:keys", mapping={"api_key": "plain", "api_secret": "x"})
    checks = doctor(server_url, None)
    assert checks["ENCRYPTION_KEY"].status == "fail"
    assert "4 stored token(s) (4 enveloped, 0 bare) could not be verified" in checks["ENCRYPTION_KEY"].message
    plain = checks["plaintext secrets"]
    assert plain.status == "warn" and plain.message.startswith("2 legacy plaintext value(s)")
    assert f"t:user:{UID}:api:keys" in plain.keys
    assert "`keyspace migrate up`" in plain.fix and "`keyspace migrate verify`" in plain.fix


def test_plaintext_in_every_family_is_reported_and_never_none_left(server_url: str) -> None:
    keyring = Keyring(KEY)
    with sync_mapper(server_url, None) as mapper:
        r = mapper.clients["app"]
        r.hset(f"t:okx:user:{UID}", mapping={"api_key": "grid", "password": "pw"})  # plaintext by policy
        r.hset(
            f"t:user:{UID}:api:keys",
            mapping={"api_key": seal(keyring, "k"), "api_secret": seal(keyring, "s")},
        )
    checks = doctor(server_url, keyring)
    assert checks["plaintext secrets"].status == "ok"  # no *legacy* plaintext in Encrypted fields...
    policy = checks["plaintext by policy"]  # ...but GRID's secrets are plaintext, and said so
    assert (
        policy.status == "warn" and "2 secret value(s) in 1 key(s) are stored in plaintext" in policy.message
    )
    assert "readers" in policy.message and "must decrypt" in policy.fix
    assert not any("none left" in c.message for c in checks.values())


def test_every_mis_stored_form_gets_a_check_and_a_command(server_url: str) -> None:
    current, old, stranger = generate_key(), generate_key(), generate_key()
    keyring = Keyring(current, [old])
    with sync_mapper(server_url, None) as mapper:
        r = mapper.clients["app"]
        r.hset(
            "t:user:500000000000000021:api:keys",
            mapping={"api_key": seal(Keyring(old), "k"), "api_secret": "p"},
        )
        r.hset("t:user:500000000000000022:api:keys", "api_key", Keyring(current).encrypt(b"bare"))
        r.hset("t:user:500000000000000023:api:keys", "api_key", seal(Keyring(stranger), "k"))
        r.hset("t:user:500000000000000024:api:keys", "api_key", b" " + seal(Keyring(current), "k"))
        r.set(f"t:user:{UID}:session", "no ttl")  # the model's policy is 3600 s
    checks = doctor(server_url, keyring)
    assert (
        checks["ENCRYPTION_KEY"].status == "warn"
        and "1 verify under no configured key" in checks["ENCRYPTION_KEY"].message
    )
    assert "`keyspace rotate-keys`" in checks["retired keys"].fix
    assert checks["stored form"].status == "warn" and "1 bare token(s)" in checks["stored form"].message
    assert "`keyspace migrate up`" in checks["stored form"].fix
    assert checks["undecryptable secrets"].status == "fail"
    assert checks["undecryptable secrets"].keys == ["t:user:500000000000000023:api:keys"]
    assert checks["suspicious secrets"].status == "fail"
    assert checks["TTL policy"].status == "warn" and "`keyspace ttl apply`" in checks["TTL policy"].fix
    assert checks["plaintext secrets"].status == "warn"  # "p" is legacy plaintext


def test_keys_failing_key_types_and_corrupt_keys_are_named(server_url: str) -> None:
    with sync_mapper(server_url, None) as mapper:
        r = mapper.clients["app"]
        r.hset("t:user:50000000000001:api:keys", "api_key", "x")  # a 14-digit uid
        r.hset(b"t:user:\xc3\x28:api:keys", "api_key", "x")  # not UTF-8
        r.set(f"t:user:{UID}:settings", deep_json())
        r.hset(f"t:user:{UID2}:settings", "a", "wrong type")
    checks = doctor(server_url, Keyring(KEY))
    mistyped = checks["keys failing key types"]
    assert mistyped.status == "warn" and mistyped.message.startswith("2 key(s)")
    assert "t:user:50000000000001:api:keys" in mistyped.message and "\\xc3(" in mistyped.message
    bad = checks["bad keys"]
    assert bad.status == "fail" and "1 wrong type, 1 corrupt" in bad.message
    assert f"t:user:{UID}:settings: stored document is JSON nested too deeply" in bad.message


def test_a_sampled_run_says_it_sampled(server_url: str) -> None:
    with sync_mapper(server_url, None) as mapper:
        r = mapper.clients["app"]
        for i in range(3000):
            r.set(f"t:other:{i}", "x")
    checks = doctor(server_url, Keyring(KEY), sample=100)
    for name in ("plaintext secrets", "bad keys", "TTL policy", "ENCRYPTION_KEY"):
        assert "sampled" in checks[name].message and "the rest not looked at" in checks[name].message, name
    assert "among all" not in checks["plaintext secrets"].message


def test_pending_migrations_lead_to_migrate_up(server_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_nothing.py").write_text(
        "from keyspace import Migration\n"
        "migration = Migration(id='0001', description='nothing', operations=[])\n"
    )
    project = Project(migrations=(MigrationLocation("t", folder),))
    checks = doctor(server_url, Keyring(KEY), project=project)
    assert checks["migrations"].status == "warn" and "t/0001" in checks["migrations"].message
    assert checks["migrations"].fix == "run `keyspace migrate up`"


def test_an_unreachable_celery_server_is_said_and_not_counted_as_checked(server_url: str) -> None:
    from keyspace import Mapper
    from keyspace.testing.server import free_port

    dead = f"redis://127.0.0.1:{free_port()}/1"
    with Mapper.from_url(server_url, celery_url=dead, keyring=Keyring(KEY)) as mapper:
        checks = by_name(run_doctor(mapper, registry=registry(), checks=NO_CHECKS))
    assert checks["celery server"].status == "fail" and "unreachable" in checks["celery server"].message
    assert "celery not looked at" in checks["plaintext secrets"].message


# --- per-user checks ---------------------------------------------------------------------------


def test_schema_checks_run_for_a_user_on_both_mappers(server_url: str) -> None:
    checks = UserChecks()

    @checks("API keys")
    def api_keys(ctx: UserContext) -> Program[Iterable[Check]]:
        spec = ctx.model("Keys")
        assert spec is not None
        read = yield from ctx.read(spec, uid=ctx.user)
        if not read.exists:
            return [Check("API keys", "fail", "not found")]
        return [Check("API keys", "ok", ", ".join(f"{k}={v}" for k, v in sorted(read.forms.items())))]

    @checks
    def missing_model(ctx: UserContext) -> Program[Iterable[Check]]:
        if ctx.model("NoSuchModel") is None:
            return [ctx.missing("missing model", "NoSuchModel")]
        yield from ()

    keyring = Keyring(KEY)
    with sync_mapper(server_url, None) as mapper:
        mapper.clients["app"].hset(
            f"t:user:{UID}:api:keys", mapping={"api_key": seal(keyring, "k"), "api_secret": "plain"}
        )
    sync = doctor(server_url, keyring, user=UID, checks=checks)
    assert sync["API keys"].message == "api_key=encrypted:current, api_secret=encrypted:plaintext"
    assert sync["missing model"].status == "warn" and "NoSuchModel" in sync["missing model"].message

    async def run() -> dict[str, Check]:
        async with async_mapper(server_url, keyring) as amapper:
            return by_name(await run_doctor(amapper, registry=registry(), user=UID, checks=checks))

    assert asyncio.run(run())["API keys"].message == sync["API keys"].message


def test_the_generic_user_check_lists_the_keys_of_an_id_and_whether_they_decode(server_url: str) -> None:
    keyring = Keyring(KEY)
    with sync_mapper(server_url, None) as mapper:
        r = mapper.clients["app"]
        r.hset(f"t:user:{UID}:api:keys", mapping={"api_key": seal(keyring, "k"), "api_secret": "plain"})
        r.set(f"t:user:{UID}:settings", deep_json())
        r.hset(f"t:okx:user:{UID}", "api_key", "grid")
        r.hset(f"t:user:{UID2}:api:keys", "api_key", "another user")
    checks = doctor(server_url, keyring, user=UID)
    assert checks["Keys"].status == "ok" and checks["Keys"].message.startswith("1 key(s)")
    assert (
        "1 encrypted:current" in checks["Keys"].message and "1 encrypted:plaintext" in checks["Keys"].message
    )
    assert checks["Settings"].status == "fail" and "nested too deeply" in checks["Settings"].message
    assert checks["GridUser"].status == "ok" and "masked:plaintext" in checks["GridUser"].message
    assert "Profile" in checks["keys of this id"].message  # models with no key for this id: said


@pytest.mark.parametrize("user", ["not-an-id"])
def test_the_generic_check_says_when_no_model_takes_the_id(server_url: str, user: str) -> None:
    checks = doctor(server_url, Keyring(KEY), user=user)
    assert checks["keys of this id"].status == "warn"
