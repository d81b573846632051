"""The engine behind ``keyspace migrate …``, ``keyspace rotate-keys`` and ``keyspace ttl apply``.

One :class:`Runner` for both mappers: every public method builds a program
(keyspace.ops.migrate.engine / state) and runs it with ``mapper.run``.  On a
:class:`~keyspace.Mapper` the method returns the result; on an
:class:`~keyspace.AsyncMapper` it returns an awaitable (``await runner.up()``).
The logic exists once.  Methods that read no server (``migrations``, ``find``,
``history``) are plain in both flavours.

Writing runs (``up``, ``down``, ``stamp``, ``rotate_keys``, ``apply_ttl_policy``,
``run_operations``) hold the lease lock (keyspace.ops.migrate.state), checkpoint
after every batch and resume an interrupted run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from keyspace.core.programs import Program
from keyspace.core.registry import Registry, default_registry
from keyspace.errors import ConfigError, MigrationError
from keyspace.io.project import MigrationLocation, Project
from keyspace.ops.migrate import state
from keyspace.ops.migrate.engine import OperationContext, RunContext, run_operations
from keyspace.ops.migrate.loading import checksum, load_all, load_migrations
from keyspace.ops.migrate.operations import (
    ApplyTtlPolicy,
    Migration,
    Operation,
    RotateKeys,
    VerifyFields,
)
from keyspace.ops.migrate.report import MAX_KEYS_PER_ERROR, Report
from keyspace.ops.migrate.secrets import read_canary
from keyspace.ops.migrate.state import Lease

__all__ = ["Report", "Runner", "load_all", "load_migrations"]

Progress = Callable[[str, int, "int | None"], None]
ROTATE_RUN = "rotate-keys"
TTL_RUN = "ttl-apply"


class Runner:
    """Migrations on a Mapper or an AsyncMapper (see the module docstring).

    ``batch``: keys per SCAN batch and pipeline; ``rate``: at most this many keys
    per second; ``lease``: seconds the lock survives a runner that stopped
    renewing it; ``sample``: stored secrets read to check ENCRYPTION_KEY before
    anything is encrypted; ``progress(label, done, total)`` is called after every batch.
    """

    def __init__(
        self,
        mapper: Any,
        *,
        directory: Path | str | None = None,
        locations: Sequence[MigrationLocation] | None = None,
        project: Project | None = None,
        registry: Registry | None = None,
        batch: int = 500,
        rate: float | None = None,
        lease: float = 30.0,
        allow_plaintext: bool = False,
        progress: Progress | None = None,
        sample: int = 1000,
    ) -> None:
        from keyspace.mapper import AsyncMapper

        self.mapper = mapper
        self.is_async = isinstance(mapper, AsyncMapper)
        self._directory = directory
        self._locations = tuple(locations) if locations is not None else None
        self._project = project
        self.registry = registry if registry is not None else default_registry  # an empty one is falsy
        self.batch = batch
        self.rate = rate
        self.lease = lease
        self.sample = sample
        self.progress = progress
        self.allow_plaintext = allow_plaintext
        self._migrations: list[Migration] | None = None
        self._schema_loaded = registry is not None

    # --- what exists (no server) ----------------------------------------------------------------

    @property
    def keyring(self) -> Any:
        return self.mapper.ctx.keyring

    @property
    def locations(self) -> tuple[MigrationLocation, ...]:
        """The migration folders this runner reads (resolved on first use: rotate-keys needs none)."""
        if self._locations is None:
            project = self._project or Project.discover()
            if self._directory is not None:
                self._locations = (project.location(self._directory),)
            else:
                self._locations = project.require_migrations()
        return self._locations

    @property
    def migrations(self) -> list[Migration]:
        if self._migrations is None:
            self._load_schema()
            self._migrations = load_all(self.locations)
        return self._migrations

    def _load_schema(self) -> None:
        """The configured schema, so that migrations act on it (once; never for an explicit registry)."""
        if not self._schema_loaded and self.registry is default_registry:
            (self._project or Project.discover()).load_models()
        self._schema_loaded = True

    def find(self, migration_id: str) -> Migration:
        """A migration by its full id (``location/0001``) or, when unambiguous, its number."""
        found = [m for m in self.migrations if migration_id in (m.id, m.number)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(m.id for m in self.migrations)
        what = "ambiguous" if found else "no"
        raise MigrationError(f"{what} migration {migration_id!r} (known: {known})")

    def history(self) -> list[dict[str, Any]]:
        """Every migration with its dependencies and what it does (reads no server)."""
        return [
            {
                "id": m.id,
                "depends_on": list(m.depends_on),
                "description": m.description,
                "operations": [op.describe() for op in m.operations],
                "down": m.down is not None,
                "checksum": checksum(m),
            }
            for m in self.migrations
        ]

    def _octx(self) -> OperationContext:
        self._load_schema()
        return OperationContext(
            keyring=self.keyring,
            registry=self.registry,
            ttl_of=self.mapper.ttl_policy,
            allow_plaintext=self.allow_plaintext,
        )

    def _context(self, run_id: str, *, dry_run: bool = False, lease: Lease | None = None) -> RunContext:
        return RunContext(
            octx=self._octx(),
            run_id=run_id,
            dry_run=dry_run,
            lease=lease,
            batch=self.batch,
            rate=None if dry_run else self.rate,
            sample=self.sample,
            progress=None if dry_run else self.progress,
            cluster=bool(self.mapper.ctx.cluster),
            hook_target=self.mapper,
        )

    # --- driving programs ----------------------------------------------------------------------------

    def _run(self, program: Program[Any]) -> Any:
        return self.mapper.run(program)

    def _locked(self, purpose: str, body: Callable[[Lease], Program[Any]]) -> Any:
        """Run ``body(lease)`` holding the lock; its result (or an awaitable of it on an AsyncMapper)."""
        lease = Lease(self.lease, purpose)
        program = state.locked(lease, body(lease))
        if self.is_async:
            return self._alocked(program, lease)
        try:
            return self.mapper.run(program)
        finally:
            if lease.held:  # the driver closed the program (an I/O error, an interrupt): release here
                with contextlib.suppress(Exception):  # unreachable server: the lease expires by itself
                    self.mapper.run(state.release(lease))

    async def _alocked(self, program: Program[Any], lease: Lease) -> Any:
        try:
            return await self.mapper.run(program)
        finally:
            if lease.held:
                with contextlib.suppress(Exception):
                    await self.mapper.run(state.release(lease))

    # --- state ------------------------------------------------------------------------------------------

    def _adopt(self, records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Applied records by full id.

        Records written before ids were qualified by location (a bare ``0001``)
        belong to the location whose script of that number has the recorded
        checksum; any other bare record stays unknown (and its number pending).
        """
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

    def _applied(self) -> Program[dict[str, dict[str, Any]]]:
        records = yield from state.read_applied()
        return self._adopt(records)

    def applied(self) -> Any:
        """Applied records by full id (legacy bare records adopted; see ``_adopt``)."""
        return self._run(self._applied())

    def _status(self) -> Program[dict[str, Any]]:
        applied = yield from self._applied()
        pending_ids = [m.id for m in self.migrations if m.id not in applied]
        interrupted = yield from state.with_checkpoints(pending_ids)
        lock = yield from state.lock_holder()
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
                    "checkpoint": migration.id in interrupted,
                }
            )
        unknown = sorted(set(applied) - {m.id for m in self.migrations})
        return {"migrations": rows, "lock": lock, "applied_unknown": unknown}

    def status(self) -> Any:
        """Applied and pending migrations, interrupted runs, the lock holder."""
        return self._run(self._status())

    def _pending_of(self, applied: dict[str, Any], to: str | None) -> list[Migration]:
        todo = [m for m in self.migrations if m.id not in applied]
        if to is None:
            return todo
        needed = self._closure(self.find(to))
        return [m for m in todo if m.id in needed]

    def _pending(self, to: str | None) -> Program[list[Migration]]:
        applied = yield from self._applied()
        return self._pending_of(applied, to)

    def pending(self, to: str | None = None) -> Any:
        """The migrations ``up`` would apply (up to ``to``), in order."""
        return self._run(self._pending(to))

    def _closure(self, migration: Migration) -> set[str]:
        out = {migration.id}
        for dep in migration.depends_on:
            out |= self._closure(self.find(dep))
        return out

    # --- running ----------------------------------------------------------------------------------------

    def _check(self, migrations: Sequence[Migration], which: str = "operations") -> None:
        """Before anything runs: keys present, and every operation targets at least one model."""
        octx = self._octx()
        for migration in migrations:
            ops = migration.operations if which == "operations" else (migration.down or ())
            for op in ops:
                self._require_key(op)
                if not op.hook:
                    op.targets(octx)  # raises MigrationError naming what it looked for

    def _require_key(self, op: Operation) -> None:
        if op.needs_key and self.keyring is None:
            raise MigrationError(
                f"{op.describe()} needs ENCRYPTION_KEY (generate one with `keyspace keygen`)"
            )

    def plan(self, to: str | None = None) -> Any:
        """Dry run: what ``up`` would do, per migration (counts per model and stored form). Writes nothing."""

        def program() -> Program[dict[str, Report]]:
            todo = yield from self._pending(to)
            self._check(todo)
            out: dict[str, Report] = {}
            for migration in todo:
                rc = self._context(migration.id, dry_run=True)
                out[migration.id] = yield from run_operations(rc, migration.operations)
            return out

        return self._run(program())

    def up(self, to: str | None = None) -> Any:
        """Apply pending migrations (up to ``to``) under the lock; stops at the first with skipped keys."""

        def body(lease: Lease) -> Program[dict[str, Report]]:
            todo = yield from self._pending(to)
            self._check(todo)
            results: dict[str, Report] = {}
            for migration in todo:
                results[migration.id] = yield from self._apply(migration, lease)
                if not results[migration.id].ok:
                    break  # a migration with skipped keys is not recorded as applied
            return results

        return self._locked("migrate up", body)

    def _apply(self, migration: Migration, lease: Lease) -> Program[Report]:
        started = time.monotonic()
        rc = self._context(migration.id, lease=lease)
        report = yield from run_operations(rc, migration.operations)
        if not report.ok:
            # The run is complete; keys were skipped.  Forget the checkpoint so the
            # next run scans everything again once the operator has fixed them.
            yield from state.clear_checkpoint(migration.id)
            return report
        yield from lease.keep()
        yield from state.mark_applied(
            migration.id,
            {
                "applied_at": state.now_iso(),
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

    def down(self, migration_id: str) -> Any:
        """Undo one applied migration (only where it defines a down), under the lock."""
        migration = self.find(migration_id)

        def body(lease: Lease) -> Program[Report]:
            applied = yield from self._applied()
            if migration.id not in applied:
                raise MigrationError(f"migration {migration.id} is not applied")
            dependants = [m.id for m in self.migrations if migration.id in m.depends_on and m.id in applied]
            if dependants:
                raise MigrationError(f"migration {migration.id} is needed by applied {', '.join(dependants)}")
            if migration.down is None:
                raise MigrationError(f"migration {migration.id} defines no down")
            self._check([migration], which="down")
            run_id = f"{migration.id}-down"
            report = yield from run_operations(self._context(run_id, lease=lease), migration.down)
            if report.ok:
                records = yield from state.read_applied()
                ids = [migration.id]
                legacy = records.get(migration.number)
                if legacy is not None and legacy.get("checksum") == checksum(migration):
                    ids.append(migration.number)  # the record written before ids had a location
                yield from lease.keep()
                yield from state.unmark(*ids)
            yield from state.clear_checkpoint(run_id)
            return report

        return self._locked("migrate down", body)

    def stamp(self, migration_id: str) -> Any:
        """Record a migration (and its dependencies) as applied without running it; the ids stamped."""
        target = self.find(migration_id)

        def body(lease: Lease) -> Program[list[str]]:
            applied = yield from self._applied()
            closure = self._closure(target)
            stamped = []
            for migration in self.migrations:
                if migration.id in closure and migration.id not in applied:
                    yield from lease.keep()
                    yield from state.mark_applied(
                        migration.id,
                        {
                            "applied_at": state.now_iso(),
                            "duration_s": 0,
                            "counts": {},
                            "checksum": checksum(migration),
                            "stamped": True,
                        },
                    )
                    stamped.append(migration.id)
            return stamped

        return self._locked("migrate stamp", body)

    def run_operations(
        self, operations: Sequence[Operation], *, run_id: str, purpose: str = "", dry_run: bool = False
    ) -> Any:
        """Run operations outside any migration (locked, checkpointed under ``run_id``, resumable).

        A complete run (every key seen) clears its checkpoint, so the next run starts
        afresh.  ``dry_run``: what it would do (counts, conflicts, samples); writes
        nothing and takes no lock.
        """
        for op in operations:
            self._require_key(op)
        if dry_run:
            return self._run(run_operations(self._context(run_id, dry_run=True), operations))

        def body(lease: Lease) -> Program[Report]:
            report = yield from run_operations(self._context(run_id, lease=lease), operations)
            yield from state.clear_checkpoint(run_id)
            return report

        return self._locked(purpose or run_id, body)

    def rotate_keys(self, *, dry_run: bool = False) -> Any:
        """Re-encrypt every secret that needs a retired key, under ENCRYPTION_KEY (locked, resumable).

        The checkpoint belongs to the target key: a run interrupted towards another
        key is discarded (a note says so) and the rotation starts from the beginning.
        """
        return self.run_operations([RotateKeys()], run_id=ROTATE_RUN, purpose="rotate-keys", dry_run=dry_run)

    def apply_ttl_policy(self, models: Sequence[str] | None = None, *, dry_run: bool = False) -> Any:
        """Give keys without an expiry their model's TTL (EXPIRE … NX; persistent and ``keep`` untouched).

        An operation to run at any time (``keyspace ttl apply``): for a model added
        after migration 0002 was applied, or keys an old writer left without expiry.
        """
        return self.run_operations(
            [ApplyTtlPolicy(models)], run_id=TTL_RUN, purpose="ttl apply", dry_run=dry_run
        )

    def verify(self) -> Any:
        """Classify every secret of every model with ``Encrypted`` fields; ok only when all are current.

        Fails on plaintext, bare, nested, old, undecryptable and suspicious values, on
        keys of the wrong type or unreadable, on keys in a model's pattern that fail its
        key types while holding such a secret, on a key canary that is not under the
        current key, and on applied migrations modified since.  ``Masked`` values are
        counted as plaintext by policy (``counts["masked"]``), never a failure.
        """
        if self.keyring is None:
            raise MigrationError("verify needs ENCRYPTION_KEY")

        def program() -> Program[dict[str, Any]]:
            rc = self._context("verify", dry_run=True)
            op = VerifyFields()
            report = yield from run_operations(rc, [op])
            masked_specs = [
                s
                for s in self.registry
                if s.masked_fields and not s.encrypted_fields and not s.read_only and s.server == "app"
            ]
            if masked_specs:
                masked = yield from run_operations(
                    self._context("verify", dry_run=True), [_CountMasked([s.name for s in masked_specs])]
                )
                for model, forms in masked.forms.items():
                    report.forms[model].update(forms)
            canary = yield from read_canary(self.keyring)
            modified: list[str] = []
            try:
                status = yield from self._status()
                modified = [r["id"] for r in status["migrations"] if r["modified"]]
            except ConfigError:
                pass  # no migration location configured: nothing to compare
            problems = {kind: keys[:MAX_KEYS_PER_ERROR] for kind, keys in report.errors.items() if keys}
            ok = report.ok and not modified and canary.state in ("absent", "current")
            return {
                "ok": ok,
                "counts": dict(report.totals()),
                "by_model": {m: dict(f) for m, f in report.forms.items() if f},
                "problems": problems,
                "skipped": dict(report.skipped),
                "key_types": dict(report.key_types),
                "key_type_samples": {m: list(k) for m, k in report.key_type_samples.items() if k},
                "checked_keys": report.scanned,
                "models": [s.name for s in op.targets(rc.octx)],
                "canary": canary.state,
                "modified": modified,
                "fingerprint": self.keyring.current_fingerprint,
            }

        return self._run(program())


class _CountMasked(VerifyFields):
    """Counts the ``Masked`` values of models without ``Encrypted`` fields (plaintext by policy)."""

    def targets(self, octx: OperationContext) -> list[Any]:
        from keyspace.ops.migrate.operations import select

        return select(octx, self.models, lambda s: bool(s.masked_fields), "Masked fields", self.describe())
