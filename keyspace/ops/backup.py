"""Private, sealed backups: SCAN + DUMP + PTTL into one encrypted, authenticated file; RESTORE back.

**Why sealed.**  A backup holds Redis' DUMP payloads of every key: legacy
plaintext secrets, session data, tokens.  So the file is created mode 0600
(never readable by others, not even while it is written), and its content is
encrypted and authenticated: a record changed by hand, a record duplicated,
records reordered, a header count edited, a file cut short — each is refused
before anything is written to Redis.

**File format 2** (``KSBACKUP``)::

    b"KSBACKUP\\n" | u32 length | preamble JSON (in the clear)
    frame 0 .. n: u32 length | AES-256-GCM(frame)

The clear preamble holds only what a restore needs to find the key: the
format, the cipher, a random 16-byte salt, and the *fingerprint* of the
secret (never the secret; the same 8-hex fingerprint ``keyspace doctor``
prints for ENCRYPTION_KEY).  The file key is HKDF-SHA256(secret, salt), so
every file has its own key.  Frame ``i`` is sealed with nonce ``i`` and
associated data = SHA-256(preamble) + ``i`` + a last-frame flag (the STREAM
construction): frames cannot be moved, repeated, dropped or swapped between
files, and a file cut short has no last frame.  Frame 0 is the header
(created, server, Redis version, match, models), the record frames carry
``seq | pttl | key | DUMP payload`` records numbered from 0, and the last
frame is the trailer with the record count and the per-model counts — so
the counts are authenticated too.  A key present twice is refused (the
writer drops SCAN's repeats; 8 bytes per key are kept for that check, never
the payloads: memory stays flat).

**The key.**  ``KEYSPACE_BACKUP_KEY`` if set (a Fernet-format key from
``keyspace keygen``), else ``ENCRYPTION_KEY``.  A restore on another machine
needs that secret: with the same ``.env`` nothing is to do; with a dedicated
backup key, copy ``KEYSPACE_BACKUP_KEY`` there by the same channel as the
other secrets (never beside the file).  A restore tries KEYSPACE_BACKUP_KEY,
ENCRYPTION_KEY and ENCRYPTION_OLD_KEYS, picked by fingerprint, so backups
taken before a key rotation still restore while the old key is listed.

**Redis versions.**  DUMP payloads carry Redis' RDB format version; a Redis
can RESTORE its own and older formats only.  The header records the source
server's version and a restore into an older Redis is refused, naming both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import struct
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keyspace.core.crypto import fingerprint
from keyspace.core.model import ModelSpec
from keyspace.core.programs import Call, ErrorReply, Program, ScanBatch, scan_batches
from keyspace.core.registry import Registry, default_registry
from keyspace.errors import BackupError
from keyspace.ops.plan import OnServer, Plan, drive, for_each

MAGIC = b"KSBACKUP\n"
FORMAT = "keyspace-backup"
VERSION = 2
CIPHER = "AES-256-GCM, HKDF-SHA256, STREAM frames"
FRAME_TARGET = 1 << 20  # seal a frame once this many record bytes are buffered
MAX_FRAME = 600 << 20  # a DUMP payload can be up to Redis' 512 MB limit
_INFO = b"keyspace-backup v2"
_RECORD = struct.Struct(">QqI")  # seq, pttl, key length; then key, u32 dump length, dump
_U32 = struct.Struct(">I")
_FORCE = "`keyspace backup --force`, or force=True, replaces it"  # the CLI and the API both raise this


# --- keys ----------------------------------------------------------------------------------


def _raw_key(text: str, source: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        # never echo the value: it is a secret
        raise BackupError(
            f"{source} is not a valid key (expected 32 url-safe base64-encoded bytes, "
            "as printed by `keyspace keygen`)"
        )
    return raw


@dataclass(frozen=True)
class BackupKeys:
    """The secret a backup is sealed with, and every secret a restore may try (by fingerprint)."""

    seal: tuple[str, str] | None  # (source, key text)
    candidates: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        shown = [f"{source}={fingerprint(k.strip())}" for source, k in self.candidates]
        return f"BackupKeys({', '.join(shown)})"

    @classmethod
    def of(cls, key: str, source: str = "the backup key") -> BackupKeys:
        """One explicit key for both sealing and opening."""
        _raw_key(key, source)
        return cls((source, key), ((source, key),))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BackupKeys:
        """KEYSPACE_BACKUP_KEY, else ENCRYPTION_KEY, seals; both and ENCRYPTION_OLD_KEYS may open."""
        found: list[tuple[str, str]] = []
        for name in ("KEYSPACE_BACKUP_KEY", "ENCRYPTION_KEY"):
            value = (env.get(name) or "").strip()
            if value:
                _raw_key(value, name)
                found.append((name, value))
        old = [k.strip() for k in (env.get("ENCRYPTION_OLD_KEYS") or "").split(",") if k.strip()]
        for i, value in enumerate(old):
            source = f"ENCRYPTION_OLD_KEYS (entry {i + 1})"
            _raw_key(value, source)
            found.append((source, value))
        return cls(found[0] if found else None, tuple(found))

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, *, env_file: str | None = ".env") -> BackupKeys:
        """From ``env``, or from the environment and ``.env`` (as keyspace's other settings)."""
        if env is not None:
            return cls.from_env(env)
        values: dict[str, str] = {}
        if env_file and Path(env_file).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ)  # the environment wins over .env, as in keyspace.io.settings
        return cls.from_env(values)

    def sealing(self) -> tuple[str, str]:
        if self.seal is None:
            raise BackupError(
                "no key to seal the backup with: set KEYSPACE_BACKUP_KEY (a key from `keyspace keygen`) "
                "or ENCRYPTION_KEY"
            )
        return self.seal

    def opening(self, wanted: str, source: str) -> str:
        for _, key in self.candidates:
            if fingerprint(key.strip()) == wanted:
                return key
        tried = ", ".join(f"{s} {fingerprint(k.strip())}" for s, k in self.candidates) or "none configured"
        raise BackupError(
            f"the backup is sealed with key {wanted} ({source} when it was written); the configured keys "
            f"are {tried}: set KEYSPACE_BACKUP_KEY (or ENCRYPTION_KEY / ENCRYPTION_OLD_KEYS) to that key"
        )


