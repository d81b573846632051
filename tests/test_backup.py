"""Backups on a real redis-server: private (0600 from the first byte), sealed (encrypted and
authenticated: no record, frame, count or order can be changed), never overwriting a file by
accident, refusing an older Redis, on Mapper and AsyncMapper."""

from __future__ import annotations

import asyncio
import gzip
import os
import stat
import struct
from pathlib import Path
from typing import Any

import pytest
import redis

from keyspace import BackupError, Mapper, generate_key
from keyspace.core.crypto import fingerprint
from keyspace.ops import backup as engine
from keyspace.ops.backup import BackupKeys, backup, restore, verify
from tests.inspect_support import async_mapper, server_url

__all__ = ["server_url"]  # fixture

SECRET_TEXT = b"plain-legacy-secret-0123456789"  # a legacy plaintext API secret, as the bot stores it
U32 = struct.Struct(">I")


def seed(r: redis.Redis, n: int = 1500) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"blob:{i}", os.urandom(1000))  # incompressible: ~1.5 MB, several frames
    pipe.hset(
        "user:500000000000000001:api:keys", mapping={"api_key": SECRET_TEXT, "uid": "500000000000000001"}
    )
    pipe.set("user:500000000000000001:session", "{}", ex=3600)
    pipe.set(b"bin:\xff\xfe", b"\x00\x01")
    pipe.execute()


def snapshot(r: redis.Redis) -> dict[bytes, tuple[bytes, bool]]:
    """Every key's DUMP payload and whether it has a TTL."""
    return {k: (r.dump(k), r.ttl(k) > 0) for k in r.scan_iter(count=1000)}


@pytest.fixture
def mapper(server_url: str) -> Any:
    with Mapper.from_url(server_url) as m:
        seed(m.clients["app"])
        yield m


KEYS = BackupKeys.of(generate_key())


def frames(path: Path) -> tuple[bytes, list[bytes]]:
    """(magic + preamble, [each frame with its length prefix])."""
    data = path.read_bytes()
    at = len(engine.MAGIC)
    (size,) = U32.unpack_from(data, at)
    at += 4 + size
    head, out = data[:at], []
    while at < len(data):
        (size,) = U32.unpack_from(data, at)
        out.append(data[at : at + 4 + size])
        at += 4 + size
    return head, out


