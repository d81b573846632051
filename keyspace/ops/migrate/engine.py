"""The migration engine as programs: scan, classify, decide, guard, write, checkpoint.

Everything here is a program (keyspace.core.programs): it yields ``Call``
(one round trip), ``Sleep`` (the rate limit), and gets raw replies back.  The
runner drives it with ``mapper.run`` on a Mapper or an AsyncMapper alike, so
this logic exists once.

For each (operation, model, template) *part* the engine walks the model's keys
with ``scan_batches`` (THE resumable SCAN loop) and, per SCAN batch:

1. classifies every key (keyspace.core.membership): the model's keys go to the
   operation; keys that fail the model's key types are counted and named, and
   secret operations read them to report the ones holding secrets;
2. the operation processes the batch: for per-key operations, one pipelined
   read, a pure decision per key, the read-equivalence guard on every changed
   secret, then one pipeline of compare-and-set scripts (a key the application
   changed meanwhile is re-read and decided again);
3. saves the SCAN cursor and the counters (the checkpoint), after renewing
   the lease when due — a run killed at any point resumes where it stopped,
   and redoing a batch is harmless because every operation is idempotent.

No per-key state survives a batch (SCAN may return a key twice; it is then
simply found done), so memory is flat whatever the keyspace's size.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keyspace.core import scripts
from keyspace.core.crypto import Keyring
from keyspace.core.membership import classify_scanned_key, glob_owner, printable
from keyspace.core.model import ModelSpec
from keyspace.core.programs import Call, Emit, ErrorReply, Program, ScanBatch, Sleep, fetch, scan_batches
from keyspace.core.registry import Registry
from keyspace.core.slots import slot_of
from keyspace.core.template import KeyTemplate
from keyspace.errors import MigrationError
from keyspace.ops.migrate import state
from keyspace.ops.migrate.lua import CAS_HASH_MANY
from keyspace.ops.migrate.report import Report
from keyspace.ops.migrate.secrets import (
    KeyCheck,
    canary_problem,
    guard,
    read_canary,
    sample_forms,
    seal_canary,
    secret_changes,
)
from keyspace.ops.migrate.state import Lease

if TYPE_CHECKING:
    from keyspace.ops.migrate.operations import Operation

MAX_CONFLICT_RETRIES = 10
MAX_GUARD_NOTES = 5
Progress = Callable[[str, int, "int | None"], None]


@dataclass
class OperationContext:
    """What operations may use: the keyring, the registry, the TTL policy, the plaintext flag."""

    keyring: Keyring | None
    registry: Registry
    ttl_of: Callable[[ModelSpec], Any]
    allow_plaintext: bool = False


@dataclass
class RunContext:
    """One run's settings and running state (counters only: flat memory)."""

    octx: OperationContext
    run_id: str = ""
    dry_run: bool = False
    lease: Lease | None = None
    batch: int = 500
    rate: float | None = None
    sample: int = 1000
    progress: Progress | None = None
    cluster: bool = False  # scripts over several keys are split by slot
    hook_target: Any = None  # what a Hook's ``run`` receives (the runner's mapper)
    report: Report = field(default_factory=Report)
    keycheck: KeyCheck = field(default_factory=KeyCheck)
    canary: str | None = None  # the canary's state, while it still has to be (re)sealed by this run

    def write(self, commands: list[tuple[Any, ...]]) -> Program[list[Any]]:
        """Send writes, renewing the lease first when due (LockLost stops the run before it writes)."""
        if self.dry_run:
            raise MigrationError("a dry run never writes (engine bug: a write was attempted)")
        if self.lease is not None:
            yield from self.lease.keep()
        replies: list[Any] = yield Call(commands)
        return replies

    def pause(self, done: int, started: float) -> Generator[Any, Any, None]:
        """The rate limit: Sleep until ``done`` keys fit ``rate`` keys per second (lease kept meanwhile)."""
        if not self.rate or not done:
            return
        wait = done / self.rate - (time.monotonic() - started)
        if wait <= 0:
            return
        if self.lease is not None and not self.dry_run:
            yield from self.lease.sleep(wait)
        else:
            yield Sleep(wait)


def error_kind(reply: ErrorReply) -> str:
    return "wrong_type" if reply.startswith("WRONGTYPE") else "server_error"


# --- scanning --------------------------------------------------------------------------------------


