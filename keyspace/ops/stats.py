"""``keyspace stats``: every key of both servers, per model, with what is wrong with it.

One SCAN per server (``scan_batches``, never KEYS).  Each key is placed (a key
of a model, a key in a model's shape that fails its key types, a key of no
model, keyspace's own); the keys of a model are read in one pipeline per
batch, their secrets classified once (keyspace.ops.census) and the whole
record decoded from those verdicts.  Written as a plan (keyspace.ops.plan), so
it runs on Mapper and AsyncMapper alike.  Nothing here ever holds a secret in
its result: forms are counted, keys are named, values never.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keyspace.core.crypto import Keyring
from keyspace.core.model import ModelSpec
from keyspace.core.programs import Call, ErrorReply, Program, ScanBatch, fetch, scan_batches
from keyspace.core.registry import Registry, default_registry
from keyspace.ops import census as cz
from keyspace.ops.plan import OnServer, Plan, drive, for_each
from keyspace.ops.record import decode_record

MAX_SAMPLES = 20
COUNTED = frozenset({"ttl_mismatch", "wrong_type", "corrupt", "mistyped"})
Progress = Callable[[str, int, int], None]


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | bytes | str) and not isinstance(value, ErrorReply) else 0


@dataclass
class Forms:
    """Secret values by form, and the keys holding at least one of each form."""

    values: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)

    def add(self, forms: list[str]) -> None:
        self.values.update(forms)
        self.keys.update(set(forms))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"values": dict(self.values), "keys": dict(self.keys)}


@dataclass
class ModelStats:
    """One model's keys and problems (counts, and up to MAX_SAMPLES keys per problem)."""

    model: str
    server: str
    keys: int = 0
    memory_sampled: int = 0  # bytes, over the sampled keys
    memory_samples: int = 0
    ttl_mismatch: int = 0
    wrong_type: int = 0
    corrupt: int = 0
    mistyped: int = 0  # keys in this model's shape that fail its key types
    vanished: int = 0  # deleted between SCAN and read
    encrypted: Forms = field(default_factory=Forms)  # Encrypted[...] fields
    masked: Forms = field(default_factory=Forms)  # Masked[...] fields: plaintext by policy
    unread_secrets: int = 0  # keys with a secret whose plaintext could not be read (validated without it)
    problem_keys: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    reasons: dict[str, str] = field(default_factory=dict)  # key -> why (corrupt, mistyped)

    @property
    def memory_estimate(self) -> int | None:
        if not self.memory_samples:
            return None
        return round(self.memory_sampled / self.memory_samples * self.keys)

    # the counts the CLI and doctor read by name
    @property
    def plaintext(self) -> int:
        """Keys holding legacy plaintext in an Encrypted field (awaiting migration)."""
        return self.encrypted.keys["plaintext"]

    @property
    def policy_plaintext(self) -> int:
        """Keys holding plaintext in a Masked field (stored so by policy)."""
        return self.masked.keys["plaintext"]

    @property
    def old_key(self) -> int:
        return self.encrypted.keys["old"]

    @property
    def undecryptable(self) -> int:
        return self.encrypted.keys["undecryptable"]

    @property
    def suspicious(self) -> int:
        return self.encrypted.keys["suspicious"] + self.masked.keys["suspicious"]

    def note(self, kind: str, key: str, reason: str = "") -> None:
        """Count a problem (one of COUNTED) and keep the key as a sample."""
        if kind not in COUNTED:
            raise ValueError(f"not a counted problem: {kind}")
        setattr(self, kind, getattr(self, kind) + 1)
        self.sample(kind, key, reason)

    def sample(self, kind: str, key: str, reason: str = "") -> None:
        """Keep ``key`` if it is among the MAX_SAMPLES smallest of its kind: the same keys whatever
        order SCAN met them in (two runs over the same data show the same samples)."""
        kept = self.problem_keys[kind]
        if key in kept or (len(kept) >= MAX_SAMPLES and key > kept[-1]):
            return
        bisect.insort(kept, key)
        if reason:
            self.reasons[key] = reason
        if len(kept) > MAX_SAMPLES:
            dropped = kept.pop()
            if not any(dropped in keys for keys in self.problem_keys.values()):
                self.reasons.pop(dropped, None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "server": self.server,
            "keys": self.keys,
            "memory_estimate_bytes": self.memory_estimate,
            "ttl_mismatch": self.ttl_mismatch,
            "plaintext_secrets": self.plaintext,
            "policy_plaintext_secrets": self.policy_plaintext,
            "old_key_secrets": self.old_key,
            "undecryptable": self.undecryptable,
            "suspicious": self.suspicious,
            "wrong_type": self.wrong_type,
            "corrupt": self.corrupt,
            "fails_key_types": self.mistyped,
            "unread_secrets": self.unread_secrets,
            "encrypted_forms": self.encrypted.as_dict(),
            "masked_forms": self.masked.as_dict(),
            "problem_keys": {k: list(v) for k, v in self.problem_keys.items()},
            "reasons": dict(self.reasons),
        }


