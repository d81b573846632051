"""The migration engine as programs, on a real redis-server: both mappers, the lease, the TTL
policy as an operation, and the building blocks for schema migrations (PerItem, Rekey)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from keyspace import (
    AsyncMapper,
    ItemWrites,
    Keyring,
    LockLost,
    Mapper,
    MigrationError,
    PerItem,
    Rekey,
    Runner,
    generate_key,
)
from keyspace.ops.migrate.state import APPLIED, LOCK, checkpoint_key
from tests.migrate_support import (
    ENCRYPT_0001,
    PER_ITEM,
    Flavour,
    MKeys,
    flavours,
    migrations_dir,
    raw_client,
    registry,
    snapshot,
)
from tests.tradingboost_app import app_read

UID = 500_000_000_000_000_000


def uid(i: int) -> str:
    return str(UID + i)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    yield from raw_client(redis_url)


@pytest.fixture(params=["sync", "asyncio"])
def flavour(request: pytest.FixtureRequest, redis_url: str, raw: redis.Redis) -> Iterator[Flavour]:
    yield from flavours(request.param, redis_url)


def plaintext_keys(r: redis.Redis, n: int) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(1, n + 1):
        pipe.hset(f"mk:{uid(i)}:keys", mapping={"api_key": f"secret-{i}", "note": "kept"})
    pipe.execute()


def encrypted(r: redis.Redis) -> int:
    return sum(1 for k in r.scan_iter("mk:*", count=1000) if r.hget(k, "api_key").startswith(b"enc_v1:"))


# --- AsyncMapper --------------------------------------------------------------------------------------


async def test_migrate_up_through_asyncmapper(redis_url: str, raw: redis.Redis, tmp_path: Path) -> None:
    key = generate_key()
    plaintext_keys(raw, 120)
    raw.expire(f"mk:{uid(3)}:keys", 900)
    async with AsyncMapper.from_url(redis_url, keyring=Keyring(key)) as amapper:
        runner = Runner(
            amapper, registry=registry(), directory=migrations_dir(tmp_path, ENCRYPT_0001), batch=25
        )
        assert [m.id for m in await runner.pending()] == ["mig/0001"]
        plan = (await runner.plan())["mig/0001"]
        assert plan.changed == 120 and encrypted(raw) == 0
        report = (await runner.up())["mig/0001"]
        assert report.ok and report.changed == 120 and report.forms["MKeys"]["plaintext"] == 120
        status = await runner.status()
        assert status["migrations"][0]["state"] == "applied" and status["lock"] is None
        assert (await runner.verify())["ok"]
        assert await runner.up() == {}
    assert encrypted(raw) == 120 and 800 < raw.ttl(f"mk:{uid(3)}:keys") <= 900
    assert app_read(raw.hget(f"mk:{uid(9)}:keys", "api_key").decode(), key) == "secret-9"
    assert raw.exists(LOCK) == 0


async def test_a_cancelled_async_run_releases_the_lock_and_resumes(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    key = generate_key()
    plaintext_keys(raw, 400)
    folder = migrations_dir(tmp_path, ENCRYPT_0001)
    async with AsyncMapper.from_url(redis_url, keyring=Keyring(key)) as amapper:
        third_batch = asyncio.Event()

        def progress(label: str, done: int, total: int | None) -> None:
            if done >= 60:
                third_batch.set()

        # 100 keys/s in batches of 20: after each batch the run sleeps (the rate limit's Sleep)
        slow = Runner(amapper, registry=registry(), directory=folder, batch=20, rate=100, progress=progress)
        task = asyncio.ensure_future(slow.up())
        await third_batch.wait()
        task.cancel()  # from outside, while the run sleeps
        with pytest.raises(asyncio.CancelledError):
            await task  # the driver closes the program; the runner releases the lease
        assert raw.exists(LOCK) == 0 and raw.exists(checkpoint_key("mig/0001")) == 1
        done = encrypted(raw)
        assert 60 <= done < 400
        report = (await Runner(amapper, registry=registry(), directory=folder).up())["mig/0001"]
    assert report.ok and encrypted(raw) == 400
    assert report.changed + done >= 400 and raw.exists(checkpoint_key("mig/0001")) == 0


async def test_a_cancel_requested_during_a_send_is_not_lost(redis_url: str, raw: redis.Redis) -> None:
    """A cancelled migration must stop.  redis-py's asyncio ``send_packed_command`` wraps the send in
    ``asyncio.wait_for``, which on Python 3.11 returns the inner result and drops the outer task's
    cancellation when both complete together: an executor that sends through it carries on as if
    never cancelled (the io layer's executor writes to the stream itself)."""
    from keyspace.core.programs import Call

    def warm() -> Any:
        return (yield Call([("PING",)]))

    def program() -> Any:
        asyncio.current_task().cancel()  # type: ignore[union-attr]  # pending until the next await
        yield Call([("PING",)])
        yield Call([("PING",)])
        return "finished"

    async with AsyncMapper.from_url(redis_url) as amapper:
        assert await amapper.run(warm()) == [b"PONG"]  # a pooled connection: the next send is the first await
        with pytest.raises(asyncio.CancelledError):
            await amapper.run(program())


# --- the lease -------------------------------------------------------------------------------------------


def test_a_lost_lease_stops_the_run_before_it_writes_more(
    flavour: Flavour, raw: redis.Redis, tmp_path: Path
) -> None:
    plaintext_keys(raw, 300)
    seen: list[int] = []

    def steal_after_three_batches(label: str, done: int, total: int | None) -> None:
        seen.append(done)
        if len(seen) == 3:
            raw.set(LOCK, "another runner")
            time.sleep(0.25)  # more than a third of the 0.6 s lease: the next batch renews first

    runner = flavour.runner(
        Keyring(generate_key()),
        registry=registry(),
        directory=migrations_dir(tmp_path, ENCRYPT_0001),
        batch=10,
        lease=0.6,
        progress=steal_after_three_batches,
    )
    with pytest.raises(LockLost, match="stopping before writing more"):
        flavour.do(runner.up())
    assert encrypted(raw) == seen[2]  # nothing written after the theft
    assert raw.get(LOCK) == b"another runner"  # and the thief's lock is left alone
    assert raw.hlen(APPLIED) == 0


# --- the TTL policy as an operation ------------------------------------------------------------------------


def test_apply_ttl_policy_at_any_time_keep_and_persistent_untouched(
    flavour: Flavour, raw: redis.Redis
) -> None:
    for i in range(1, 6):
        raw.set(f"ms:{i}:session", "{}")  # TTL model (1 day), written without expiry
        raw.set(f"mkeep:{i}", "v")  # keep: no opinion
        raw.set(f"mp:{i}", "v")  # persistent
    raw.expire("ms:5:session", 40)  # an expiry of its own: kept
    raw.hset("mg:1:grid", "api_key", "x")  # keep, masked
    runner = flavour.runner(None, registry=registry())
    report = flavour.do(runner.apply_ttl_policy())
    assert report.ok and report.changed == 4 and report.already == 1
    for i in range(1, 5):
        assert 86000 < raw.ttl(f"ms:{i}:session") <= 86400
    assert raw.ttl("ms:5:session") <= 40
    assert all(raw.ttl(k) == -1 for k in ("mkeep:1", "mp:1", "mg:1:grid"))
    assert raw.exists(checkpoint_key("ttl-apply"), LOCK) == 0
    assert flavour.do(runner.apply_ttl_policy(["MSession"])).changed == 0  # idempotent
    with pytest.raises(MigrationError, match="MKeep, which is without a TTL policy"):
        flavour.do(runner.apply_ttl_policy(["MKeep"]))


# --- PerItem: several keys per item, the done marker last ---------------------------------------------


def test_per_item_writes_in_order_marker_last_idempotent(flavour: Flavour, raw: redis.Redis) -> None:
    for i in range(1, 31):
        raw.set(f"mu:{i}:status", "running" if i % 3 else "stopped")
        if i % 10 != 7:
            raw.hset(f"mu:{i}:prefs", "symbol", f"S{i}")
    raw.set("mu:5:sym:S5:info", "a string")  # step 2 of user 5 fails (WRONGTYPE): no marker for it
    runner = flavour.runner(None, registry=registry())
    before = snapshot(raw)
    plan = flavour.do(runner.run_operations([PER_ITEM], run_id="multi", dry_run=True))
    assert snapshot(raw) == before and plan.changed == 20 - 2  # the dry run cannot know step 2 fails
    report = flavour.do(runner.run_operations([PER_ITEM], run_id="multi"))
    running = [i for i in range(1, 31) if i % 3]
    no_symbol = [i for i in running if i % 10 == 7]
    assert report.ignored == {"no_symbol": len(no_symbol)} and report.skipped == {"wrong_type": 1}
    assert report.errors["wrong_type"] == ["mu:5:status"]
    assert report.changed == len(running) - len(no_symbol) - 1
    for i in running:
        if i in no_symbol or i == 5:
            assert raw.exists(f"mu:{i}:active") == 0  # the marker only after every step succeeded
            continue
        assert raw.smembers(f"mu:{i}:active") == {f"S{i}".encode()}
        assert raw.get(f"mu:{i}:sym:S{i}:status") == b"running"
        assert abs(float(raw.hget(f"mu:{i}:sym:S{i}:info", "started")) - time.time()) < 120  # server clock
    assert raw.get("mu:5:sym:S5:status") == b"running"  # step 1 of user 5 was written, then it stopped
    raw.delete("mu:5:sym:S5:info")
    again = flavour.do(runner.run_operations([PER_ITEM], run_id="multi"))
    assert again.changed == 1 and again.skipped == {}  # user 5 is redone; the rest are done
    assert raw.smembers("mu:5:active") == {b"S5"}
    third = flavour.do(runner.run_operations([PER_ITEM], run_id="multi"))
    assert third.changed == 0 and third.already == 30 - len(no_symbol)


def test_per_item_refuses_writes_that_bypass_the_secret_guard(flavour: Flavour, raw: redis.Redis) -> None:
    raw.set("mu:1:status", "running")

    def decide(item: Any) -> ItemWrites:
        return ItemWrites(steps=[("HSET", f"mk:{uid(1)}:keys", "api_key", "plaintext!")], done=None)

    runner = flavour.runner(Keyring(generate_key()), registry=registry())
    op = PerItem("MStatus", reads=lambda k, v: [("GET", k)], decide=decide)
    report = flavour.do(runner.run_operations([op], run_id="bad"))
    assert report.skipped == {"secret_write": 1} and raw.exists(f"mk:{uid(1)}:keys") == 0


# --- Rekey: move families to new ids through an id map ---------------------------------------------------


def test_rekey_moves_families_keeping_ttls_and_never_overwrites(flavour: Flavour, raw: redis.Redis) -> None:
    key = generate_key()
    for t in range(1, 11):
        tid, new = f"{100_000_000 + t}", f"{200_000_000 + t}"
        if t != 10:
            raw.set(f"mmap:{tid}:uid", new)  # the id map (user 10 has none)
        raw.set(f"mu:{tid}:status", f"running-{t}")
        raw.hset(f"mu:{tid}:prefs", mapping={"symbol": f"S{t}", "secret": "x" * t})
        if t % 2:
            raw.pexpire(f"mu:{tid}:prefs", 500_000)
    raw.set("mmap:100000003:uid", "not an id!")  # a bad mapping
    raw.set("mu:200000004:status", "someone else's")  # a conflict: never overwritten
    raw.set("mu:200000005:status", "running-5")  # already there with the same value: done before
    op = Rekey(["MStatus", "MPrefs"], field="user_id", id_map="mmap:{tid}:uid", source=r"1[0-9]{8}")
    runner = flavour.runner(Keyring(key), registry=registry())
    before = snapshot(raw)
    plan = flavour.do(runner.run_operations([op], run_id="rekey", dry_run=True))
    assert snapshot(raw) == before
    assert plan.errors["destination_exists"] == ["mu:100000004:status"]
    assert plan.skipped == {"destination_exists": 1, "bad_mapping": 2} and plan.ignored == {"unmapped": 2}
    report = flavour.do(runner.run_operations([op], run_id="rekey"))
    assert report.changed == 2 * 8 - 1 - 1 and report.already == 1  # 8 mapped, 1 conflict, 1 done before
    for t in (1, 2, 6, 7, 8, 9):
        old, new = f"mu:{100_000_000 + t}", f"mu:{200_000_000 + t}"
        assert raw.dump(f"{new}:prefs") == raw.dump(f"{old}:prefs")  # byte-identical copies
        assert raw.get(f"{new}:status") == f"running-{t}".encode()
        if t % 2:
            assert abs(raw.pttl(f"{new}:prefs") - raw.pttl(f"{old}:prefs")) < 1000  # TTL kept
        else:
            assert raw.ttl(f"{new}:prefs") == -1
    assert raw.get("mu:200000004:status") == b"someone else's"
    again = flavour.do(runner.run_operations([op], run_id="rekey"))
    assert again.changed == 0 and again.already == 14 + 1  # the moved keys and the one done before
    moved = Rekey(
        ["MStatus", "MPrefs"],
        field="user_id",
        id_map="mmap:{tid}:uid",
        source=r"1[0-9]{8}",
        delete_source=True,
    )
    flavour.do(runner.run_operations([moved], run_id="rekey-delete"))
    assert raw.exists("mu:100000001:status", "mu:100000001:prefs") == 0  # sources deleted once copied
    assert raw.exists("mu:100000004:status") == 1  # the conflict's source is kept


def test_batched_compare_and_set_keeps_per_key_semantics(flavour: Flavour, raw: redis.Redis) -> None:
    """One script call for a whole batch: each key is still written only if unchanged, and a key that
    is not a hash fails alone."""
    from keyspace.core import scripts
    from keyspace.core.programs import Call
    from keyspace.ops.migrate.lua import CAS_HASH_MANY

    raw.hset("h:same", mapping={"a": "1", "b": "2"})
    raw.hset("h:changed", mapping={"a": "other"})
    raw.set("h:string", "x")
    raw.expire("h:same", 500)
    args = [
        2,
        "a",
        "1",
        "1",
        "A",
        "b",
        "1",
        "2",
        "B",
        1,
        "a",
        "1",
        "1",
        "A",
        1,
        "a",
        "1",
        "1",
        "A",
        1,
        "n",
        "0",
        "",
        "N",
    ]
    keys = ["h:same", "h:changed", "h:string", "h:new"]

    def program() -> Any:
        (reply,) = yield Call([scripts.call(CAS_HASH_MANY, keys, args)])
        return reply

    assert flavour.do(flavour.mapper().run(program())) == [1, 0, -1, 1]
    assert raw.hgetall("h:same") == {b"a": b"A", b"b": b"B"} and 400 < raw.ttl("h:same") <= 500
    assert raw.hgetall("h:changed") == {b"a": b"other"} and raw.get("h:string") == b"x"
    assert raw.hgetall("h:new") == {b"n": b"N"}


def test_mapper_flavour_matters_not(redis_url: str) -> None:
    """The runner is one class: its async-ness follows the mapper it wraps."""
    assert not Runner(Mapper.from_url(redis_url), registry=registry(MKeys)).is_async
    assert Runner(AsyncMapper.from_url(redis_url), registry=registry(MKeys)).is_async


def test_rekey_reads_a_key_through_the_template_that_owns_it(redis_url: str) -> None:
    """Before: Rekey took the first template whose shape matched and had its field, without the key
    types: an OKX-uid key of a two-template model was read as a Telegram-id key and, with a mapping
    for that number, moved (hostile review). A key belongs to its first valid template."""
    from typing import Annotated

    from pydantic import Field

    from keyspace import StringModel
    from keyspace.core.registry import Registry

    class TwoIds(StringModel, key=("rk:{okx}:s", "rk:{tg}:s"), ttl=None, register=False):
        okx: Annotated[str, Field(pattern=r"^[0-9]{18,19}$")] | None = None
        tg: Annotated[str, Field(pattern=r"^[0-9]{5,19}$")] | None = None  # overlaps the OKX uids
        v: str

    reg = Registry()
    reg.add(TwoIds.__keyspace__)
    raw = redis.Redis.from_url(redis_url)
    raw.flushall()
    okx_keyed, tg_keyed = "rk:500000000000000001:s", "rk:123456:s"
    raw.set(okx_keyed, "okx-keyed")
    raw.set(tg_keyed, "tg-keyed")
    raw.set("rkmap:500000000000000001", "500000000000000777")  # a mapping that must not be used
    raw.set("rkmap:123456", "500000000000000002")
    mapper = Mapper.from_url(redis_url, keyring=Keyring(generate_key()))
    try:
        op = Rekey(["TwoIds"], field="tg", id_map="rkmap:{tid}", delete_source=True)
        report = Runner(mapper, registry=reg).run_operations([op], run_id="rekey-owner")
    finally:
        mapper.close()
    assert report.changed == 1, report.as_dict()
    assert raw.get(okx_keyed) == b"okx-keyed" and not raw.exists("rk:500000000000000777:s")
    assert raw.get("rk:500000000000000002:s") == b"tg-keyed" and not raw.exists(tg_keyed)
    raw.flushall()


def test_a_key_failing_the_key_types_is_reported_once_when_two_patterns_return_it(redis_url: str) -> None:
    """``ov:*:status`` and ``ov:*:*:status`` both return ``ov:a b:okx:status``: before, each part
    reported it, and the report counted one bad key twice (hostile review)."""
    from keyspace import StringModel
    from keyspace.core.registry import Registry

    class OStatus(
        StringModel, key=("ov:{uid}:status", "ov:{uid}:{exchange}:status"), ttl=None, register=False
    ):
        uid: int
        exchange: str | None = None
        status: str

    reg = Registry()
    reg.add(OStatus.__keyspace__)
    raw = redis.Redis.from_url(redis_url)
    raw.flushall()
    raw.set("ov:1:status", "a")
    raw.set("ov:2:okx:status", "b")
    raw.set("ov:a b:okx:status", "misfit")
    raw.set(b"ov:\xff:status", "misfit, not UTF-8")  # returned by both patterns too
    mapper = Mapper.from_url(redis_url, keyring=Keyring(generate_key()))
    try:
        op = Rekey(["OStatus"], field="uid", id_map="omap:{tid}:uid")
        report = Runner(mapper, registry=reg).run_operations([op], run_id="misfits-once", dry_run=True)
    finally:
        mapper.close()
    assert report.scanned == 2
    assert report.key_types["OStatus"] == 2, report.as_dict()
    assert len(report.key_type_samples["OStatus"]) == 2
    raw.flushall()
