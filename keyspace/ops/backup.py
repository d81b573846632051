"""Real backups: SCAN + DUMP + PTTL into one compressed file; RESTORE with the remaining TTL.

File format (gzip of JSON lines)::

    {"format": "keyspace-backup", "version": 1, "created": ..., "server_version": ..., "records": N,
     "counts": {"UserApiKeys": 120, ...}, "match": ..., "models": [...]}
    {"i": 0, "key": <base64>, "pttl": 86399512 | -1, "dump": <base64>, "sha256": <hex>}
    ...
    {"end": true, "records": N}

Each record carries a SHA-256 of its key, TTL and payload.  Restore reads the
whole file once to verify every checksum, the record count and the trailer
before it writes anything: a damaged file restores nothing and names the bad
record.  Values are Redis' own DUMP payloads, so encrypted fields stay the
Fernet tokens they are.  Memory stays flat: records stream to a temporary
file while the header's counts are gathered.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keyspace.core.programs import ErrorReply
from keyspace.core.registry import Registry, default_registry
from keyspace.core.slots import cursor_done
from keyspace.core.template import glob_escape
from keyspace.errors import BackupError

FORMAT = "keyspace-backup"
VERSION = 1


def _digest(key: bytes, pttl: int, dump: bytes) -> str:
    return hashlib.sha256(key + b"\0" + str(pttl).encode() + b"\0" + dump).hexdigest()


def _scan(execute: Any, pattern: str | None, batch: int) -> Iterator[list[bytes]]:
    cursor: Any = 0
    while True:
        command: tuple[Any, ...] = ("SCAN", cursor, "COUNT", batch)
        if pattern:
            command = ("SCAN", cursor, "MATCH", pattern, "COUNT", batch)
        (reply,) = execute([command])
        cursor, keys = reply
        if keys:
            yield [k if isinstance(k, bytes) else k.encode() for k in keys]
        if cursor_done(cursor):
            return


def backup(
    execute: Any,
    path: str | Path,
    *,
    match: str | None = None,
    models: Sequence[str] = (),
    registry: Registry | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write a backup of the keys that match (all keys by default); returns the header."""
    registry = registry or default_registry
    specs = [registry.get(name) for name in models]
    patterns: list[str | None] = (
        [t.scan_pattern({}) for s in specs for t in s.templates] if specs else [match]
    )
    (info,) = execute([("INFO", "server")])
    version = _server_version(info)
    counts: Counter[str] = Counter()
    seen: set[bytes] = set()  # a key two models' patterns both return is written once
    n = 0
    directory = Path(path).resolve().parent
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".records") as tmp:
        try:
            for pattern in patterns:
                for keys in _scan(execute, pattern, batch):
                    if specs:
                        keys = [k for k in keys if _owned_by(k, specs) and k not in seen]
                        seen.update(keys)
                    if match and specs:
                        import fnmatch

                        keys = [k for k in keys if fnmatch.fnmatchcase(k.decode("utf-8", "replace"), match)]
                    if not keys:
                        continue
                    replies = execute([c for k in keys for c in (("PTTL", k), ("DUMP", k))])
                    for i, key in enumerate(keys):
                        pttl, dump = replies[2 * i], replies[2 * i + 1]
                        if dump is None or isinstance(dump, ErrorReply) or pttl == -2:
                            continue  # expired or deleted meanwhile
                        record = {
                            "i": n,
                            "key": base64.b64encode(key).decode(),
                            "pttl": int(pttl),
                            "dump": base64.b64encode(dump).decode(),
                            "sha256": _digest(key, int(pttl), dump),
                        }
                        tmp.write(json.dumps(record, separators=(",", ":")) + "\n")
                        found = registry.resolve(key.decode("utf-8", "replace"))
                        counts[found[0].name if found else "(no model)"] += 1
                        n += 1
                    if progress:
                        progress(n)
            tmp.close()
            header = {
                "format": FORMAT,
                "version": VERSION,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "server_version": version,
                "records": n,
                "counts": dict(counts),
                "match": match,
                "models": list(models),
            }
            final = Path(path)
            partial = final.with_suffix(final.suffix + ".partial")
            with (
                gzip.open(partial, "wt", encoding="utf-8") as out,
                open(tmp.name, encoding="utf-8") as records,
            ):
                out.write(json.dumps(header) + "\n")
                for line in records:
                    out.write(line)
                out.write(json.dumps({"end": True, "records": n}) + "\n")
            os.replace(partial, final)  # never leave a half-written file under the real name
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
    return header


