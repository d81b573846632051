"""What the operator commands look at: one key, the whole keyspace, the health of a deployment.

Everything here reads through the mapper's links (breaker, budgets) and SCAN
(never KEYS), and never puts a secret in its result unless ``reveal`` is
asked for explicitly.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from keyspace.core import codec
from keyspace.core import programs as commands
from keyspace.core.model import ModelSpec
from keyspace.core.programs import ErrorReply
from keyspace.core.registry import Registry, default_registry
from keyspace.core.secret import reveal as reveal_value
from keyspace.core.slots import cursor_done
from keyspace.errors import (
    CorruptValue,
    EncryptionKeyMissing,
    KeyspaceError,
    UndecryptableValue,
    ValidationFailed,
    WrongType,
)
from keyspace.io.drive import run
from keyspace.mapper import Mapper

MASK = "**********"
INTERNAL_PREFIX = "keyspace:"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# --- one key ------------------------------------------------------------------------


def describe_key(
    mapper: Mapper, key: str, *, reveal: bool = False, registry: Registry | None = None
) -> dict[str, Any]:
    """Model, key values, Redis type, TTL and decoded fields of one key (secrets masked)."""
    registry = registry or default_registry
    found = registry.resolve(key)
    if found is None:
        raise KeyError(f"{key!r} belongs to no model (see `keyspace schema`)")
    spec, values = found
    execute = mapper._executors[spec.server]
    kind, ttl = execute([("TYPE", key), ("TTL", key)])
    out: dict[str, Any] = {
        "key": key,
        "model": spec.name,
        "server": spec.server,
        "key_values": values,
        "redis_type": _text(kind),
        "ttl": None if ttl == -1 else ttl,
        "ttl_policy": mapper.ttl_policy(spec),
        "exists": ttl != -2,
    }
    if ttl == -2:
        return out
    instance = mapper.get(spec.model, **values)
    fields: dict[str, Any] = {}
    for name in spec.value_fields:
        value = getattr(instance, name)
        if spec.value_fields[name].encrypted and value is not None:
            fields[name] = reveal_value(value) if reveal else MASK
        else:
            fields[name] = value
    fields.update(instance.model_extra or {})
    if instance.unknown_fields:
        out["unknown_fields"] = dict(instance.unknown_fields)
    out["fields"] = fields
    out["encrypted_fields"] = list(spec.encrypted_fields)
    return out


# --- the whole keyspace -------------------------------------------------------------------


@dataclass
class ModelStats:
    model: str
    server: str
    keys: int = 0
    memory_sampled: int = 0  # bytes, over the sampled keys
    memory_samples: int = 0
    ttl_mismatch: int = 0
    plaintext: int = 0  # values of encrypted fields still in plaintext
    old_key: int = 0
    undecryptable: int = 0
    wrong_type: int = 0
    corrupt: int = 0
    problem_keys: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def memory_estimate(self) -> int | None:
        if not self.memory_samples:
            return None
        return round(self.memory_sampled / self.memory_samples * self.keys)

    def note(self, kind: str, key: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.problem_keys[kind]) < 20:
            self.problem_keys[kind].append(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "server": self.server,
            "keys": self.keys,
            "memory_estimate_bytes": self.memory_estimate,
            "ttl_mismatch": self.ttl_mismatch,
            "plaintext_secrets": self.plaintext,
            "old_key_secrets": self.old_key,
            "undecryptable": self.undecryptable,
            "wrong_type": self.wrong_type,
            "corrupt": self.corrupt,
            "problem_keys": {k: list(v) for k, v in self.problem_keys.items()},
        }


@dataclass
class KeyspaceStats:
    models: dict[str, ModelStats] = field(default_factory=dict)
    unowned: Counter[str] = field(default_factory=Counter)  # server -> count
    unowned_samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    scanned: dict[str, int] = field(default_factory=Counter)
    total: dict[str, int] = field(default_factory=dict)  # DBSIZE per server
    sampled: bool = False

    def totals(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for m in self.models.values():
            for kind in ("plaintext", "undecryptable", "wrong_type", "corrupt", "ttl_mismatch", "old_key"):
                out[kind] += getattr(m, kind)
        return dict(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "models": [m.as_dict() for m in self.models.values()],
            "unowned": dict(self.unowned),
            "unowned_samples": {k: list(v) for k, v in self.unowned_samples.items()},
            "scanned": dict(self.scanned),
            "dbsize": self.total,
            "sampled": self.sampled,
            "totals": self.totals(),
        }


def _scan_all(execute: Any, count: int) -> Iterator[list[str]]:
    cursor: Any = 0
    while True:
        (reply,) = execute([("SCAN", cursor, "COUNT", count)])
        cursor, raw = reply
        keys = []
        for r in raw:
            try:
                keys.append(r.decode("utf-8") if isinstance(r, bytes) else r)
            except UnicodeDecodeError:
                keys.append(r.decode("utf-8", "backslashreplace"))
        if keys:
            yield keys
        if cursor_done(cursor):
            return


def collect_stats(
    mapper: Mapper,
    *,
    sample: int | None = None,
    memory_samples: int = 20,
    batch: int = 1000,
    registry: Registry | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> KeyspaceStats:
    """Per model: keys, memory estimate, TTL mismatches, plaintext/undecryptable secrets, bad values."""
    registry = registry or default_registry
    stats = KeyspaceStats(sampled=sample is not None)
    servers = {"app": mapper._executors["app"]}
    if mapper.links["celery"] is not mapper.links["app"]:
        servers["celery"] = mapper._executors["celery"]
    for server, execute in servers.items():
        (dbsize,) = execute([("DBSIZE",)])
        stats.total[server] = int(dbsize)
        seen = 0
        for keys in _scan_all(execute, batch):
            groups: dict[str, tuple[ModelSpec, list[tuple[str, dict[str, str]]]]] = {}
            for key in keys:
                if key.startswith(INTERNAL_PREFIX):
                    continue
                found = registry.resolve(key, server=None if len(servers) == 1 else server)
                if found is None:
                    stats.unowned[server] += 1
                    if len(stats.unowned_samples[server]) < 20:
                        stats.unowned_samples[server].append(key)
                    continue
                spec, values = found
                groups.setdefault(spec.name, (spec, []))[1].append((key, values))
            for spec, located in groups.values():
                _inspect_group(mapper, execute, stats, spec, located, memory_samples)
            seen += len(keys)
            stats.scanned[server] = seen
            if progress:
                progress(server, seen, stats.total[server])
            if sample is not None and seen >= sample:
                break
    return stats


def _inspect_group(
    mapper: Mapper,
    execute: Any,
    stats: KeyspaceStats,
    spec: ModelSpec,
    located: list[tuple[str, dict[str, str]]],
    memory_samples: int,
) -> None:
    ms = stats.models.get(spec.name)
    if ms is None:
        ms = stats.models[spec.name] = ModelStats(spec.name, spec.server)
    keys = [k for k, _ in located]
    ms.keys += len(keys)
    policy = mapper.ttl_policy(spec)
    room = max(0, memory_samples - ms.memory_samples)
    # TTLs and the memory sample in one round trip
    replies = execute([("TTL", k) for k in keys] + [("MEMORY", "USAGE", k) for k in keys[:room]])
    ttls, usage = replies[: len(keys)], replies[len(keys) :]
    for key, ttl in zip(keys, ttls, strict=True):
        if isinstance(ttl, int) and ttl != -2 and ((policy is None) != (ttl == -1)):
            ms.note("ttl_mismatch", key)
    if usage:
        for value in usage:
            if isinstance(value, int):
                ms.memory_sampled += value
                ms.memory_samples += 1
    replies = run(execute, commands.fetch(spec, keys))
    keyring = mapper.ctx.keyring
    for (key, values), reply in zip(located, replies, strict=True):
        if isinstance(reply, ErrorReply):
            ms.note("wrong_type" if reply.startswith("WRONGTYPE") else "corrupt", key)
            continue
        if reply is None:
            continue
        if spec.encrypted_fields and keyring is not None:
            from keyspace.ops.migrate.operations import classify_fields

            kinds = Counter(classify_fields(spec, reply, keyring))
            if kinds["plaintext"]:
                ms.note("plaintext", key)
            if kinds["old"]:
                ms.note("old_key", key)
            if kinds["undecryptable"]:
                ms.note("undecryptable", key)
                continue
        try:
            ctx = codec.CodecContext(keyring=keyring, plaintext_reads="allow")
            codec.DECODERS[spec.kind](spec, key, values, reply, ctx)
        except UndecryptableValue:
            ms.note("undecryptable", key)
        except EncryptionKeyMissing:
            pass  # without a key, secrets cannot be checked (doctor says so)
        except (CorruptValue, ValidationFailed, WrongType, KeyspaceError):
            ms.note("corrupt", key)


# --- doctor ---------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    status: str  # ok / warn / fail
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "message": self.message, "fix": self.fix}


def _server_check(mapper: Mapper, server: str) -> Check:
    execute = mapper._executors[server]
    try:
        started = time.perf_counter()
        execute([("PING",)])
        latency = (time.perf_counter() - started) * 1000
        (info,) = execute([("INFO", "server")])
        version = _info_field(info, "redis_version") or "?"
    except Exception as exc:
        return Check(
            f"{server} server",
            "fail",
            f"unreachable: {type(exc).__name__}: {exc}",
            "check REDIS_HOST/REDIS_PORT/REDIS_PASSWORD (or CELERY_*_OVERRIDE) and that the server runs",
        )
    status = "ok" if latency < 100 else "warn"
    return Check(
        f"{server} server",
        status,
        f"reachable, Redis {version}, latency {latency:.1f} ms",
        "" if status == "ok" else "the server is slow to answer: check network and load",
    )


def _info_field(info: Any, name: str) -> str | None:
    if isinstance(info, dict):
        value = info.get(name)
        return None if value is None else str(value)
    for line in _text(info).splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def run_doctor(mapper: Mapper, *, okx_uid: str | None = None, sample: int | None = None) -> list[Check]:
    checks = [_server_check(mapper, "app")]
    if mapper.links["celery"] is not mapper.links["app"]:
        checks.append(_server_check(mapper, "celery"))
    if any(c.status == "fail" for c in checks if c.name == "app server"):
        return checks
    keyring = mapper.ctx.keyring
    if keyring is None:
        checks.append(
            Check(
                "ENCRYPTION_KEY",
                "fail",
                "not set: encrypted fields cannot be read or written",
                "generate one with `keyspace keygen`, put it in .env as ENCRYPTION_KEY, restart",
            )
        )
    stats = collect_stats(mapper, sample=sample, memory_samples=0)
    totals = stats.totals()
    if keyring is not None:
        current = sum(ms.keys for ms in stats.models.values() if ms.model == "UserApiKeys")
        bad = totals.get("undecryptable", 0)
        if current and bad >= current:
            checks.append(
                Check(
                    "ENCRYPTION_KEY",
                    "fail",
                    f"key {keyring.current_fingerprint} decrypts none of the stored secrets",
                    "set the ENCRYPTION_KEY the application used (or add it to ENCRYPTION_OLD_KEYS)",
                )
            )
        else:
            checks.append(
                Check(
                    "ENCRYPTION_KEY",
                    "ok",
                    f"valid (fingerprint {keyring.current_fingerprint}); decrypts the stored secrets",
                )
            )
    plain = totals.get("plaintext", 0)
    checks.append(
        Check(
            "plaintext secrets",
            "warn",
            f"{plain} key(s) still hold plaintext secrets",
            "run `keyspace migrate up` (0001 encrypts them in place)",
        )
        if plain
        else Check("plaintext secrets", "ok", "none left")
    )
    old = totals.get("old_key", 0)
    if old:
        checks.append(
            Check(
                "retired keys",
                "warn",
                f"{old} key(s) hold tokens under ENCRYPTION_OLD_KEYS",
                "run `keyspace rotate-keys`, then `keyspace migrate verify`",
            )
        )
    bad_parts = {k: totals.get(k, 0) for k in ("undecryptable", "wrong_type", "corrupt") if totals.get(k, 0)}
    if bad_parts:
        samples = [
            key for ms in stats.models.values() for kind in bad_parts for key in ms.problem_keys.get(kind, [])
        ]
        checks.append(
            Check(
                "bad keys",
                "fail",
                ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in bad_parts.items())
                + f": {', '.join(samples[:6])}",
                "inspect with `keyspace show KEY`; re-register (/setapi) or delete the key",
            )
        )
    else:
        checks.append(Check("bad keys", "ok", "every key of every model decodes"))
    if totals.get("ttl_mismatch"):
        checks.append(
            Check(
                "TTL policy",
                "warn",
                f"{totals['ttl_mismatch']} key(s) disagree with their TTL policy",
                "run `keyspace migrate up` (0002 applies the TTL policy)",
            )
        )
    try:
        from keyspace.ops.migrate import Runner

        pending = [mig.id for mig in Runner(mapper).pending()]
        checks.append(
            Check("migrations", "warn", f"pending: {', '.join(pending)}", "run `keyspace migrate up`")
            if pending
            else Check("migrations", "ok", "none pending")
        )
    except Exception as exc:
        checks.append(Check("migrations", "warn", f"cannot read migration state: {exc}", ""))
    for server, snap in mapper.breakers().items():
        if server == "celery" and mapper.links["celery"] is mapper.links["app"]:
            continue
        checks.append(
            Check(
                f"{server} breaker",
                "ok" if snap.state == "closed" else "warn",
                snap.state,
                "" if snap.state == "closed" else "the server failed recently; see the logs",
            )
        )
    if okx_uid is not None:
        from types import SimpleNamespace

        m = SimpleNamespace(**{spec.name: spec.model for spec in default_registry})
        checks.extend(_user_checks(mapper, m, okx_uid))
    return checks


def _user_checks(mapper: Mapper, m: Any, okx_uid: str) -> list[Check]:
    out: list[Check] = []
    try:
        keys = mapper.get(m.UserApiKeys, okx_uid=okx_uid)
    except UndecryptableValue:
        out.append(
            Check(
                "API keys",
                "fail",
                "present but not decryptable with the configured keys",
                "re-register the API keys in Telegram with /setapi",
            )
        )
        keys = None
    except KeyspaceError as exc:
        out.append(
            Check("API keys", "fail", f"unreadable: {exc.reason}", "re-register the API keys with /setapi")
        )
        keys = None
    else:
        if keys is None:
            out.append(
                Check(
                    "API keys",
                    "fail",
                    "API keys not found",
                    "re-register the API keys in Telegram with /setapi",
                )
            )
        else:
            out.append(Check("API keys", "ok", "present and decryptable"))
    status = mapper.get(m.TradingStatus, okx_uid=okx_uid)
    if status is None:
        out.append(
            Check("trading status", "warn", "no trading status", "start trading in Telegram with /start")
        )
    elif status.status == "running":
        out.append(Check("trading status", "ok", "running"))
    elif status.status == "stopped":
        out.append(
            Check(
                "trading status",
                "warn",
                "stopped: this user is not an active trader",
                "start trading in Telegram with /start",
            )
        )
    else:
        out.append(
            Check(
                "trading status",
                "fail",
                "error: the bot stopped on an error",
                "check the bot's logs, then /start again",
            )
        )
    positions = list(mapper.scan_keys(m.Position, user_id=okx_uid))
    out.append(
        Check(
            "positions",
            "ok",
            f"{len(positions)} open position(s)"
            + (f": {', '.join(k.split(':', 3)[3] for k in positions[:5])}" if positions else ""),
        )
    )
    return out