def _file_key(secret: str, salt: bytes) -> AESGCM:
    raw = _raw_key(secret, "the backup key")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(raw)
    return AESGCM(derived)


def _nonce(index: int) -> bytes:
    return b"\0\0\0\0" + index.to_bytes(8, "big")


def _aad(bound: bytes, index: int, last: bool) -> bytes:
    return bound + index.to_bytes(8, "big") + (b"\1" if last else b"\0")


# --- writing ---------------------------------------------------------------------------------


def _digest(key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


class KeyDigests:
    """8 bytes per key, to find a key that occurs twice without keeping the keys.

    The digests are kept in 256 compact arrays (by their first byte), so the
    check builds a set of only one bucket at a time: memory stays about 8
    bytes per key.  A digest seen twice is only a candidate; the caller
    compares the real keys (a second pass over those few).
    """

    def __init__(self) -> None:
        self.buckets = [array("Q") for _ in range(256)]

    def add(self, key: bytes) -> None:
        digest = _digest(key)
        self.buckets[digest >> 56].append(digest)

    def repeated(self) -> set[int]:
        out: set[int] = set()
        for bucket in self.buckets:
            seen: set[int] = set()
            for digest in bucket:
                if digest in seen:
                    out.add(digest)
                seen.add(digest)
        return out


def _rdb_version(dump: bytes) -> int:
    """The RDB format version in a DUMP payload's footer (2 bytes LE before the 8-byte CRC)."""
    return int.from_bytes(dump[-10:-8], "little") if len(dump) >= 10 else 0


class _SealedWriter:
    """Writes frames of one file: header first, records, the trailer last."""

    def __init__(self, out: BinaryIO, secret: tuple[str, str]) -> None:
        source, key = secret
        salt = secrets.token_bytes(16)
        preamble = json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "cipher": CIPHER,
                "salt": base64.b64encode(salt).decode(),
                "key_fingerprint": fingerprint(key.strip()),
                "key_source": source,
            },
            sort_keys=True,
        ).encode()
        out.write(MAGIC + _U32.pack(len(preamble)) + preamble)
        self.out = out
        self.aead = _file_key(key, salt)
        self.bound = hashlib.sha256(MAGIC + preamble).digest()
        self.index = 0
        self.buffer = bytearray()
        self.fingerprint = fingerprint(key.strip())
        self.source = source

    def frame(self, kind: bytes, payload: bytes, *, last: bool = False) -> None:
        sealed = self.aead.encrypt(_nonce(self.index), kind + payload, _aad(self.bound, self.index, last))
        self.out.write(_U32.pack(len(sealed)) + sealed)
        self.index += 1

    def record(self, seq: int, key: bytes, pttl: int, dump: bytes) -> None:
        self.buffer += _RECORD.pack(seq, pttl, len(key)) + key + _U32.pack(len(dump)) + dump
        if len(self.buffer) >= FRAME_TARGET:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.frame(b"R", bytes(self.buffer))
            self.buffer.clear()