def each_batch(
    pattern: str, cursor: Any, count: int, handle: Callable[[ScanBatch], Program[bool | None]]
) -> Program[None]:
    """Drive ``scan_batches``, running ``handle(batch)`` (a program) per batch; it returns True to stop."""
    scan = scan_batches(pattern, cursor=cursor, count=count)
    reply: Any = None
    try:
        while True:
            try:
                step = scan.send(reply)
            except StopIteration:
                return
            if type(step) is Emit:
                reply = None
                if (yield from handle(step.item)):
                    return
            else:
                reply = yield step
    finally:
        scan.close()


def split_batch(
    spec: ModelSpec, batch: ScanBatch, registry: Registry, owned: tuple[KeyTemplate, ...]
) -> tuple[list[str], list[str | bytes]]:
    """(the model's keys this part owns, keys in its pattern that fail its key types); other models'
    keys, and keys another part owns, dropped (ModelSpec.match_template; for a key that fails the
    key types, the first template whose pattern returns it: see membership.glob_owner)."""
    mine: list[str] = []
    misfits: list[str | bytes] = []
    for key in batch.keys:
        hit = spec.match_template(key)
        if hit is not None:
            if hit[0] in owned:
                mine.append(key)
            continue
        if classify_scanned_key(spec, key, registry).membership == "fails_key_types" and (
            glob_owner(spec, key) in owned
        ):
            misfits.append(key)
    misfits.extend(k for k in batch.undecodable if glob_owner(spec, k) in owned)
    return mine, misfits


def _cursor_text(cursor: Any) -> str:
    return cursor.decode() if isinstance(cursor, bytes) else str(cursor)


def count_keys(rc: RunContext, spec: ModelSpec, pattern: str, owned: tuple[KeyTemplate, ...]) -> Program[int]:
    """How many keys of the model a part owns (for a progress bar); renews the lease while it walks."""
    total = 0

    def handle(batch: ScanBatch) -> Program[bool]:
        nonlocal total
        total += sum(1 for k in batch.keys if (hit := spec.match_template(k)) is not None and hit[0] in owned)
        if rc.lease is not None and not rc.dry_run:
            yield from rc.lease.keep()
        return False

    yield from each_batch(pattern, 0, 2000, handle)
    return total


def scan_part(
    rc: RunContext,
    index: int,
    op: Operation,
    spec: ModelSpec,
    pattern: str,
    owned: tuple[KeyTemplate, ...],
    saved: dict[str, Any],
) -> Program[None]:
    """Process one (operation, model, SCAN pattern) part, resuming from its saved cursor."""
    part = f"{index}:{spec.name}:{owned[0].pattern}"
    progress_state = saved.get(part, {})
    if progress_state.get("done"):
        return
    label = f"{op.describe()}: {spec.name}"
    estimate = (yield from count_keys(rc, spec, pattern, owned)) if rc.progress and not rc.dry_run else None
    done_here = 0
    started = time.monotonic()
    report = rc.report
    registry = rc.octx.registry

    def handle(batch: ScanBatch) -> Program[bool]:
        nonlocal done_here
        keys, misfits = split_batch(spec, batch, registry, owned)
        report.scanned += len(keys)
        for key in misfits:
            report.key_type_failure(spec.name, printable(key))
        if keys or misfits:
            yield from op.process(rc, spec, keys, misfits)
        done_here += len(keys)
        if not rc.dry_run:
            yield from rc.write(
                [
                    state.checkpoint_command(
                        rc.run_id,
                        (part, {"cursor": _cursor_text(batch.cursor), "done": batch.done}),
                        (state.REPORT, report.as_dict()),
                    )
                ]
            )
        if rc.progress:
            rc.progress(label, done_here, estimate)
        if keys:
            yield from rc.pause(done_here, started)
        return False

    yield from each_batch(pattern, progress_state.get("cursor", 0), rc.batch, handle)


# --- per-key compare-and-set ------------------------------------------------------------------------