def test_a_backup_is_private_from_its_first_byte_and_sealed(
    mapper: Mapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: backups were written 0644 and held DUMP payloads of plaintext secrets in the clear."""
    path = tmp_path / "app.ksb"
    modes: list[int] = []

    def watch(_: int) -> None:  # while the backup is being written
        modes.extend(stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir())

    old = os.umask(0)  # the most permissive umask: the file must still be private
    try:
        header = backup(mapper, path, keys=KEYS, progress=watch)
    finally:
        os.umask(old)
    assert modes and set(modes) == {0o600}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and list(tmp_path.iterdir()) == [path]
    data = path.read_bytes()
    assert SECRET_TEXT not in data and b"api:keys" not in data and b"blob:" not in data
    assert header["records"] == 1503 and header["key_fingerprint"] == fingerprint(KEYS.candidates[0][1])
    assert KEYS.candidates[0][1].encode() not in data  # the header names the key's fingerprint only
    _, sealed = frames(path)
    assert len(sealed) >= 4  # header, several record frames, trailer


def test_restore_brings_back_every_key_its_payload_and_ttl(mapper: Mapper, tmp_path: Path) -> None:
    r = mapper.clients["app"]
    before = snapshot(r)
    path = tmp_path / "app.ksb"
    backup(mapper, path, keys=KEYS)
    r.flushall()
    result = restore(mapper, path, keys=KEYS)
    assert result["restored"] == len(before) and snapshot(r) == before
    with pytest.raises(BackupError, match="already exist"):
        restore(mapper, path, keys=KEYS)
    assert restore(mapper, path, keys=KEYS, replace=True)["restored"] == len(before)


def tampered(head: bytes, sealed: list[bytes]) -> dict[str, bytes]:
    flip = bytearray(sealed[2])
    flip[len(flip) // 2] ^= 1
    other = bytearray(head)
    other[-5] ^= 1
    return {
        "a byte of a record changed": head + b"".join([*sealed[:2], bytes(flip), *sealed[3:]]),
        "a record frame repeated": head + b"".join([*sealed[:2], sealed[1], *sealed[2:]]),
        "record frames reordered": head + b"".join([sealed[0], sealed[2], sealed[1], *sealed[3:]]),
        "a record frame dropped": head + b"".join([sealed[0], *sealed[2:]]),
        "the trailer (counts) dropped": head + b"".join(sealed[:-1]),
        "the trailer put early": head + b"".join([sealed[0], sealed[-1], *sealed[1:-1]]),
        "cut inside a frame": head + b"".join(sealed)[:-7],
        "data after the trailer": head + b"".join(sealed) + sealed[1],
        "the clear preamble changed": bytes(other) + b"".join(sealed),
    }


def test_any_change_to_the_file_is_refused_before_anything_is_restored(
    mapper: Mapper, tmp_path: Path
) -> None:
    """Before: a record edited with its SHA-256 recomputed restored; duplicated or reordered records and
    edited header counts were accepted."""
    path = tmp_path / "app.ksb"
    backup(mapper, path, keys=KEYS)
    head, sealed = frames(path)
    r = mapper.clients["app"]
    for what, data in tampered(head, sealed).items():
        bad = tmp_path / "bad.ksb"
        bad.write_bytes(data)
        with pytest.raises(BackupError):
            verify(bad, keys=KEYS)
        r.flushall()
        with pytest.raises(BackupError):
            restore(mapper, bad, keys=KEYS)
        assert r.dbsize() == 0, what  # nothing written


def test_the_trailer_of_another_backup_does_not_fit(mapper: Mapper, tmp_path: Path) -> None:
    first, second = tmp_path / "1.ksb", tmp_path / "2.ksb"
    backup(mapper, first, keys=KEYS)
    mapper.clients["app"].set("one:more", "x")
    backup(mapper, second, keys=KEYS)
    head, sealed = frames(first)
    _, others = frames(second)
    (tmp_path / "mixed.ksb").write_bytes(head + b"".join([*sealed[:-1], others[-1]]))
    with pytest.raises(BackupError, match="fails authentication"):
        verify(tmp_path / "mixed.ksb", keys=KEYS)


def test_a_key_twice_is_refused_and_scan_repeats_are_dropped(
    mapper: Mapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a sealed file that holds one key twice (only the writer could make one): refused
    path = tmp_path / "twice.ksb"
    with path.open("wb") as out:
        writer = engine._SealedWriter(out, KEYS.sealing())
        writer.frame(b"H", b'{"server_version": "7.0.0"}')
        dump = mapper.clients["app"].dump("blob:1")
        writer.record(0, b"blob:1", -1, dump)
        writer.record(1, b"blob:1", -1, dump)
        writer.flush()
        writer.frame(b"T", b'{"records": 2}', last=True)
    with pytest.raises(BackupError, match="more than once"):
        verify(path, keys=KEYS)

    # SCAN may return a key twice (while the server rehashes): the writer keeps it once
    real = engine.scan_batches
    monkeypatch.setattr(engine, "scan_batches", _repeat_batches(real))
    header = backup(mapper, tmp_path / "app.ksb", keys=KEYS)
    assert header["records"] == mapper.clients["app"].dbsize() == 1503
    assert verify(tmp_path / "app.ksb", keys=KEYS)["records"] == 1503


def _repeat_batches(real: Any) -> Any:
    """scan_batches, with every emitted batch emitted twice (SCAN's repeats, made certain)."""

    def program(pattern: str | None, **options: Any) -> Any:
        inner = real(pattern, **options)
        reply: Any = None
        while True:
            try:
                step = inner.send(reply)
            except StopIteration:
                return
            if type(step) is engine.Call:
                reply = yield step
            else:
                yield step
                yield step
                reply = None

    return program


def test_an_existing_file_is_never_overwritten_without_force(mapper: Mapper, tmp_path: Path) -> None:
    path = tmp_path / "app.ksb"
    path.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError, match="already exists"):
        backup(mapper, path, keys=KEYS)
    assert path.read_bytes() == b"yesterday's backup" and list(tmp_path.iterdir()) == [path]
    backup(mapper, path, keys=KEYS, force=True)
    assert verify(path, keys=KEYS)["records"] == 1503


def test_a_restore_into_an_older_redis_is_refused_naming_both_versions(
    mapper: Mapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.ksb"
    actual = engine._info_version
    monkeypatch.setattr(engine, "_info_version", lambda info: "99.1.2")  # as if taken from a newer Redis
    backup(mapper, path, keys=KEYS)
    monkeypatch.setattr(engine, "_info_version", actual)
    here = mapper.clients["app"].info("server")["redis_version"]
    mapper.clients["app"].flushall()
    with pytest.raises(BackupError) as caught:
        restore(mapper, path, keys=KEYS)
    assert "99.1.2" in str(caught.value) and here in str(caught.value)
    assert mapper.clients["app"].dbsize() == 0


def test_the_key_comes_from_the_environment_and_restores_after_rotation(
    mapper: Mapper, tmp_path: Path
) -> None:
    backup_key, app_key, new_app_key = generate_key(), generate_key(), generate_key()
    keys = BackupKeys.from_env({"KEYSPACE_BACKUP_KEY": backup_key, "ENCRYPTION_KEY": app_key})
    assert keys.sealing() == ("KEYSPACE_BACKUP_KEY", backup_key)
    only_app = BackupKeys.from_env({"ENCRYPTION_KEY": app_key})
    path = tmp_path / "app.ksb"
    header = backup(mapper, path, keys=only_app)
    assert header["key_source"] == "ENCRYPTION_KEY" and header["key_fingerprint"] == fingerprint(app_key)
    rotated = BackupKeys.from_env({"ENCRYPTION_KEY": new_app_key, "ENCRYPTION_OLD_KEYS": app_key})
    assert verify(path, keys=rotated)["records"] == 1503  # the old key is still listed
    with pytest.raises(BackupError) as caught:
        verify(path, keys=BackupKeys.from_env({"ENCRYPTION_KEY": new_app_key}))
    assert fingerprint(app_key) in str(caught.value) and app_key not in str(caught.value)
    with pytest.raises(BackupError, match="no key to seal"):
        backup(mapper, tmp_path / "none.ksb", keys=BackupKeys.from_env({}))
    assert not (tmp_path / "none.ksb").exists()
    with pytest.raises(BackupError, match="KEYSPACE_BACKUP_KEY is not a valid key"):
        BackupKeys.from_env({"KEYSPACE_BACKUP_KEY": "not-a-key"})


def test_a_format_1_file_is_refused(mapper: Mapper, tmp_path: Path) -> None:
    path = tmp_path / "old.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"format": "keyspace-backup", "version": 1, "records": 0}\n{"end": true, "records": 0}\n')
    with pytest.raises(BackupError, match="format 1"):
        restore(mapper, path, keys=KEYS)


def test_backup_and_restore_on_the_async_mapper(mapper: Mapper, server_url: str, tmp_path: Path) -> None:
    before = snapshot(mapper.clients["app"])
    path = tmp_path / "app.ksb"

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        async with async_mapper(server_url, None) as amapper:
            header = await backup(amapper, path, keys=KEYS)
            await amapper.clients["app"].flushall()
            return header, await restore(amapper, path, keys=KEYS)

    header, result = asyncio.run(run())
    assert header["records"] == result["restored"] == len(before)
    assert snapshot(mapper.clients["app"]) == before
