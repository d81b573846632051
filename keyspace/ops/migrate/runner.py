"""Runs migrations: locked, checkpointed after every batch, compare-and-set per key.

The runner scans each target model's keys with SCAN + MATCH (never KEYS, no
de-duplication set: memory stays flat and every operation is idempotent, so a
key SCAN returns twice is simply found already done), reads a batch in one
pipeline, lets the operation decide per key (pure), and writes the changes in
one pipeline of compare-and-set calls.  A key the application changed in
between is re-read and decided again.  After every batch the SCAN cursor and
the counters are saved, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyspace.core.model import ModelSpec
from keyspace.core.programs import ErrorReply
from keyspace.core.registry import Registry, default_registry
from keyspace.core.slots import cursor_done
from keyspace.errors import MigrationError
from keyspace.io.project import MigrationLocation, Project
from keyspace.mapper import Mapper
from keyspace.ops.migrate.operations import (
    Decision,
    Hook,
    Migration,
    Operation,
    OperationContext,
    classify_fields,
)
from keyspace.ops.migrate.state import LeaseLock, StateStore, now_iso

MAX_CONFLICT_RETRIES = 10
MAX_KEYS_PER_ERROR = 50
_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.py$")


@dataclass
class Report:
    """What a run did (or, for a plan, would do).  Keys only, never values."""

    scanned: int = 0
    changed: int = 0
    already: int = 0
    conflicts: int = 0  # compare-and-set retries because the application wrote meanwhile
    skipped: Counter[str] = field(default_factory=Counter)
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_field: Counter[str] = field(default_factory=Counter)  # "Model.field" -> changes
    samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def skip(self, kind: str, key: str) -> None:
        self.skipped[kind] += 1
        if len(self.errors[kind]) < MAX_KEYS_PER_ERROR:
            self.errors[kind].append(key)

    @property
    def ok(self) -> bool:
        return not self.skipped

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "changed": self.changed,
            "already": self.already,
            "conflicts": self.conflicts,
            "skipped": dict(self.skipped),
            "errors": {k: list(v) for k, v in self.errors.items()},
            "by_field": dict(self.by_field),
            "samples": {k: list(v) for k, v in self.samples.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        report = cls(
            scanned=data.get("scanned", 0),
            changed=data.get("changed", 0),
            already=data.get("already", 0),
            conflicts=data.get("conflicts", 0),
        )
        report.skipped.update(data.get("skipped", {}))
        for kind, keys in data.get("errors", {}).items():
            report.errors[kind].extend(keys)
        report.by_field.update(data.get("by_field", {}))
        for model, keys in data.get("samples", {}).items():
            report.samples[model].extend(keys)
        return report


def load_migrations(location: MigrationLocation | Path | str) -> list[Migration]:
    """Every ``NNNN_name.py`` of one location, with ids qualified by the location's name.

    A bare folder is a location named after the folder.  Only files named
    ``NNNN_name.py`` are imported, and each must define ``migration = Migration(...)``.
    """
    if not isinstance(location, MigrationLocation):
        path = Path(location)
        location = MigrationLocation(path.resolve().name, path)
    directory = Path(location.path)
    if not directory.is_dir():
        raise MigrationError(f"migrations location {location.name!r}: {directory} is not a folder")
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.py")):
        match = _NAME.match(path.name)
        if not match:
            continue
        source = path.read_text(encoding="utf-8")
        module_name = f"keyspace_migration_{location.name}_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        migration = getattr(module, "migration", None)
        if not isinstance(migration, Migration):
            raise MigrationError(f"{path.name} does not define `migration = Migration(...)`")
        if migration.id != match.group(1):
            raise MigrationError(
                f"{path.name} declares id {migration.id!r}; the file name says {match.group(1)!r}"
            )
        if migration.id in found:
            raise MigrationError(f"two migrations of {location.name!r} have id {migration.id}")
        migration.source = source
        migration.number = migration.id
        migration.location = location.name
        found[migration.id] = migration
    for migration in found.values():
        migration.depends_on = tuple(
            dep if "/" in dep else f"{location.name}/{dep}" for dep in migration.depends_on
        )
        migration.id = f"{location.name}/{migration.number}"
    return list(found.values())


def load_all(locations: Sequence[MigrationLocation]) -> list[Migration]:
    """The migrations of every location, in dependency order (location order, then number)."""
    found: dict[str, Migration] = {}
    for location in locations:
        for migration in load_migrations(location):
            found[migration.id] = migration
    for migration in found.values():
        for dep in migration.depends_on:
            if dep not in found:
                raise MigrationError(f"migration {migration.id} depends on unknown {dep}")
    return _ordered(found)


def _ordered(found: dict[str, Migration]) -> list[Migration]:
    out: list[Migration] = []
    state: dict[str, int] = {}

    def visit(mid: str) -> None:
        if state.get(mid) == 2:
            return
        if state.get(mid) == 1:
            raise MigrationError(f"dependency cycle through migration {mid}")
        state[mid] = 1
        for dep in sorted(found[mid].depends_on):
            visit(dep)
        state[mid] = 2
        out.append(found[mid])

    for mid in found:  # location order, then number (files are read sorted)
        visit(mid)
    return out


def checksum(migration: Migration) -> str:
    return hashlib.sha256(migration.source.encode("utf-8")).hexdigest()[:16]


class Runner:
    """The engine behind ``keyspace migrate …`` and ``keyspace rotate-keys``."""

    def __init__(
        self,
        mapper: Mapper,
        *,
        directory: Path | str | None = None,
        locations: Sequence[MigrationLocation] | None = None,
        project: Project | None = None,
        registry: Registry | None = None,
        batch: int = 500,
        rate: float | None = None,
        lease: float = 30.0,
        allow_plaintext: bool = False,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> None:
        self.mapper = mapper
        self.execute = mapper._executors["app"]
        self.state = StateStore(self.execute)
        self._directory = directory
        self._locations = tuple(locations) if locations is not None else None
        self._project = project
        self.registry = registry or default_registry
        self.batch = batch
        self.rate = rate
        self.lease = lease
        self.progress = progress
        self.octx = OperationContext(
            keyring=mapper.ctx.keyring,
            registry=self.registry,
            ttl_of=mapper.ttl_policy,
            allow_plaintext=allow_plaintext,
        )
        self._migrations: list[Migration] | None = None

    # --- what exists --------------------------------------------------------------

    @property
    def locations(self) -> tuple[MigrationLocation, ...]:
        """The migration folders this runner reads (resolved on first use: rotate-keys needs none)."""
        if self._locations is None:
            project = self._project or Project.discover()
            if self._directory is not None:
                self._locations = (project.location(self._directory),)
            else:
                self._locations = project.require_migrations()
                if self.registry is default_registry:
                    project.load_models()  # the configured migrations act on the configured schema
        return self._locations

    @property
    def migrations(self) -> list[Migration]:
        if self._migrations is None:
            self._migrations = load_all(self.locations)
        return self._migrations

    def find(self, migration_id: str) -> Migration:
        """A migration by its full id (``location/0001``) or, when unambiguous, its number."""
        found = [m for m in self.migrations if migration_id in (m.id, m.number)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(m.id for m in self.migrations)
        what = "ambiguous" if found else "no"
        raise MigrationError(f"{what} migration {migration_id!r} (known: {known})")

    def applied(self) -> dict[str, dict[str, Any]]:
        """Applied records by full id.

        Records written before ids were qualified by location (a bare ``0001``)
        belong to the location whose script of that number has the recorded
        checksum; any other bare record stays unknown (and its number pending).
        """
        records = self.state.applied()
        out = {k: v for k, v in records.items() if "/" in k}
        for bare, record in records.items():
            if "/" in bare:
                continue
            for migration in self.migrations:
                if (
                    migration.number == bare
                    and migration.id not in out
                    and record.get("checksum") == checksum(migration)
                ):
                    out[migration.id] = record
                    break
            else:
                out[bare] = record
        return out

    def status(self) -> dict[str, Any]:
        applied = self.applied()
        rows = []
        for migration in self.migrations:
            record = applied.get(migration.id)
            current = checksum(migration)
            rows.append(
                {
                    "id": migration.id,
                    "description": migration.description,
                    "depends_on": list(migration.depends_on),
                    "state": "applied" if record else "pending",
                    "applied_at": record.get("applied_at") if record else None,
                    "duration_s": record.get("duration_s") if record else None,
                    "counts": record.get("counts") if record else None,
                    "stamped": bool(record and record.get("stamped")),
                    "checksum": current,
                    "modified": bool(record and record.get("checksum") not in (None, current)),
                    "checkpoint": bool(not record and self.state.checkpoints(migration.id)),
                }
            )
        unknown = sorted(set(applied) - {m.id for m in self.migrations})
        return {"migrations": rows, "lock": self.state.lock_holder(), "applied_unknown": unknown}

    def pending(self, to: str | None = None) -> list[Migration]:
        applied = self.applied()
        todo = [m for m in self.migrations if m.id not in applied]
        if to is None:
            return todo
        target = self.find(to)
        needed = self._closure(target)
        return [m for m in todo if m.id in needed]

    def _closure(self, migration: Migration) -> set[str]:
        out = {migration.id}
        for dep in migration.depends_on:
            out |= self._closure(self.find(dep))
        return out

    # --- running ----------------------------------------------------------------------

    def plan(self, to: str | None = None) -> dict[str, Report]:
        """Dry run: what ``up`` would change, per migration.  Writes nothing."""
        out: dict[str, Report] = {}
        for migration in self.pending(to):
            report = Report()
            for index, op in enumerate(migration.operations):
                self._require_key(op)
                for spec in op.targets(self.octx):
                    for template in spec.templates:
                        self._scan_part(migration.id, index, op, spec, template.pattern, report, dry_run=True)
            out[migration.id] = report
        return out

    def up(self, to: str | None = None) -> dict[str, Report]:
        """Apply pending migrations (up to ``to``) under the lock."""
        results: dict[str, Report] = {}
        with LeaseLock(self.execute, self.lease, "migrate up") as lock:
            for migration in self.pending(to):
                results[migration.id] = self._apply(migration, migration.operations, lock)
                if not results[migration.id].ok:
                    break  # a migration with skipped keys is not recorded as applied
        return results

    def down(self, migration_id: str) -> Report:
        migration = self.find(migration_id)
        migration_id = migration.id
        applied = self.applied()
        if migration_id not in applied:
            raise MigrationError(f"migration {migration_id} is not applied")
        dependants = [m.id for m in self.migrations if migration_id in m.depends_on and m.id in applied]
        if dependants:
            raise MigrationError(f"migration {migration_id} is needed by applied {', '.join(dependants)}")
        if migration.down is None:
            raise MigrationError(f"migration {migration_id} defines no down")
        with LeaseLock(self.execute, self.lease, "migrate down") as lock:
            report = self._run_ops(f"{migration.id}-down", migration.down, lock)
            if report.ok:
                records = self.state.applied()
                self.state.unmark(migration.id)
                legacy = records.get(migration.number)
                if legacy is not None and legacy.get("checksum") == checksum(migration):
                    self.state.unmark(migration.number)  # the record written before ids had a location
            self.state.clear_checkpoints(f"{migration.id}-down")
        return report

    def stamp(self, migration_id: str) -> list[str]:
        """Record a migration (and its dependencies) as applied without running it."""
        target = self.find(migration_id)
        stamped = []
        with LeaseLock(self.execute, self.lease, "migrate stamp"):
            applied = self.applied()
            for migration in self.migrations:
                if migration.id in self._closure(target) and migration.id not in applied:
                    self.state.mark_applied(
                        migration.id,
                        {
                            "applied_at": now_iso(),
                            "duration_s": 0,
                            "counts": {},
                            "checksum": checksum(migration),
                            "stamped": True,
                        },
                    )
                    stamped.append(migration.id)
        return stamped

    def rotate_keys(self) -> Report:
        """Re-encrypt every token not under the current key (same lock, checkpoints, CAS)."""
        from keyspace.ops.migrate.operations import RotateKeys

        with LeaseLock(self.execute, self.lease, "rotate-keys") as lock:
            report = self._run_ops("rotate-keys", [RotateKeys()], lock)
            self.state.clear_checkpoints("rotate-keys")  # complete: the next rotation starts afresh
        return report

    def verify(self) -> dict[str, Any]:
        """Classify every encrypted value: ok only when all are tokens under the current key."""
        keyring = self.octx.keyring
        if keyring is None:
            raise MigrationError("verify needs ENCRYPTION_KEY")
        counts: Counter[str] = Counter()
        problems: dict[str, list[str]] = defaultdict(list)
        for spec in [s for s in self.registry if s.encrypted_fields and not s.read_only]:
            for key, reply in self._iter_values(spec):
                if isinstance(reply, ErrorReply):
                    counts["wrong_type"] += 1
                    problems["wrong_type"].append(key)
                    continue
                for kind in classify_fields(spec, reply, keyring):
                    counts[kind] += 1
                    if (
                        kind != "current"
                        and len(problems[kind]) < MAX_KEYS_PER_ERROR
                        and key not in problems[kind]
                    ):
                        problems[kind].append(key)
        modified = [r["id"] for r in self.status()["migrations"] if r["modified"]]
        ok = not (set(counts) - {"current"}) and not modified
        return {
            "ok": ok,
            "counts": dict(counts),
            "problems": dict(problems),
            "modified": modified,
            "fingerprint": keyring.current_fingerprint,
        }

    # --- internals ----------------------------------------------------------------------

    def _require_key(self, op: Operation) -> None:
        if op.needs_key and self.octx.keyring is None:
            raise MigrationError(
                f"{op.describe()} needs ENCRYPTION_KEY (generate one with `keyspace keygen`)"
            )

    def _apply(self, migration: Migration, operations: Any, lock: LeaseLock) -> Report:
        started = time.monotonic()
        report = self._run_ops(migration.id, operations, lock)
        if not report.ok:
            # The run is complete; keys were skipped.  Forget the checkpoints so the
            # next run scans everything again once the operator has fixed them.
            self.state.clear_checkpoints(migration.id)
        if report.ok:
            self.state.mark_applied(
                migration.id,
                {
                    "applied_at": now_iso(),
                    "duration_s": round(time.monotonic() - started, 3),
                    "counts": {
                        k: v
                        for k, v in report.as_dict().items()
                        if k in ("scanned", "changed", "already", "conflicts")
                    },
                    "checksum": checksum(migration),
                },
            )
        return report

    def _run_ops(self, run_id: str, operations: Any, lock: LeaseLock) -> Report:
        saved = self.state.checkpoints(run_id)
        report = Report.from_dict(saved.get("_report", {}))
        for index, op in enumerate(operations):
            self._require_key(op)
            if isinstance(op, Hook):
                part = f"{index}:hook"
                if not saved.get(part, {}).get("done"):
                    op.run(self.mapper, report)
                    self.state.save_checkpoint(run_id, part, {"done": True})
                continue
            for spec in op.targets(self.octx):
                for template in spec.templates:
                    self._scan_part(run_id, index, op, spec, template.pattern, report, lock=lock, saved=saved)
        return report

    def _iter_values(self, spec: ModelSpec) -> Iterator[tuple[str, Any]]:
        for template in spec.templates:
            cursor: Any = 0
            pattern = template.scan_pattern({})
            while True:
                (reply,) = self.execute([("SCAN", cursor, "MATCH", pattern, "COUNT", self.batch)])
                cursor, raw = reply
                keys = [k for k in (_decode(r) for r in raw) if k is not None and spec.match(k) is not None]
                if keys:
                    read = "HGETALL" if spec.redis_type == "hash" else "GET"
                    yield from zip(keys, self.execute([(read, k) for k in keys]), strict=True)
                if cursor_done(cursor):
                    return

    def _estimate(self, spec: ModelSpec, pattern: str) -> int:
        total, cursor = 0, 0
        while True:
            (reply,) = self.execute([("SCAN", cursor, "MATCH", pattern, "COUNT", 2000)])
            cursor, raw = reply
            total += sum(1 for r in raw if (k := _decode(r)) is not None and spec.match(k) is not None)
            if cursor_done(cursor):
                return total

    def _scan_part(
        self,
        run_id: str,
        index: int,
        op: Operation,
        spec: ModelSpec,
        template_pattern: str,
        report: Report,
        *,
        dry_run: bool = False,
        lock: LeaseLock | None = None,
        saved: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        part = f"{index}:{spec.name}:{template_pattern}"
        state = (saved or {}).get(part, {})
        if state.get("done"):
            return
        template = next(t for t in spec.templates if t.pattern == template_pattern)
        pattern = template.scan_pattern({})
        cursor: Any = state.get("cursor", 0)
        label = f"{op.describe()}: {spec.name}"
        estimate = self._estimate(spec, pattern) if self.progress and not dry_run else None
        done_here = 0
        started = time.monotonic()
        while True:
            if lock is not None:
                lock.check()
            (reply,) = self.execute([("SCAN", cursor, "MATCH", pattern, "COUNT", self.batch)])
            cursor, raw = reply
            keys = [k for k in (_decode(r) for r in raw) if k is not None and spec.match(k) is not None]
            if keys:
                self._batch(op, spec, keys, report, dry_run)
                done_here += len(keys)
            finished = cursor_done(cursor)
            if not dry_run:
                self.state.execute(
                    [
                        (
                            "HSET",
                            f"keyspace:migrations:checkpoint:{run_id}",
                            part,
                            _json({"cursor": _cursor_text(cursor), "done": finished}),
                            "_report",
                            _json(report.as_dict()),
                        ),
                    ]
                )
            if self.progress:
                self.progress(label, done_here, estimate)
            if self.rate and keys:
                wait = done_here / self.rate - (time.monotonic() - started)
                if wait > 0:
                    time.sleep(wait)
            if finished:
                return

    def _batch(self, op: Operation, spec: ModelSpec, keys: list[str], report: Report, dry_run: bool) -> None:
        report.scanned += len(keys)
        pending = keys
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            replies = self.execute([op.read(spec, k) for k in pending])
            writes: list[tuple[str, Decision]] = []
            for key, reply in zip(pending, replies, strict=True):
                if isinstance(reply, ErrorReply):
                    report.skip("wrong_type" if reply.startswith("WRONGTYPE") else "server_error", key)
                    continue
                decision = op.decide(spec, key, reply, self.octx)
                if decision.skip:
                    report.skip(decision.skip, key)
                elif decision.is_change:
                    writes.append((key, decision))
                elif attempt == 0:
                    report.already += 1
            if dry_run:
                for key, decision in writes:
                    self._count_change(spec, key, decision, report)
                return
            if not writes:
                return
            results = self.execute([op.write(spec, key, d) for key, d in writes])
            retry: list[str] = []
            for (key, decision), result in zip(writes, results, strict=True):
                if isinstance(result, ErrorReply):
                    report.skip("wrong_type" if result.startswith("WRONGTYPE") else "server_error", key)
                    continue
                outcome = op.outcome(result)
                if outcome == "changed":
                    self._count_change(spec, key, decision, report)
                elif outcome == "conflict":
                    retry.append(key)  # changed by the application meanwhile: read again
                elif outcome == "already":
                    report.already += 1
                else:
                    report.skip(outcome, key)
            if not retry:
                return
            report.conflicts += len(retry)
            pending = retry
        for key in pending:
            report.skip("conflict", key)

    @staticmethod
    def _count_change(spec: ModelSpec, key: str, decision: Decision, report: Report) -> None:
        report.changed += 1
        for name in decision.fields:
            report.by_field[f"{spec.name}.{name}"] += 1
        if len(report.samples[spec.name]) < 5:
            report.samples[spec.name].append(key)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _decode(raw: Any) -> str | None:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _cursor_text(cursor: Any) -> str:
    return cursor.decode() if isinstance(cursor, bytes) else str(cursor)