@dataclass
class _Tally:
    """What the writer counts while records stream to the file."""

    records: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    digests: KeyDigests = field(default_factory=lambda: KeyDigests())
    rdb: int = 0
    payload_bytes: int = 0


def _model_of(key: bytes, registry: Registry, server: str | None) -> str:
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return "(no model)"
    found = registry.resolve(text, server=server)
    return found[0].name if found else "(no model)"


def _dump_program(
    writer: _SealedWriter,
    tally: _Tally,
    patterns: Sequence[str | None],
    keep: Callable[[bytes], bool],
    registry: Registry,
    server: str | None,
    batch: int,
    progress: Callable[[int], None] | None,
) -> Program[None]:
    """SCAN each pattern; DUMP + PTTL each batch of keys in one round trip, records to the writer."""

    def on_batch(found: ScanBatch) -> Program[bool]:
        keys = [k.encode("utf-8") for k in found.keys] + list(found.undecodable)
        keys = [k for k in keys if keep(k)]
        if keys:
            replies = yield Call([c for k in keys for c in (("PTTL", k), ("DUMP", k))])
            for i, key in enumerate(keys):
                pttl, dump = replies[2 * i], replies[2 * i + 1]
                if dump is None or isinstance(dump, ErrorReply) or not isinstance(pttl, int) or pttl == -2:
                    continue  # expired or deleted meanwhile
                writer.record(tally.records, key, pttl, dump)
                tally.digests.add(key)
                tally.counts[_model_of(key, registry, server)] += 1
                tally.rdb = max(tally.rdb, _rdb_version(dump))
                tally.payload_bytes += len(dump)
                tally.records += 1
            if progress:
                progress(tally.records)
        return False

    for pattern in patterns:
        yield from for_each(scan_batches(pattern, count=batch), on_batch)


