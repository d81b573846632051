"""Migration operations: what to read, what to change (pure), and the writes.

Two kinds of operation run on the same engine (keyspace.ops.migrate.engine:
SCAN batches, lease, checkpoints, rate limit, counts):

**Per key, compare-and-set** (:class:`Operation`): ``read`` names the command
that fetches a key's value; ``decide`` is pure — it gets the reply and returns a
:class:`Decision`; ``write`` turns a change into one compare-and-set command
that keeps the key's TTL and writes nothing if the application changed the key
in between (the engine then re-reads and decides again).  Every changed
``Encrypted`` value passes the engine's read-equivalence guard first.
Shipped: :class:`EncryptFields`, :class:`RotateKeys`, :class:`DecryptFields`,
:class:`ApplyTtlPolicy`, :class:`TransformValues`, :class:`CopyKeys`.

**Per item, several keys** (:class:`PerItem`, :class:`Rekey`): for each key of
a source model, read related keys in one round trip, decide purely, and write
in a given order — cluster-safe, since those keys may live in different slots.

Targets are checked before anything runs: an operation that targets no model
(a misspelt name, an empty schema) raises MigrationError naming what it
looked for, instead of "succeeding" after scanning nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keyspace.core import scripts
from keyspace.core.crypto import Keyring, Verdict
from keyspace.core.membership import printable
from keyspace.core.model import ModelSpec
from keyspace.core.programs import Call, ErrorReply, Program
from keyspace.core.registry import Registry
from keyspace.core.template import KeyTemplate
from keyspace.errors import MigrationError
from keyspace.ops.migrate.engine import OperationContext, RunContext, cas_batch, error_kind
from keyspace.ops.migrate.lua import DELETE_IF_UNCHANGED
from keyspace.ops.migrate.secrets import (
    VERIFIED_FORMS,
    classify_fields,
    form_of,
    pairs,
    stored_secrets,
)

__all__ = [
    "ApplyTtlPolicy",
    "CopyKeys",
    "Decision",
    "DecryptFields",
    "EncryptFields",
    "Hook",
    "Item",
    "ItemWrites",
    "Migration",
    "Operation",
    "OperationContext",
    "PerItem",
    "Rekey",
    "RotateKeys",
    "Skip",
    "TransformValues",
    "VerifyFields",
    "classify_fields",
]

Command = tuple[Any, ...]


@dataclass(slots=True)
class Decision:
    """What to do with one key.

    ``change`` is None for no change; ``fields`` names what changes (for the
    report, never values); ``skips`` are problem kinds reported for the key
    (its faulty values are left untouched; the others may still change);
    ``forms`` the stored forms of its secret values (for plan and verify).
    """

    change: Any = None
    fields: tuple[str, ...] = ()
    skips: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    verdicts: dict[str, Verdict] | None = None  # the old secrets' classifications (for the guard)

    @property
    def is_change(self) -> bool:
        return self.change is not None

    @property
    def skip(self) -> str | None:
        return self.skips[0] if self.skips else None


NO_CHANGE = Decision()


def _skip(kind: str) -> Decision:
    return Decision(skips=(kind,))


def select(
    octx: OperationContext,
    names: Sequence[str] | None,
    wanted: Callable[[ModelSpec], bool],
    what: str,
    owner: str,
) -> list[ModelSpec]:
    """The models an operation targets: the named ones (each must exist and qualify) or all that qualify.

    Only writable models of the app server qualify (the runner works on the app
    server, where its lock and records live).
    """

    def usable(spec: ModelSpec) -> bool:
        return not spec.read_only and spec.server == "app" and wanted(spec)

    if names is None:
        found = [s for s in octx.registry if usable(s)]
        if not found:
            raise MigrationError(
                f"{owner} targets no model: it looked for every model with {what}, and the schema "
                f"({len(octx.registry)} model(s) registered) has none. Is the application's schema "
                "configured ([tool.keyspace] models, KEYSPACE_MODELS)?"
            )
        return found
    out: list[ModelSpec] = []
    for name in names:
        try:
            spec = octx.registry.get(name)
        except KeyError:
            raise MigrationError(
                f"{owner} targets model {name!r}, which the schema does not declare "
                f"({len(octx.registry)} model(s) registered); it looked for {list(names)} with {what}"
            ) from None
        if not usable(spec):
            why = (
                "read-only"
                if spec.read_only
                else (f"on the {spec.server} server" if spec.server != "app" else f"without {what}")
            )
            raise MigrationError(f"{owner} targets model {spec.name}, which is {why}")
        out.append(spec)
    if not out:
        raise MigrationError(f"{owner} targets no model (an empty list of models)")
    return out


class Operation:
    """Base class: a per-key compare-and-set operation (override targets, read, decide and write).

    Class attributes tell the engine what it does: ``needs_key`` (ENCRYPTION_KEY
    required), ``encrypts`` (writes new ciphertext: the key canary and the wrong-key
    checks apply), ``changes_values`` (its change is a compare-and-set of stored
    values: the read-equivalence guard applies).
    """

    description = ""
    needs_key = False
    encrypts = False
    decrypts = False  # stores secrets in plaintext by design (only with allow_plaintext)
    hook = False  # runs once (Hook), instead of over a model's keys
    reversible = False
    changes_values = True

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        raise NotImplementedError

    def read(self, spec: ModelSpec, key: str) -> Command:
        return ("HGETALL", key) if spec.redis_type == "hash" else ("GET", key)

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        raise NotImplementedError

    def write(self, spec: ModelSpec, key: str, decision: Decision) -> Command:
        """The compare-and-set command for a change (the key's TTL is kept)."""
        if spec.redis_type == "hash":
            args: list[Any] = []
            for name, (old, new) in decision.change.items():
                args += [name, "0", "", new] if old is None else [name, "1", old, new]
            return scripts.call(scripts.CAS_HASH, [key], [len(decision.change), *args])
        old, new = decision.change
        return scripts.call(scripts.CAS_STRING, [key], [old, new, "keep"])

    def outcome(self, result: Any) -> str:
        """What a write's reply means: ``changed``, ``conflict`` (re-read), ``already`` or a skip kind."""
        return "changed" if result == 1 or result is True else "conflict"

    def writes_hash_cas(self) -> bool:
        """Whether ``write`` is the standard hash compare-and-set (the engine then sends a batch's
        writes as one script call per slot, with the same per-key semantics)."""
        return type(self).write is Operation.write

    def process(
        self, rc: RunContext, spec: ModelSpec, keys: list[str], misfits: list[str | bytes]
    ) -> Program[None]:
        """One SCAN batch: the model's keys, and keys in its pattern that fail its key types."""
        if keys:
            yield from cas_batch(rc, self, spec, keys)
        if misfits:
            yield from self.inspect_misfits(rc, spec, misfits)

    def inspect_misfits(self, rc: RunContext, spec: ModelSpec, misfits: list[str | bytes]) -> Program[None]:
        """Keys that fail the model's key types are never changed; the engine has counted them."""
        return
        yield  # a program

    def describe(self) -> str:
        return self.description or type(self).__name__

    def checksum_part(self) -> str:
        return repr(self)


# --- encrypted fields -----------------------------------------------------------------------


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _SecretFields(Operation):
    """Shared logic of encrypt / rotate / decrypt / verify: per secret value, maybe a new stored value.

    ``Masked`` fields are counted (form ``masked``: plaintext by policy) and never changed.
    """

    needs_key = True
    # the stored forms that make a key failing the model's key types a problem for this operation
    misfit_problems: frozenset[str] = frozenset()

    def __init__(self, models: Sequence[str] | None = None) -> None:
        self.models = tuple(models) if models else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(models={self.models!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        if self.models is None:
            return select(octx, None, lambda s: bool(s.encrypted_fields), "Encrypted fields", self.describe())
        return select(
            octx, self.models, lambda s: bool(s.secret_fields), "Encrypted or Masked fields", self.describe()
        )

    def transform(
        self, keyring: Keyring, verdict: Verdict, stored: bytes, envelope: bytes
    ) -> tuple[bytes | None, str | None]:
        """(new stored value or None for no change, skip kind or None)."""
        raise NotImplementedError

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        if reply is None or (spec.redis_type == "hash" and not reply):
            return NO_CHANGE  # gone meanwhile
        keyring = octx.keyring
        assert keyring is not None  # needs_key: the runner refuses to start without one
        found, problem = stored_secrets(spec, reply)
        if problem:
            return _skip(problem)
        forms: list[str] = []
        skips: list[str] = []
        changes: dict[str, tuple[bytes, bytes]] = {}
        verdicts: dict[str, Verdict] = {}
        for fs, value in found:
            if fs.masked:  # plaintext by policy, never touched
                forms.append("masked")
                continue
            verdict = keyring.classify(value, fs.envelope)
            forms.append(verdict.kind)
            new, skip = self.transform(keyring, verdict, value, fs.envelope)
            if skip:
                if skip not in skips:
                    skips.append(skip)
            elif new is not None:
                changes[fs.name] = (value, new)
                verdicts[fs.name] = verdict
        if not changes:
            return Decision(skips=tuple(skips), forms=tuple(forms))
        change: Any
        if spec.kind == "hash":
            change = changes
        elif spec.kind == "json":
            doc = json.loads(reply)
            for name, (_, new) in changes.items():
                if not _utf8(new):
                    return Decision(skips=(*skips, "corrupt"), forms=tuple(forms))
                doc[name] = new.decode("utf-8")
            text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
            change = (reply, text.encode("utf-8"))
        else:
            ((_, new),) = changes.values()
            change = (reply, new)
        return Decision(
            change=change, fields=tuple(changes), skips=tuple(skips), forms=tuple(forms), verdicts=verdicts
        )

    def inspect_misfits(self, rc: RunContext, spec: ModelSpec, misfits: list[str | bytes]) -> Program[None]:
        """Read the misfits as the model's type: one holding a secret in a problem form is reported."""
        keyring = rc.octx.keyring
        if not self.misfit_problems or keyring is None:
            return
        replies = yield Call([self.read(spec, k) for k in misfits])  # type: ignore[arg-type]
        for key, reply in zip(misfits, replies, strict=True):
            if isinstance(reply, ErrorReply) or not reply:
                continue
            found, problem = stored_secrets(spec, reply)
            forms = {form_of(s, keyring)[0] for s in found}
            if problem or forms & self.misfit_problems:
                rc.report.skip("key_types", printable(key))


class EncryptFields(_SecretFields):
    """Bring every ``Encrypted`` value into the declared stored form under the current key.

    Per stored form: plaintext -> ``envelope + token`` (:meth:`Keyring.seal`); a bare token ->
    the envelope around it (:meth:`Keyring.reseal`, timestamp kept); nested -> repaired (the
    innermost plaintext, encrypted once); current -> untouched; old -> untouched (rotation is
    :class:`RotateKeys`' job) unless ``retired=True``, which reseals it under the current key in
    the same pass (for an application that reads with one key only); empty -> untouched;
    undecryptable / suspicious -> reported, untouched.  ``Masked`` fields are counted as
    plaintext by policy, never touched.
    """

    description = "encrypt legacy plaintext secrets into the declared stored form"
    reversible = True
    encrypts = True
    misfit_problems = frozenset({"plaintext", "bare", "nested", "undecryptable", "suspicious"})

    def __init__(self, models: Sequence[str] | None = None, *, retired: bool = False) -> None:
        super().__init__(models)
        self.retired = retired
        if retired:
            self.misfit_problems = self.misfit_problems | {"old"}

    def __repr__(self) -> str:
        suffix = ", retired=True" if self.retired else ""
        return f"{type(self).__name__}(models={self.models!r}{suffix})"

    def transform(
        self, keyring: Keyring, verdict: Verdict, stored: bytes, envelope: bytes
    ) -> tuple[bytes | None, str | None]:
        kind = verdict.kind
        if kind == "old" and self.retired:
            return keyring.reseal(stored, envelope), None
        if kind == "plaintext":
            if not _utf8(stored):
                return None, "corrupt"
            return keyring.seal(stored, envelope), None
        if kind == "bare":
            return keyring.reseal(stored, envelope), None
        if kind == "nested":
            assert verdict.plaintext is not None
            return keyring.seal(verdict.plaintext, envelope), None
        if kind in ("undecryptable", "suspicious"):
            return None, kind
        return None, None


class RotateKeys(_SecretFields):
    """Re-encrypt every value that needs a retired key to be read, under the current key (timestamps kept).

    old -> resealed in the declared form; a bare or nested value with a layer under a
    retired key -> resealed / repaired too (after rotation the old key can go);
    undecryptable / suspicious -> reported, untouched.
    """

    description = "re-encrypt secrets under retired keys with the current key"
    encrypts = True
    misfit_problems = frozenset({"old", "undecryptable", "suspicious", "bare", "nested"})

    def transform(
        self, keyring: Keyring, verdict: Verdict, stored: bytes, envelope: bytes
    ) -> tuple[bytes | None, str | None]:
        kind = verdict.kind
        if kind == "old" or (kind == "bare" and verdict.old_inner):
            return keyring.reseal(stored, envelope), None
        if kind == "nested" and verdict.old_inner:
            assert verdict.plaintext is not None
            return keyring.seal(verdict.plaintext, envelope), None
        if kind in ("undecryptable", "suspicious"):
            return None, kind
        return None, None


class DecryptFields(_SecretFields):
    """Turn encrypted values back into plaintext (the down of EncryptFields; needs ``allow_plaintext``)."""

    description = "decrypt encrypted secrets back to plaintext"
    decrypts = True
    misfit_problems = frozenset({*VERIFIED_FORMS, "undecryptable", "suspicious"})

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        if not octx.allow_plaintext:
            raise PermissionError("decrypting secrets back to plaintext needs --allow-plaintext")
        return super().targets(octx)

    def transform(
        self, keyring: Keyring, verdict: Verdict, stored: bytes, envelope: bytes
    ) -> tuple[bytes | None, str | None]:
        if verdict.kind in VERIFIED_FORMS:
            return verdict.plaintext, None
        if verdict.kind in ("undecryptable", "suspicious"):
            return None, verdict.kind
        return None, None


class VerifyFields(_SecretFields):
    """Changes nothing: each ``Encrypted`` value that is not ``current`` (or empty) is reported by form."""

    description = "verify every secret is in the declared form under the current key"
    misfit_problems = frozenset({"plaintext", "bare", "nested", "old", "undecryptable", "suspicious"})

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return select(
            octx, self.models, lambda s: bool(s.encrypted_fields), "Encrypted fields", self.describe()
        )

    def transform(
        self, keyring: Keyring, verdict: Verdict, stored: bytes, envelope: bytes
    ) -> tuple[bytes | None, str | None]:
        return None, (None if verdict.kind in ("current", "empty") else verdict.kind)


# --- TTL policy ------------------------------------------------------------------------------


def policy_seconds(value: Any) -> int | None:
    """A TTL policy's seconds, or None for persistent and for ``keep`` (no opinion: never touched)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


class ApplyTtlPolicy(Operation):
    """Give keys of TTL models that have no expiry their policy TTL (``EXPIRE … NX``).

    Persistent models and models whose policy is ``keep`` (no opinion) are never
    touched; a key that already expires keeps its expiry.
    """

    description = "apply the TTL policy to keys written without an expiry"
    changes_values = False

    def __init__(self, models: Sequence[str] | None = None) -> None:
        self.models = tuple(models) if models else None

    def __repr__(self) -> str:
        return f"ApplyTtlPolicy(models={self.models!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return select(
            octx,
            self.models,
            lambda s: policy_seconds(octx.ttl_of(s)) is not None,
            "a TTL policy in seconds (not persistent, not keep)",
            self.describe(),
        )

    def read(self, spec: ModelSpec, key: str) -> Command:
        return ("TTL", key)

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        ttl = policy_seconds(octx.ttl_of(spec))
        if reply == -1 and ttl is not None:
            return Decision(change=ttl, fields=("ttl",))
        return NO_CHANGE

    def write(self, spec: ModelSpec, key: str, decision: Decision) -> Command:
        # NX: only if the key still has no expiry (atomic; never shortens or replaces one)
        return ("EXPIRE", key, decision.change, "NX")

    def outcome(self, result: Any) -> str:
        return "changed" if result == 1 else "already"  # 0: it got an expiry (or vanished) meanwhile


# --- keys and values ------------------------------------------------------------------------------


class CopyKeys(Operation):
    """Copy every key of one model to the key another model gives the same key values.

    ``rename=True`` moves instead (RENAMENX).  Existing destination keys are never
    overwritten (reported as skipped "exists").  Both keys must share a slot on a
    cluster (COPY / RENAMENX): across slots use :class:`Rekey`.
    """

    changes_values = False

    def __init__(self, source: str, target: str, *, rename: bool = False) -> None:
        self.source, self.target, self.rename = source, target, rename
        self.description = f"{'rename' if rename else 'copy'} {source} keys to {target}"

    def __repr__(self) -> str:
        return f"CopyKeys({self.source!r}, {self.target!r}, rename={self.rename})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        (self._target,) = select(octx, [self.target], lambda s: True, "keys", self.describe())
        return select(octx, [self.source], lambda s: True, "keys", self.describe())

    def read(self, spec: ModelSpec, key: str) -> Command:
        return ("EXISTS", key)

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        values = spec.match(key)
        if not reply or values is None:
            return NO_CHANGE
        return Decision(change=self._target.render(values), fields=("key",))

    def write(self, spec: ModelSpec, key: str, decision: Decision) -> Command:
        return ("RENAMENX", key, decision.change) if self.rename else ("COPY", key, decision.change)

    def outcome(self, result: Any) -> str:
        return "changed" if result == 1 else "exists"


class TransformValues(Operation):
    """Rewrite stored values with a Python function, compare-and-set per key.

    ``fn(stored) -> new stored`` gets and returns what the key holds: a
    ``dict[str, bytes]`` of hash fields (return only the fields to change) or
    the bytes of a string value.  Return None for no change.  A change to an
    ``Encrypted`` field must keep what the application reads (the engine's
    read-equivalence guard refuses it otherwise).
    """

    def __init__(self, model: str, fn: Callable[[Any], Any], description: str = "") -> None:
        self.model, self.fn = model, fn
        self.description = description or f"transform {model} values"

    def __repr__(self) -> str:
        return f"TransformValues({self.model!r}, {getattr(self.fn, '__qualname__', self.fn)!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return select(
            octx,
            [self.model],
            lambda s: s.kind in ("hash", "json", "string", "counter"),
            "a value",
            self.describe(),
        )

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        if reply is None or reply == {} or reply == []:
            return NO_CHANGE
        if spec.redis_type == "hash":
            current = {k.decode("utf-8", "surrogateescape"): v for k, v in pairs(reply).items()}
            new = self.fn(dict(current))
            if not new:
                return NO_CHANGE
            change = {
                name: (current.get(name), value if isinstance(value, bytes) else str(value).encode())
                for name, value in new.items()
                if current.get(name) != value
            }
            return Decision(change=change, fields=tuple(change)) if change else NO_CHANGE
        new = self.fn(reply)
        if new is None or new == reply:
            return NO_CHANGE
        return Decision(
            change=(reply, new if isinstance(new, bytes) else str(new).encode()), fields=("value",)
        )


class Hook(Operation):
    """Anything else, run once under the migration lock: ``run(mapper, report)``.

    To run on an AsyncMapper as well, ``run`` returns a program (a generator
    yielding keyspace.core.programs steps) instead of calling the mapper.
    """

    changes_values = False
    hook = True

    def __init__(self, run: Callable[..., Any], description: str = "") -> None:
        self.run = run
        self.description = description or getattr(run, "__doc__", "") or "python hook"

    def __repr__(self) -> str:
        return f"Hook({getattr(self.run, '__qualname__', self.run)!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return []


# --- per item, several keys -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One key of the source model and what was read for it.

    ``replies`` are the raw replies to the commands ``reads`` named, in order;
    ``now`` is the server's clock (TIME) when they were read, for timestamps that
    must not depend on the machine running the migration.
    """

    key: str
    values: Mapping[str, str]
    replies: tuple[Any, ...]
    now: float


@dataclass(frozen=True, slots=True)
class ItemWrites:
    """What to write for one item: ``steps`` in order, then the ``done`` marker last.

    Step *i* of every item of a batch is sent only after step *i - 1* was
    acknowledged, and ``done`` only after every step of its item succeeded —
    whatever slots the keys live in.  Make ``done`` the write whose presence
    ``decide`` checks to return None (already done): then a run killed between
    two steps simply redoes the item.  ``fields`` names what changes, for the report.
    """

    steps: Sequence[Command] = ()
    done: Command | None = None
    fields: tuple[str, ...] = ("item",)


@dataclass(frozen=True, slots=True)
class Skip:
    """``decide``'s answer for an item it cannot migrate: ``blocking`` skips keep the migration unrecorded."""

    kind: str
    blocking: bool = True


def _time(reply: Any) -> float:
    seconds, micros = reply
    return int(seconds) + int(micros) / 1_000_000


SECRET_SAFE_COMMANDS = frozenset(
    {
        "COPY",
        "RESTORE",
        "DEL",
        "UNLINK",
        "EXPIRE",
        "PEXPIRE",
        "EXPIREAT",
        "PEXPIREAT",
        "PERSIST",
        "RENAMENX",
        "RENAME",
    }
)


def secret_write_problem(registry: Registry, keyring: Keyring | None, command: Command) -> str | None:
    """Why a raw write would change an ``Encrypted`` value outside the read-equivalence guard, or None.

    Byte-preserving commands (COPY, RESTORE, DEL, expiries, renames) are fine; an
    HSET on a hash model may set its ``Encrypted`` fields only to values in the
    declared form under the current key; any other value write to a model with
    ``Encrypted`` fields is refused — use a per-key operation, which the guard checks.
    """
    name = str(command[0]).upper()
    if name in SECRET_SAFE_COMMANDS or len(command) < 2:
        return None
    key = printable(command[1]) if isinstance(command[1], str | bytes) else str(command[1])
    found = registry.resolve(key)
    if found is None or not found[0].encrypted_fields:
        return None
    spec = found[0]
    if name in ("HSET", "HMSET") and spec.kind == "hash":
        encrypted = {f.name: f for f in spec.value_fields.values() if f.encrypted}
        args = list(command[2:])
        for raw_name, value in zip(args[::2], args[1::2], strict=True):
            fs = encrypted.get(printable(raw_name) if isinstance(raw_name, str | bytes) else str(raw_name))
            if fs is None:
                continue
            stored = value if isinstance(value, bytes) else str(value).encode("utf-8")
            kind = keyring.classify(stored, fs.envelope).kind if keyring else "unchecked"
            if kind not in ("current", "empty"):
                return f"{name} would store {spec.name}.{fs.name} as {kind}, not in the declared form"
        return None
    return f"{name} on a key of {spec.name}, which holds Encrypted fields (use a per-key operation)"


class PerItem(Operation):
    """For each key of ``source``: read related keys in one round trip, decide purely, write in order.

    ``reads(key, values)`` names the commands to read for one source key (its own
    value among them if needed); ``values`` are the key's fields.  The reads of a
    whole SCAN batch go in one round trip, with the server's TIME.
    ``decide(item)`` is pure and returns :class:`ItemWrites`, None when the item is
    already done (or has nothing to do), or :class:`Skip`.  The writes go in order,
    step by step across the batch, the ``done`` marker last (see :class:`ItemWrites`),
    so the keys may live in different cluster slots.  Idempotent when ``decide``
    returns None once the marker is there.  Writes that would change an ``Encrypted``
    value outside the read-equivalence guard are refused (``skipped: secret_write``).

    Example (the shape of TradingBoost's move to per-symbol status, ``0003``)::

        def reads(key, v):
            uid = v["user_id"]
            return [("GET", key), ("EXISTS", f"user:{uid}:active_symbols"),
                    ("HGETALL", f"user:{uid}:preferences")]

        def decide(item):
            status, migrated, prefs = item.replies
            if migrated or status != b"running":
                return None                                # done before, or nothing to move
            symbol = prefs.get(b"symbol")              # raw replies: HGETALL is a dict of bytes
            if not symbol:
                return Skip("no_symbol", blocking=False)
            uid, s = item.values["user_id"], symbol.decode()
            return ItemWrites(
                steps=[("SET", f"user:{uid}:symbol:{s}:status", "running"),
                       ("SET", f"user:{uid}:symbol:{s}:started_at", str(item.now))],
                done=("SADD", f"user:{uid}:active_symbols", s),
            )

        migration = Migration(id="0003", description="…",
                              operations=[PerItem("TradingStatus", reads=reads, decide=decide)])
    """

    changes_values = False

    def __init__(
        self,
        source: str,
        *,
        reads: Callable[[str, Mapping[str, str]], Sequence[Command]],
        decide: Callable[[Item], ItemWrites | Skip | None],
        description: str = "",
    ) -> None:
        self.source, self.reads, self.decide_item = source, reads, decide
        self.description = description or f"per-item migration of {source}"

    def __repr__(self) -> str:
        return (
            f"PerItem({self.source!r}, reads={getattr(self.reads, '__qualname__', self.reads)!r}, "
            f"decide={getattr(self.decide_item, '__qualname__', self.decide_item)!r})"
        )

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return select(octx, [self.source], lambda s: True, "keys", self.describe())

    def process(
        self, rc: RunContext, spec: ModelSpec, keys: list[str], misfits: list[str | bytes]
    ) -> Program[None]:
        if not keys:
            return
        report = rc.report
        located = [(k, spec.match(k) or {}) for k in keys]
        reads = [list(self.reads(k, v)) for k, v in located]
        replies = yield Call([c for r in reads for c in r] + [("TIME",)])
        now = _time(replies[-1])
        plans: list[tuple[str, ItemWrites]] = []
        at = 0
        for (key, values), commands in zip(located, reads, strict=True):
            got = tuple(replies[at : at + len(commands)])
            at += len(commands)
            bad = next((r for r in got if isinstance(r, ErrorReply)), None)
            if bad is not None:
                report.skip(error_kind(bad), key)
                continue
            result = self.decide_item(Item(key, values, got, now))
            if result is None:
                report.already += 1
            elif isinstance(result, Skip):
                if result.blocking:
                    report.skip(result.kind, key)
                else:
                    report.ignored[result.kind] += 1
            else:
                writes = [*result.steps, *([result.done] if result.done is not None else [])]
                problem = next(
                    (p for c in writes if (p := secret_write_problem(rc.octx.registry, rc.octx.keyring, c))),
                    None,
                )
                if problem:
                    report.skip("secret_write", key)
                    report.note(f"refused a write for {key}: {problem}")
                    continue
                plans.append((key, result))
        if rc.dry_run:
            for key, plan in plans:
                report.change(spec.name, key, plan.fields)
            return
        alive = plans
        depth = max((len(p.steps) for _, p in plans), default=0)
        for step in range(depth):
            sending = [(k, p) for k, p in alive if step < len(p.steps)]
            results = yield from rc.write([p.steps[step] for _, p in sending])
            failed = {k for (k, _), r in zip(sending, results, strict=True) if isinstance(r, ErrorReply)}
            for (k, _), r in zip(sending, results, strict=True):
                if isinstance(r, ErrorReply):
                    report.skip(error_kind(r), k)
            alive = [(k, p) for k, p in alive if k not in failed]
        marked = [(k, p) for k, p in alive if p.done is not None]
        results = []
        if marked:
            results = yield from rc.write([p.done for _, p in marked if p.done is not None])
        failed_marks = set()
        for (k, _), r in zip(marked, results, strict=True):
            if isinstance(r, ErrorReply):
                report.skip(error_kind(r), k)
                failed_marks.add(k)
        for key, plan in alive:
            if key not in failed_marks:
                report.change(spec.name, key, plan.fields)


class Rekey(Operation):
    """Move every key of some families from one id to another through an id map, keeping TTLs.

    For each key of each family (model) in ``families`` whose key field ``field``
    holds a *source* id (``source``: a regular expression the id must match in
    full, or a predicate; default: any id), the new id is read from the id map
    (``id_map``: a key template with one field, e.g. ``"user:{telegram_id}:okx_uid"``,
    whose STRING value is the new id).  The key is copied to the same key with the
    new id by DUMP + ``RESTORE … ABSTTL`` (works across cluster slots, keeps the
    expiry to the millisecond, Redis type and bytes unchanged - secrets stay
    byte-identical), never with REPLACE: an existing destination is never
    overwritten.  A destination that already holds the same value counts as
    already done; any other is a conflict (``skipped: destination_exists``, listed
    by ``migrate plan``).  ``delete_source=True`` then deletes the source, only if
    it is unchanged since it was copied (compare-and-delete; else
    ``skipped: source_changed``).  Ids without a mapping are counted (``ignored:
    unmapped``); a mapping that is not a valid id for the family is a skip
    (``bad_mapping``).  Keys that fail the family's key types are moved too (a
    Telegram-keyed hash in a family typed for OKX uids is the usual case).

    Example (Telegram id -> OKX uid for the user families)::

        Rekey(["UserApiKeys", "UserSettings", "UserPreferences"], field="user_id",
              id_map="user:{telegram_id}:okx_uid", source=r"[1-9][0-9]{4,10}",
              delete_source=False)
    """

    changes_values = False

    def __init__(
        self,
        families: Sequence[str],
        *,
        field: str,
        id_map: str,
        source: str | Callable[[str], bool] | None = None,
        delete_source: bool = False,
        description: str = "",
    ) -> None:
        self.families = tuple(families)
        self.field = field
        self.id_map = KeyTemplate(id_map)
        if len(self.id_map.fields) != 1:
            raise MigrationError(f"Rekey: the id map {id_map!r} must name exactly one field")
        if isinstance(source, str):
            pattern = re.compile(source)
            self.source: Callable[[str], bool] = lambda value: pattern.fullmatch(value) is not None
            self._source_text = source
        else:
            self.source = source or (lambda value: True)
            self._source_text = getattr(source, "__qualname__", repr(source))
        self.delete_source = delete_source
        self.description = description or f"move {', '.join(self.families)} keys to new ids via {id_map}"

    def __repr__(self) -> str:
        return (
            f"Rekey({list(self.families)!r}, field={self.field!r}, id_map={self.id_map.pattern!r}, "
            f"source={self._source_text!r}, delete_source={self.delete_source})"
        )

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return select(
            octx,
            self.families,
            lambda s: any(self.field in t.fields for t in s.templates),
            f"the key field {self.field!r}",
            self.describe(),
        )

    def process(
        self, rc: RunContext, spec: ModelSpec, keys: list[str], misfits: list[str | bytes]
    ) -> Program[None]:
        report = rc.report
        candidates: list[tuple[str, str, KeyTemplate, dict[str, str]]] = []
        for key in keys:  # a valid key is read through the template that owns it (ModelSpec.match_template)
            hit = spec.match_template(key)
            if hit is not None and self.field in hit[1] and self.source(hit[1][self.field]):
                candidates.append((key, hit[1][self.field], hit[0], hit[1]))
        for key in (m for m in misfits if isinstance(m, str)):  # keys failing the key types: by shape
            for template in spec.templates:
                found = template.match(key)
                if found is not None and self.field in found and self.source(found[self.field]):
                    candidates.append((key, found[self.field], template, found))
                    break
        if not candidates:
            return
        replies = yield Call(
            [("GET", self.id_map.render({self.id_map.fields[0]: old})) for _, old, _, _ in candidates]
        )
        moves: list[tuple[str, str]] = []
        for (key, _old, template, found), mapped in zip(candidates, replies, strict=True):
            if isinstance(mapped, ErrorReply):
                report.skip("bad_mapping", key)
                continue
            if mapped is None:
                report.ignored["unmapped"] += 1
                continue
            new_id = mapped.decode("utf-8", "replace") if isinstance(mapped, bytes) else str(mapped)
            try:
                spec.key_text(self.field, new_id)
                destination = template.render({**found, self.field: new_id})
            except Exception:  # the map holds something that is not an id of this family
                report.skip("bad_mapping", key)
                continue
            if destination != key:
                moves.append((key, destination))
        if not moves:
            return
        got = yield Call(
            [c for src, dst in moves for c in (("DUMP", dst), ("DUMP", src), ("PTTL", src))] + [("TIME",)]
        )
        now_ms = int(_time(got[-1]) * 1000)
        copies: list[tuple[str, str, bytes, int]] = []
        deletes: list[tuple[str, bytes]] = []
        for i, (src, dst) in enumerate(moves):
            existing, payload, pttl = got[3 * i : 3 * i + 3]
            if any(isinstance(r, ErrorReply) for r in (existing, payload, pttl)):
                report.skip("server_error", src)
                continue
            if payload is None:
                continue  # gone meanwhile
            if existing is not None:
                if existing == payload:
                    report.already += 1
                    if self.delete_source:
                        deletes.append((src, payload))
                else:
                    report.skip("destination_exists", src)
                continue
            copies.append((src, dst, payload, int(pttl)))
        if rc.dry_run:
            for src, _dst, _, _ in copies:
                report.change(spec.name, src, ("moved",))
            return
        if copies:
            results = yield from rc.write(
                [
                    ("RESTORE", dst, 0, payload)
                    if pttl < 0
                    else ("RESTORE", dst, now_ms + pttl, payload, "ABSTTL")
                    for _, dst, payload, pttl in copies
                ]
            )
            for (src, _dst, payload, _), result in zip(copies, results, strict=True):
                if isinstance(result, ErrorReply):
                    report.skip("destination_exists" if "BUSYKEY" in result else error_kind(result), src)
                    continue
                report.change(spec.name, src, ("moved",))
                if self.delete_source:
                    deletes.append((src, payload))
        if deletes:
            results = yield from rc.write(
                [scripts.call(DELETE_IF_UNCHANGED, [src], [payload]) for src, payload in deletes]
            )
            for (src, _), result in zip(deletes, results, strict=True):
                if isinstance(result, ErrorReply):
                    report.skip(error_kind(result), src)
                elif result != 1:
                    report.skip("source_changed", src)


# --- the migration -----------------------------------------------------------------------------------


@dataclass
class Migration:
    """One numbered migration script's declaration.

    ``id`` is the script's number (``"0001"``) as written; once loaded from a
    location it becomes ``"<location>/0001"`` (``number`` and ``location``
    keep the parts), so two applications' ``0001`` never share a record.
    ``depends_on`` names scripts of the same location by number, or of
    another location as ``"<location>/<number>"``.
    """

    id: str
    description: str
    operations: Sequence[Operation]
    depends_on: Sequence[str] = ()
    down: Sequence[Operation] | None = None
    source: str = field(default="", repr=False)  # the script's text (for the checksum)
    number: str = field(default="", repr=False)
    location: str = field(default="", repr=False)

    def all_operations(self) -> Iterable[Operation]:
        return iter(self.operations)