def cas_batch(rc: RunContext, op: Operation, spec: ModelSpec, keys: Sequence[str]) -> Program[None]:
    """Read, decide, guard and compare-and-set one batch of keys (re-reading the ones that changed)."""
    report, octx = rc.report, rc.octx
    pending = list(keys)
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        replies = yield Call([op.read(spec, k) for k in pending])
        writes: list[tuple[str, Any]] = []
        for key, reply in zip(pending, replies, strict=True):
            if isinstance(reply, ErrorReply):
                report.skip(error_kind(reply), key)
                continue
            decision = op.decide(spec, key, reply, octx)
            if attempt == 0 and decision.forms:
                report.forms[spec.name].update(decision.forms)
                rc.keycheck.count(decision.forms)
            for kind in decision.skips:
                report.skip(kind, key)
            if decision.is_change:
                problem = (
                    guard(
                        octx.keyring,
                        secret_changes(spec, reply, decision.change),
                        allow_plaintext=op.decrypts and octx.allow_plaintext,
                        verdicts=decision.verdicts,
                    )
                    if op.changes_values
                    else None
                )
                if problem:
                    report.skip("read_equivalence", key)
                    if report.skipped["read_equivalence"] <= MAX_GUARD_NOTES:
                        report.note(f"read equivalence refused the write to {key}: {problem}")
                    continue
                writes.append((key, decision))
            elif not decision.skips and attempt == 0:
                report.already += 1
        if rc.dry_run:
            for key, decision in writes:
                report.change(spec.name, key, decision.fields)
            return
        if not writes:
            return
        if op.encrypts:
            yield from before_encrypting(rc)
        if spec.redis_type == "hash" and op.writes_hash_cas():
            results = yield from cas_hashes(rc, writes)
        else:
            results = yield from rc.write([op.write(spec, key, d) for key, d in writes])
        retry: list[str] = []
        for (key, decision), result in zip(writes, results, strict=True):
            if isinstance(result, ErrorReply):
                report.skip(error_kind(result), key)
                continue
            outcome = op.outcome(result)
            if outcome == "changed":
                report.change(spec.name, key, decision.fields)
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


def cas_hashes(rc: RunContext, writes: Sequence[tuple[str, Any]]) -> Program[list[Any]]:
    """Compare-and-set many hashes in one script call per slot (one per batch on a single server).

    The same per-key semantics as CAS_HASH (see keyspace.ops.migrate.lua); a reply per key,
    ``ErrorReply("WRONGTYPE …")`` for a key that is not a hash.
    """
    groups: dict[int, list[int]] = {}
    for index, (key, _) in enumerate(writes):
        groups.setdefault(slot_of(key) if rc.cluster else 0, []).append(index)
    calls: list[tuple[Any, ...]] = []
    for members in groups.values():
        keys: list[str] = []
        args: list[Any] = []
        for index in members:
            key, decision = writes[index]
            keys.append(key)
            args.append(len(decision.change))
            for name, (old, new) in decision.change.items():
                args += [name, "0", "", new] if old is None else [name, "1", old, new]
        calls.append(scripts.call(CAS_HASH_MANY, keys, args))
    replies = yield from rc.write(calls)
    results: list[Any] = [None] * len(writes)
    for members, reply in zip(groups.values(), replies, strict=True):
        for position, index in enumerate(members):
            if isinstance(reply, ErrorReply):
                results[index] = reply
            elif reply[position] == -1:
                results[index] = ErrorReply("WRONGTYPE not a hash")
            else:
                results[index] = reply[position]
    return results


# --- the key check before anything is encrypted ---------------------------------------------------


def key_guard(rc: RunContext, specs: Sequence[ModelSpec]) -> Program[None]:
    """Refuse to encrypt under a key that does not open what is stored (canary, then a sample).

    On success (and not in a dry run) the canary is written, or resealed under the
    current key, so the next encrypting run can check its key even on a keyspace
    that holds no token yet.  In a dry run a refusal becomes a note.
    """
    keyring = rc.octx.keyring
    if keyring is None:
        raise MigrationError("encrypting needs ENCRYPTION_KEY (generate one with `keyspace keygen`)")
    canary = yield from read_canary(keyring)
    problem = canary_problem(canary, keyring)
    if problem is None:
        if canary.state in ("current", "old"):
            rc.keycheck.verified += 1
        remaining = rc.sample
        for spec in specs:
            for pattern, owned in spec.scan_parts({}):
                if remaining <= 0:
                    break

                def handle(
                    batch: ScanBatch, spec: ModelSpec = spec, owned: tuple[KeyTemplate, ...] = owned
                ) -> Program[bool]:
                    nonlocal remaining
                    hits = [(k, spec.match_template(k)) for k in batch.keys]
                    keys = [k for k, hit in hits if hit is not None and hit[0] in owned][: max(remaining, 0)]
                    if keys:
                        replies = yield from fetch(spec, keys)
                        rc.keycheck.count(sample_forms(spec, replies, keyring))
                        remaining -= len(keys)
                    return remaining <= 0

                yield from each_batch(pattern, 0, min(rc.batch, 1000), handle)
        if rc.keycheck.wrong_key:
            problem = rc.keycheck.problem(keyring)
    if problem is not None:
        if rc.dry_run:
            rc.report.note(f"`up` would refuse: {problem}")
            return
        raise MigrationError(problem)
    if canary.state != "current":
        rc.canary = canary.state  # sealed just before the first encrypting write (see before_encrypting)