def _info_version(info: Any) -> str:
    if isinstance(info, dict):
        return str(info.get("redis_version", "?"))
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return "?"


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _create_private(path: Path) -> BinaryIO:
    """A new file only its owner can read or write, created so (never world-readable, not even briefly)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask said
    return os.fdopen(fd, "wb")


def _partial(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.partial")


def _publish(partial: Path, final: Path, force: bool) -> None:
    """Move the finished file into place: atomically, and never over an existing file unless ``force``."""
    if force:
        os.replace(partial, final)
    else:
        try:
            os.link(partial, final)  # fails if the name exists, atomically
        except FileExistsError:
            raise BackupError(f"{final} already exists; nothing was overwritten ({_FORCE})") from None
        os.unlink(partial)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _patterns(models: Sequence[str], match: str | None, registry: Registry) -> tuple[list[str | None], Any]:
    specs: list[ModelSpec] = [registry.get(name) for name in models]
    if not specs:
        return [match], lambda key: True
    from fnmatch import fnmatchcase

    def keep(key: bytes) -> bool:
        try:
            text = key.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if match and not fnmatchcase(text, match):
            return False
        return any(s.match(text) is not None for s in specs)

    patterns = dict.fromkeys(t.scan_pattern({}) for s in specs for t in s.templates)  # each pattern once
    return list(patterns), keep


def backup_plan(
    mapper: Any,
    path: Path,
    *,
    server: str,
    keys: BackupKeys,
    match: str | None,
    models: Sequence[str],
    registry: Registry,
    batch: int,
    force: bool,
    progress: Callable[[int], None] | None,
) -> Plan[dict[str, Any]]:
    secret = keys.sealing()
    if path.is_dir():
        raise BackupError(f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}: no such folder")
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; nothing was overwritten ({_FORCE})")
    patterns, keep = _patterns(models, match, registry)
    owner = None if mapper.same_server("app", "celery") else server
    (info,) = yield OnServer(server, _call([("INFO", "server")]))
    partial = _partial(path)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": server,
        "server_version": _info_version(info),
        "match": match,
        "models": list(models),
    }
    tally = _Tally()
    try:
        with _create_private(partial) as out:
            writer = _SealedWriter(out, secret)
            header["key_fingerprint"], header["key_source"] = writer.fingerprint, writer.source
            writer.frame(b"H", json.dumps(header).encode())
            yield OnServer(
                server, _dump_program(writer, tally, patterns, keep, registry, owner, batch, progress)
            )
            trailer = _finish(writer, tally.records, tally.counts, tally)
            out.flush()
            os.fsync(out.fileno())
        repeated = tally.digests.repeated()
        if repeated:  # SCAN returned a key twice (the server rehashed): write the file again without repeats
            trailer = _without_repeats(partial, keys, secret, header, repeated, registry, owner)
        _publish(partial, path, force)
    finally:
        if partial.exists():
            partial.unlink()
    return {**header, **trailer, "file": str(path)}


def _finish(writer: _SealedWriter, records: int, counts: Counter[str], tally: _Tally) -> dict[str, Any]:
    writer.flush()
    trailer = {
        "records": records,
        "counts": dict(counts),
        "rdb_version": tally.rdb,
        "payload_bytes": tally.payload_bytes,
    }
    writer.frame(b"T", json.dumps(trailer).encode(), last=True)
    return trailer


def _without_repeats(
    partial: Path,
    keys: BackupKeys,
    secret: tuple[str, str],
    header: dict[str, Any],
    repeated: set[int],
    registry: Registry,
    owner: str | None,
) -> dict[str, Any]:
    """Re-seal ``partial`` with every key once (the first copy kept), renumbered; replaces it."""
    again = _partial(partial)
    first: dict[int, list[bytes]] = {}
    tally = _Tally()
    try:
        with _create_private(again) as out:
            writer = _SealedWriter(out, secret)
            writer.frame(b"H", json.dumps(header).encode())
            for _, key, pttl, dump in _records(partial, keys):
                digest = _digest(key)
                if digest in repeated:
                    seen = first.setdefault(digest, [])
                    if key in seen:
                        continue
                    seen.append(key)
                writer.record(tally.records, key, pttl, dump)
                tally.counts[_model_of(key, registry, owner)] += 1
                tally.rdb = max(tally.rdb, _rdb_version(dump))
                tally.payload_bytes += len(dump)
                tally.records += 1
            trailer = _finish(writer, tally.records, tally.counts, tally)
            out.flush()
            os.fsync(out.fileno())
        os.replace(again, partial)
    finally:
        if again.exists():
            again.unlink()
    return trailer


# --- reading ---------------------------------------------------------------------------------


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise BackupError(f"{getattr(f, 'name', 'the file')} is truncated ({what})")
    return data


def _open(path: Path, keys: BackupKeys) -> tuple[BinaryIO, AESGCM, bytes, dict[str, Any]]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - handed to the caller, closed there
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    try:
        magic = f.read(len(MAGIC))
        if magic != MAGIC:
            if magic[:2] == b"\x1f\x8b":
                raise BackupError(
                    f"{path} is a format 1 backup (gzip, unencrypted, unauthenticated): restore refuses it; "
                    "take a new backup"
                )
            raise BackupError(f"{path} is not a keyspace backup")
        (size,) = _U32.unpack(_read_exact(f, 4, "preamble"))
        if size > 1 << 16:
            raise BackupError(f"{path} is damaged: preamble of {size} bytes")
        preamble = _read_exact(f, size, "preamble")
        try:
            meta = json.loads(preamble)
            salt = base64.b64decode(meta["salt"], validate=True)
            wanted = str(meta["key_fingerprint"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise BackupError(f"{path} is damaged: unreadable preamble") from None
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise BackupError(f"{path} is not a keyspace backup of format {VERSION}")
        secret = keys.opening(wanted, str(meta.get("key_source", "?")))
        return f, _file_key(secret, salt), hashlib.sha256(MAGIC + preamble).digest(), meta
    except BaseException:
        f.close()
        raise


def _frames(path: Path, keys: BackupKeys) -> Iterator[tuple[bytes, bytes, bool]]:
    """(kind, payload, last) of every frame, authenticated and in order; raises on any damage."""
    f, aead, bound, _ = _open(path, keys)
    with f:
        index = 0
        while True:
            head = f.read(4)
            if not head:
                raise BackupError(f"{path} is truncated: it ends after frame {index - 1} without its trailer")
            if len(head) != 4:
                raise BackupError(f"{path} is truncated inside frame {index}")
            (size,) = _U32.unpack(head)
            if size > MAX_FRAME or size < 17:
                raise BackupError(f"{path} is damaged at frame {index} (length {size})")
            sealed = _read_exact(f, size, f"frame {index}")
            plain = None
            for last in (False, True):
                try:
                    plain = aead.decrypt(_nonce(index), sealed, _aad(bound, index, last))
                except InvalidTag:
                    continue
                break
            if plain is None:
                raise BackupError(
                    f"{path}: frame {index} fails authentication (changed, moved, repeated or from "
                    "another file): nothing can be trusted"
                )
            yield plain[:1], plain[1:], last
            index += 1
            if last:
                if f.read(1):
                    raise BackupError(f"{path} has data after its last frame")
                return


def _parse_records(payload: bytes) -> Iterator[tuple[int, bytes, int, bytes]]:
    at = 0
    while at < len(payload):
        seq, pttl, key_len = _RECORD.unpack_from(payload, at)
        at += _RECORD.size
        key = payload[at : at + key_len]
        at += key_len
        (dump_len,) = _U32.unpack_from(payload, at)
        at += 4
        dump = payload[at : at + dump_len]
        at += dump_len
        if len(key) != key_len or len(dump) != dump_len:
            raise BackupError("a record frame is damaged")
        yield seq, key, pttl, dump


def _records(path: Path, keys: BackupKeys) -> Iterator[tuple[int, bytes, int, bytes]]:
    for kind, payload, _ in _frames(path, keys):
        if kind == b"R":
            try:
                yield from _parse_records(payload)
            except struct.error:
                raise BackupError(f"{path}: a record frame is damaged") from None


def records(path: str | Path, *, keys: BackupKeys | None = None) -> Iterator[tuple[bytes, int, bytes]]:
    """(key, pttl at backup time, DUMP payload) of every record, in order, each frame authenticated as it
    is read.  Whole-file checks (trailer, counts, repeats) are :func:`verify`'s: call it first."""
    for _, key, pttl, dump in _records(Path(path), keys or BackupKeys.load()):
        yield key, pttl, dump