def _owned_by(key: bytes, specs: Sequence[Any]) -> bool:
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(s.match(text) is not None for s in specs)


def _server_version(info: Any) -> str:
    if isinstance(info, dict):
        return str(info.get("redis_version", "?"))
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return "?"


def _records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f):
            yield number, json.loads(line)


def verify(path: str | Path) -> dict[str, Any]:
    """Check the header, every record's checksum, the count and the trailer; returns the header."""
    header: dict[str, Any] | None = None
    count = 0
    ended = False
    try:
        for number, item in _records(path):
            if number == 0:
                if item.get("format") != FORMAT or item.get("version") != VERSION:
                    raise BackupError(f"{path} is not a keyspace backup (version {VERSION})")
                header = item
                continue
            if ended:
                raise BackupError(f"data after the end marker (line {number + 1})")
            if item.get("end"):
                ended = True
                if item.get("records") != count:
                    raise BackupError(
                        f"the end marker counts {item.get('records')} records, the file has {count}"
                    )
                continue
            where = f"record {item.get('i', count)} (line {number + 1})"
            try:
                key = base64.b64decode(item["key"], validate=True)
                dump = base64.b64decode(item["dump"], validate=True)
                pttl = int(item["pttl"])
            except (KeyError, ValueError, TypeError):
                raise BackupError(f"{where} is damaged: malformed fields") from None
            if _digest(key, pttl, dump) != item.get("sha256"):
                raise BackupError(
                    f"{where}, key {key.decode('utf-8', 'replace')!r}, is damaged: checksum mismatch"
                )
            count += 1
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise BackupError(f"{path}: no such file") from None
        raise BackupError(f"{path} is damaged after record {count}: {type(exc).__name__}: {exc}") from None
    if header is None:
        raise BackupError(f"{path} is empty")
    if not ended:
        raise BackupError(f"{path} is truncated: no end marker after record {count}")
    if header.get("records") != count:
        raise BackupError(f"the header counts {header.get('records')} records, the file has {count}")
    return header


def restore(
    execute: Any,
    path: str | Path,
    *,
    replace: bool = False,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Verify the whole file, refuse to overwrite existing keys unless ``replace``, then RESTORE."""
    header = verify(path)

    def batches() -> Iterator[list[tuple[bytes, int, bytes]]]:
        chunk: list[tuple[bytes, int, bytes]] = []
        for number, item in _records(path):
            if number == 0 or item.get("end"):
                continue
            chunk.append((base64.b64decode(item["key"]), int(item["pttl"]), base64.b64decode(item["dump"])))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    if not replace:
        existing: list[str] = []
        for chunk in batches():
            found = execute([("EXISTS", key) for key, _, _ in chunk])
            existing += [k.decode("utf-8", "replace") for (k, _, _), e in zip(chunk, found, strict=True) if e]
        if existing:
            raise BackupError(
                f"{len(existing)} key(s) already exist (e.g. {', '.join(existing[:3])}); "
                "nothing was restored. Use --replace to overwrite them"
            )
    restored = 0
    failed: list[str] = []
    for chunk in batches():
        commands = []
        for key, pttl, dump in chunk:
            command: tuple[Any, ...] = ("RESTORE", key, max(pttl, 0), dump)
            commands.append((*command, "REPLACE") if replace else command)
        for (key, _, _), reply in zip(chunk, execute(commands), strict=True):
            if isinstance(reply, ErrorReply):
                failed.append(f"{key.decode('utf-8', 'replace')}: {reply}")
            else:
                restored += 1
        if progress:
            progress(restored)
    if failed:
        raise BackupError(f"{len(failed)} key(s) could not be restored: {'; '.join(failed[:3])}")
    return {"header": header, "restored": restored}


__all__ = ["BackupError", "backup", "glob_escape", "restore", "verify"]