def before_encrypting(rc: RunContext) -> Program[None]:
    """Before a batch of encrypting writes: the wrong-key check, then the canary if still due.

    The canary is (re)sealed only once the evidence of the run so far says the key
    is right, right before the first value is encrypted under it.
    """
    keyring = rc.octx.keyring
    assert keyring is not None  # the runner requires a key for operations that encrypt
    rc.keycheck.ensure(keyring)
    if rc.canary is not None and not rc.dry_run:
        yield from seal(rc)


def seal(rc: RunContext) -> Program[None]:
    keyring = rc.octx.keyring
    assert keyring is not None
    yield from rc.write([seal_canary(keyring)])
    if rc.canary == "absent":
        rc.report.note(f"wrote the key canary under key {keyring.current_fingerprint}")
    else:
        rc.report.note(
            f"resealed the key canary under key {keyring.current_fingerprint} (it was under a retired key)"
        )
    rc.canary = None


# --- running operations -------------------------------------------------------------------------------


def signature(operations: Sequence[Operation]) -> str:
    """What a checkpoint belongs to: the operations (by their parameters)."""
    text = "|".join(op.checksum_part() for op in operations)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_operations(rc: RunContext, operations: Sequence[Operation]) -> Program[Report]:
    """Run operations in order under ``rc.run_id``'s checkpoint (a dry run reads no checkpoint).

    Every check comes before the first write: the targets of every operation
    (an operation that targets no model raises MigrationError), then, when an
    operation encrypts, the key canary and a sample of the stored tokens.
    """
    keyring = rc.octx.keyring
    targets = [[] if op.hook else op.targets(rc.octx) for op in operations]
    encrypting = [
        spec for op, specs in zip(operations, targets, strict=True) if op.encrypts for spec in specs
    ]
    if any(op.encrypts for op in operations):
        yield from key_guard(rc, list({id(s): s for s in encrypting}.values()))
    meta = {
        "signature": signature(operations),
        "target": keyring.current_fingerprint
        if (keyring and any(op.encrypts for op in operations))
        else None,
    }
    saved: dict[str, Any] = {}
    if not rc.dry_run:
        saved = yield from state.read_checkpoint(rc.run_id)
        if saved and saved.get(state.META) != meta:
            old = saved.get(state.META) or {}
            if old.get("target") and old.get("target") != meta["target"]:
                why = (
                    f"it was made towards key {old['target']}, the current key is {meta['target']}: "
                    "values it counted as done are not under the current key"
                )
            elif old:
                why = "the operations changed since"
            else:
                why = "it was written by an older keyspace and names no target key"
            rc.report.note(
                f"discarded the checkpoint of an interrupted run of {rc.run_id} ({why}); "
                "starting from the beginning"
            )
            yield from state.clear_checkpoint(rc.run_id)
            saved = {}
        if not saved:
            yield from rc.write([state.checkpoint_command(rc.run_id, (state.META, meta))])
    notes = list(rc.report.notes)
    rc.report = Report.from_dict(saved.get(state.REPORT, {}))
    for text in notes:
        rc.report.note(text)
    for index, (op, specs) in enumerate(zip(operations, targets, strict=True)):
        if op.hook:
            yield from _run_hook(rc, index, op, saved)
            continue
        for spec in specs:
            for pattern, owned in spec.scan_parts({}):
                yield from scan_part(rc, index, op, spec, pattern, owned, saved)
    if rc.canary == "old" and not rc.dry_run:
        yield from seal(rc)  # nothing needed encrypting: the canary still moves to the current key
    return rc.report


def _run_hook(rc: RunContext, index: int, op: Any, saved: dict[str, Any]) -> Program[None]:
    part = f"{index}:hook"
    if rc.dry_run or saved.get(part, {}).get("done"):
        return
    result = op.run(rc.hook_target, rc.report)
    if isinstance(result, Generator):
        yield from result
    yield from rc.write([state.checkpoint_command(rc.run_id, (part, {"done": True}))])