def verify(path: str | Path, *, keys: BackupKeys | None = None) -> dict[str, Any]:
    """Check the whole file: every frame's authentication and order, the header first and the trailer
    last, records numbered 0..n-1, no key twice, the trailer's counts; returns header + trailer."""
    path = Path(path)
    keys = keys or BackupKeys.load()
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    count = 0
    digests = KeyDigests()
    for kind, payload, last in _frames(path, keys):
        if header is None:
            if kind != b"H":
                raise BackupError(f"{path}: the first frame is not the header")
            header = json.loads(payload)
            continue
        if kind == b"T":
            if not last:
                raise BackupError(f"{path}: a trailer before the last frame")
            trailer = json.loads(payload)
            continue
        if kind != b"R" or last:
            raise BackupError(f"{path}: an unexpected frame")
        try:
            for seq, key, _, _ in _parse_records(payload):
                if seq != count:
                    raise BackupError(f"{path}: record {count} is numbered {seq}")
                digests.add(key)
                count += 1
        except struct.error:
            raise BackupError(f"{path}: a record frame is damaged") from None
    if header is None or trailer is None:
        raise BackupError(f"{path} is truncated")
    if trailer.get("records") != count:
        raise BackupError(f"the trailer counts {trailer.get('records')} records, the file holds {count}")
    repeated = digests.repeated()
    if repeated:
        twice = _repeated_keys(path, keys, repeated)
        if twice:
            shown = ", ".join(k.decode("utf-8", "backslashreplace") for k in twice[:3])
            raise BackupError(f"{path} holds {len(twice)} key(s) more than once (e.g. {shown})")
    return {**header, **trailer}


def _repeated_keys(path: Path, keys: BackupKeys, repeated: set[int]) -> list[bytes]:
    """The keys that really occur twice among records whose 8-byte digests collide."""
    seen: dict[int, list[bytes]] = {}
    twice: list[bytes] = []
    for _, key, _, _ in _records(path, keys):
        digest = _digest(key)
        if digest in repeated:
            bucket = seen.setdefault(digest, [])
            if key in bucket:
                twice.append(key)
            bucket.append(key)
    return twice


# --- restoring ----------------------------------------------------------------------------------


def _call(commands: list[tuple[Any, ...]]) -> Program[list[Any]]:
    replies: list[Any] = yield Call(commands)
    return replies