@dataclass
class KeyspaceStats:
    """Both servers: per model, keys of no model, what was scanned and whether it was all of it."""

    models: dict[str, ModelStats] = field(default_factory=dict)
    unowned: Counter[str] = field(default_factory=Counter)  # server -> count
    unowned_samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    internal: Counter[str] = field(default_factory=Counter)  # keyspace's own keys, per server
    scanned: Counter[str] = field(default_factory=Counter)
    total: dict[str, int] = field(default_factory=dict)  # DBSIZE per server
    sampled: bool = False
    complete: dict[str, bool] = field(default_factory=dict)  # server -> every key looked at
    verified: bool = False  # secrets checked with a key (else by shape only)
    fingerprints: tuple[str, ...] = ()  # the keys tried

    def model(self, spec: ModelSpec) -> ModelStats:
        found = self.models.get(spec.name)
        if found is None:
            found = self.models[spec.name] = ModelStats(spec.name, spec.server)
        return found

    @property
    def everything(self) -> bool:
        """Whether every key of every server was looked at (no --sample cut it short)."""
        return bool(self.complete) and all(self.complete.values())

    def totals(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for m in self.models.values():
            for kind in (
                "plaintext",
                "policy_plaintext",
                "undecryptable",
                "suspicious",
                "wrong_type",
                "corrupt",
                "mistyped",
                "ttl_mismatch",
                "old_key",
                "unread_secrets",
            ):
                out[kind] += getattr(m, kind)
            out["bare"] += m.encrypted.keys["bare"]
            out["nested"] += m.encrypted.keys["nested"]
        return dict(out)

    def forms(self, family: str = "encrypted") -> Forms:
        """Secret forms summed over every model."""
        total = Forms()
        for m in self.models.values():
            part: Forms = getattr(m, family)
            total.values.update(part.values)
            total.keys.update(part.keys)
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "models": [m.as_dict() for m in self.models.values()],
            "unowned": dict(self.unowned),
            "unowned_samples": {k: list(v) for k, v in self.unowned_samples.items()},
            "internal": dict(self.internal),
            "scanned": dict(self.scanned),
            "dbsize": self.total,
            "sampled": self.sampled,
            "complete": dict(self.complete),
            "verified": self.verified,
            "fingerprints": list(self.fingerprints),
            "totals": self.totals(),
            "encrypted_forms": self.forms("encrypted").as_dict(),
            "masked_forms": self.forms("masked").as_dict(),
        }


@dataclass
class ScanJob:
    """What one server's scan needs to know."""

    server: str
    specs: list[ModelSpec]
    keyring: Keyring | None
    ttl_of: Callable[[ModelSpec], Any]
    sample: int | None
    memory_samples: int
    count: int
    progress: Progress | None


def server_stats(stats: KeyspaceStats, job: ScanJob) -> Program[None]:
    """The program that scans one server into ``stats``."""
    (dbsize,) = yield Call([("DBSIZE",)])
    stats.total[job.server] = _int(dbsize)
    stats.complete[job.server] = False
    seen = 0

    def on_batch(batch: ScanBatch) -> Program[bool]:
        nonlocal seen
        groups: dict[str, tuple[ModelSpec, list[tuple[str, dict[str, str]]]]] = {}
        for raw in cz.raw_keys(batch):
            found = cz.place_key(raw, job.specs)
            if found.place == "model":
                assert found.spec is not None and found.values is not None
                groups.setdefault(found.spec.name, (found.spec, []))[1].append((found.key, found.values))
            elif found.place == "mistyped":
                assert found.spec is not None
                stats.model(found.spec).note("mistyped", found.key, found.reason)
            elif found.place == "internal":
                stats.internal[job.server] += 1
            else:
                stats.unowned[job.server] += 1
                unowned = stats.unowned_samples[job.server]  # the smallest keys, as ModelStats.sample
                if found.key not in unowned and (len(unowned) < MAX_SAMPLES or found.key < unowned[-1]):
                    bisect.insort(unowned, found.key)
                    del unowned[MAX_SAMPLES:]
        for spec, located in groups.values():
            yield from _inspect_group(stats.model(spec), spec, located, job)
        seen += len(batch.keys) + len(batch.undecodable)
        stats.scanned[job.server] = seen
        if job.progress:
            job.progress(job.server, seen, stats.total[job.server])
        if batch.done:
            stats.complete[job.server] = True
        return job.sample is not None and seen >= job.sample and not batch.done

    yield from for_each(scan_batches(None, count=job.count), on_batch)