def _batches(path: Path, keys: BackupKeys, size: int) -> Iterator[list[tuple[bytes, int, bytes]]]:
    chunk: list[tuple[bytes, int, bytes]] = []
    for _, key, pttl, dump in _records(path, keys):
        chunk.append((key, pttl, dump))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def restore_plan(
    path: Path,
    *,
    server: str,
    keys: BackupKeys,
    replace: bool,
    batch: int,
    progress: Callable[[int], None] | None,
) -> Plan[dict[str, Any]]:
    header = verify(path, keys=keys)  # everything, before anything is written
    (info,) = yield OnServer(server, _call([("INFO", "server")]))
    target, source = _info_version(info), str(header.get("server_version", "?"))
    if "?" not in (target, source) and _version_tuple(target) < _version_tuple(source):
        raise BackupError(
            f"this backup holds DUMP payloads of Redis {source} (RDB format {header.get('rdb_version')}); "
            f"the target server runs Redis {target}, which cannot RESTORE a newer format: restore into "
            f"Redis {source} or newer. Nothing was restored"
        )
    if not replace:
        existing: list[str] = []
        for chunk in _batches(path, keys, batch):
            found = yield OnServer(server, _call([("EXISTS", key) for key, _, _ in chunk]))
            existing += [
                k.decode("utf-8", "backslashreplace") for (k, _, _), e in zip(chunk, found, strict=True) if e
            ]
        if existing:
            raise BackupError(
                f"{len(existing)} key(s) already exist (e.g. {', '.join(existing[:3])}); "
                "nothing was restored. Use --replace to overwrite them"
            )
    restored = 0
    failed: list[str] = []
    for chunk in _batches(path, keys, batch):
        commands = []
        for key, pttl, dump in chunk:
            command: tuple[Any, ...] = ("RESTORE", key, max(pttl, 0), dump)
            commands.append((*command, "REPLACE") if replace else command)
        replies = yield OnServer(server, _call(commands))
        for (key, _, _), reply in zip(chunk, replies, strict=True):
            if isinstance(reply, ErrorReply):
                failed.append(f"{key.decode('utf-8', 'backslashreplace')}: {reply}")
            else:
                restored += 1
        if progress:
            progress(restored)
    if failed:
        raise BackupError(f"{len(failed)} key(s) could not be restored: {'; '.join(failed[:3])}")
    return {"header": header, "restored": restored}


# --- the public functions ---------------------------------------------------------------------------


def _check_mapper(mapper: Any) -> None:
    if not hasattr(mapper, "run") or not hasattr(mapper, "same_server"):
        raise TypeError("backup/restore take a Mapper or AsyncMapper (not a raw executor)")


def backup(
    mapper: Any,
    path: str | Path,
    *,
    server: str = "app",
    keys: BackupKeys | None = None,
    match: str | None = None,
    models: Sequence[str] = (),
    registry: Registry | None = None,
    batch: int = 500,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """Write a sealed backup of ``server``'s keys (all, or ``match`` / ``models``) to ``path``.

    The file is created 0600 under a temporary name and moved into place when
    complete; an existing ``path`` is refused unless ``force``.  ``keys``
    defaults to :meth:`BackupKeys.load` (KEYSPACE_BACKUP_KEY, else ENCRYPTION_KEY).
    Returns the header and trailer (records, counts, Redis version, key
    fingerprint); an awaitable of it on an AsyncMapper.
    """
    _check_mapper(mapper)
    return drive(
        mapper,
        backup_plan(
            mapper,
            Path(path),
            server=server,
            keys=keys or BackupKeys.load(),
            match=match,
            models=models,
            registry=registry or default_registry,
            batch=batch,
            force=force,
            progress=progress,
        ),
    )


def restore(
    mapper: Any,
    path: str | Path,
    *,
    server: str = "app",
    keys: BackupKeys | None = None,
    replace: bool = False,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """Verify the whole file, check the target's Redis version, refuse existing keys unless
    ``replace``, then RESTORE every key with its remaining TTL.  Returns {"header", "restored"}."""
    _check_mapper(mapper)
    return drive(
        mapper,
        restore_plan(
            Path(path),
            server=server,
            keys=keys or BackupKeys.load(),
            replace=replace,
            batch=batch,
            progress=progress,
        ),
    )


__all__ = ["BackupError", "BackupKeys", "KeyDigests", "backup", "records", "restore", "verify"]