def _inspect_group(
    ms: ModelStats, spec: ModelSpec, located: list[tuple[str, dict[str, str]]], job: ScanJob
) -> Program[None]:
    keys = [k for k, _ in located]
    ms.keys += len(keys)
    policy = job.ttl_of(spec)
    judged = policy is None or isinstance(policy, int)  # "keep": no opinion on TTLs (other writers expire)
    room = max(0, job.memory_samples - ms.memory_samples)
    replies = yield Call([("TTL", k) for k in keys] + [("MEMORY", "USAGE", k) for k in keys[:room]])
    ttls, usage = replies[: len(keys)], replies[len(keys) :]
    for key, ttl in zip(keys, ttls, strict=True):
        if judged and isinstance(ttl, int) and ttl != -2 and ((policy is None) != (ttl == -1)):
            ms.note("ttl_mismatch", key)
    for value in usage:
        if isinstance(value, int):
            ms.memory_sampled += value
            ms.memory_samples += 1
    replies = yield from fetch(spec, keys)
    for (key, values), reply in zip(located, replies, strict=True):
        _inspect_record(ms, spec, key, values, reply, job.keyring)


def _inspect_record(
    ms: ModelStats, spec: ModelSpec, key: str, values: dict[str, str], reply: Any, keyring: Keyring | None
) -> None:
    read = decode_record(spec, key, values, reply, keyring)
    if not read.exists:
        ms.vanished += 1  # deleted (or expired) between SCAN and the read
        return
    if read.problem in ("wrong_type", "corrupt"):
        ms.note(read.problem, key, read.error)
    if read.census is None:
        return
    encrypted = [v.form for v in read.census.values if v.family == "encrypted"]
    masked = [v.form for v in read.census.values if v.family == "masked"]
    if encrypted:
        ms.encrypted.add(encrypted)
        for form in set(encrypted) - {"current", "empty"}:
            ms.sample(f"encrypted:{form}", key)
    if masked:
        ms.masked.add(masked)
        for form in set(masked) - {"empty"}:
            ms.sample(f"masked:{form}", key)
    if read.census.unread:
        ms.unread_secrets += 1


def servers_of(mapper: Any) -> list[str]:
    """The servers to look at: app, and celery unless it is the same Redis."""
    return ["app"] if mapper.same_server("app", "celery") else ["app", "celery"]


def specs_for(registry: Registry, server: str, alone: bool) -> list[ModelSpec]:
    """The models whose keys live on ``server`` (every model when both names lead to one Redis)."""
    return [s for s in registry if alone or s.server == server]


def stats_plan(
    mapper: Any,
    *,
    sample: int | None = None,
    memory_samples: int = 20,
    batch: int = 1000,
    registry: Registry | None = None,
    progress: Progress | None = None,
) -> Plan[KeyspaceStats]:
    registry = registry or default_registry
    keyring = mapper.ctx.keyring
    stats = KeyspaceStats(
        sampled=sample is not None,
        verified=keyring is not None,
        fingerprints=keyring.fingerprints if keyring is not None else (),
    )
    servers = servers_of(mapper)
    for server in servers:
        job = ScanJob(
            server,
            specs_for(registry, server, len(servers) == 1),
            keyring,
            mapper.ttl_policy,
            sample,
            memory_samples,
            batch,
            progress,
        )
        yield OnServer(server, server_stats(stats, job))
    # Models in the registry's order, not in the order SCAN happened to meet them: SCAN's order changes
    # with the server's rehashing, and two runs over the same data must report the same models, counts
    # and sample keys (the memory estimate alone depends on which keys were sampled first).
    order = {spec.name: i for i, spec in enumerate(registry)}
    stats.models = dict(sorted(stats.models.items(), key=lambda item: order.get(item[0], len(order))))
    return stats


def collect_stats(
    mapper: Any,
    *,
    sample: int | None = None,
    memory_samples: int = 20,
    batch: int = 1000,
    registry: Registry | None = None,
    progress: Progress | None = None,
) -> Any:
    """Per model: keys, memory estimate, TTL mismatches, secrets by form, bad and mistyped keys.

    ``sample`` stops each server's scan after about that many keys (the result
    says so: ``sampled``, ``complete``).  Returns :class:`KeyspaceStats` on a
    Mapper, an awaitable of it on an AsyncMapper.
    """
    return drive(
        mapper,
        stats_plan(
            mapper,
            sample=sample,
            memory_samples=memory_samples,
            batch=batch,
            registry=registry,
            progress=progress,
        ),
    )
