"""Migration operations: what to read for a key, what to change (pure), and the write.

An operation looks at one key at a time.  ``read`` names the command that
fetches what it needs; ``decide`` is pure — it gets the reply and returns a
:class:`Decision`; ``write`` turns a change into one compare-and-set command
that keeps the key's TTL and writes nothing if the application changed the
key in between (the runner then re-reads and decides again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from keyspace.core import scripts
from keyspace.core.crypto import Keyring
from keyspace.core.model import ModelSpec
from keyspace.core.registry import Registry

Command = tuple[Any, ...]


@dataclass(slots=True)
class Decision:
    """``change`` is None for no change; ``skip`` names an error kind (key left untouched)."""

    change: Any = None
    fields: tuple[str, ...] = ()  # what changes, for the report (never values)
    skip: str | None = None
    reason: str = ""

    @property
    def is_change(self) -> bool:
        return self.change is not None


NO_CHANGE = Decision()


def _skip(kind: str, reason: str) -> Decision:
    return Decision(skip=kind, reason=reason)


_NAMES: dict[int, tuple[tuple[str, bytes], ...]] = {}


def _encoded_names(spec: ModelSpec) -> tuple[tuple[str, bytes], ...]:
    names = _NAMES.get(id(spec))
    if names is None:
        names = _NAMES[id(spec)] = tuple((n, n.encode()) for n in spec.encrypted_fields)
    return names


def _pairs(reply: Any) -> dict[bytes, bytes]:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True)) if reply else {}


@dataclass
class OperationContext:
    """What operations may use: the keyring and the registry."""

    keyring: Keyring | None
    registry: Registry
    ttl_of: Callable[[ModelSpec], int | None]
    allow_plaintext: bool = False


class Operation:
    """Base class; subclasses override ``targets``, ``read``, ``decide`` and ``write``."""

    description = ""
    needs_key = False
    reversible = False

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        raise NotImplementedError

    def read(self, spec: ModelSpec, key: str) -> Command:
        return ("HGETALL", key) if spec.redis_type == "hash" else ("GET", key)

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        raise NotImplementedError

    def write(self, spec: ModelSpec, key: str, decision: Decision) -> Command:
        """The compare-and-set command for a change."""
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

    def describe(self) -> str:
        return self.description or type(self).__name__

    def checksum_part(self) -> str:
        return repr(self)


def classify_fields(spec: ModelSpec, reply: Any, keyring: Keyring) -> list[str]:
    """The classification (current/old/plaintext/undecryptable) of each encrypted value of a stored key."""
    if reply is None:
        return []
    values: list[bytes] = []
    if spec.kind == "hash":
        stored = _pairs(reply)
        values = [stored[n.encode()] for n in spec.encrypted_fields if n.encode() in stored]
    elif spec.kind == "json":
        try:
            doc = json.loads(reply)
        except ValueError:
            return ["corrupt"]
        values = [
            doc[n].encode()
            for n in spec.encrypted_fields
            if isinstance(doc, dict) and isinstance(doc.get(n), str)
        ]
    else:
        values = [reply]
    return [keyring.classify(v).kind for v in values]


# --- encrypted fields -------------------------------------------------------------


class _SecretFields(Operation):
    """Shared logic of encrypt / rotate / decrypt: per encrypted field, maybe a new stored value."""

    needs_key = True

    def __init__(self, models: Sequence[str] | None = None) -> None:
        self.models = tuple(models) if models else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(models={self.models!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        specs = [s for s in octx.registry if s.encrypted_fields and not s.read_only]
        if self.models is not None:
            specs = [s for s in specs if s.name in self.models]
        return specs

    def transform(
        self, keyring: Keyring, stored: bytes, octx: OperationContext
    ) -> tuple[bytes | None, str | None]:
        """(new stored value or None for no change, skip kind or None)."""
        raise NotImplementedError

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        if reply is None or (spec.redis_type == "hash" and not reply):
            return NO_CHANGE  # gone meanwhile
        keyring = octx.keyring
        assert keyring is not None
        if spec.kind == "hash":
            stored = _pairs(reply)
            changes: dict[str, tuple[bytes, bytes]] = {}
            for name, raw_name in _encoded_names(spec):
                old = stored.get(raw_name)
                if old is None:
                    continue
                new, skip = self.transform(keyring, old, octx)
                if skip:
                    return _skip(skip, f"field {name!r}: {skip}")
                if new is not None:
                    changes[name] = (old, new)
            return Decision(change=changes, fields=tuple(changes)) if changes else NO_CHANGE
        if spec.kind == "json":
            try:
                doc = json.loads(reply)
            except (ValueError, UnicodeDecodeError):
                return _skip("corrupt", "stored document is not valid JSON")
            if not isinstance(doc, dict):
                return _skip("corrupt", "stored document is not a JSON object")
            changed: list[str] = []
            for name in spec.encrypted_fields:
                value = doc.get(name)
                if value is None:
                    continue
                if not isinstance(value, str):
                    return _skip("corrupt", f"field {name!r}: encrypted value is not a string")
                new, skip = self.transform(keyring, value.encode("utf-8"), octx)
                if skip:
                    return _skip(skip, f"field {name!r}: {skip}")
                if new is not None:
                    doc[name] = new.decode("utf-8")
                    changed.append(name)
            if not changed:
                return NO_CHANGE
            text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
            return Decision(change=(reply, text.encode("utf-8")), fields=tuple(changed))
        # a string model holding one encrypted value
        (name,) = spec.encrypted_fields
        new, skip = self.transform(keyring, reply, octx)
        if skip:
            return _skip(skip, f"field {name!r}: {skip}")
        return Decision(change=(reply, new), fields=(name,)) if new is not None else NO_CHANGE


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class EncryptFields(_SecretFields):
    """Encrypt every legacy plaintext value of every ``Encrypted`` field (tokens are left alone)."""

    description = "encrypt legacy plaintext values of encrypted fields"
    reversible = True

    def transform(
        self, keyring: Keyring, stored: bytes, octx: OperationContext
    ) -> tuple[bytes | None, str | None]:
        verdict = keyring.classify(stored)
        if verdict.kind == "plaintext":
            if not _utf8(stored):
                return None, "corrupt"
            return keyring.encrypt(stored), None
        if verdict.kind == "undecryptable":
            return None, "undecryptable"
        return None, None


class RotateKeys(_SecretFields):
    """Re-encrypt every token not under the current key (timestamps kept)."""

    description = "re-encrypt tokens under retired keys with the current key"

    def transform(
        self, keyring: Keyring, stored: bytes, octx: OperationContext
    ) -> tuple[bytes | None, str | None]:
        verdict = keyring.classify(stored)
        if verdict.kind == "old":
            return keyring.rotate(stored), None
        if verdict.kind == "undecryptable":
            return None, "undecryptable"
        return None, None


class DecryptFields(_SecretFields):
    """Turn tokens back into plaintext (the down of EncryptFields; needs an explicit flag)."""

    description = "decrypt encrypted fields back to plaintext"

    def transform(
        self, keyring: Keyring, stored: bytes, octx: OperationContext
    ) -> tuple[bytes | None, str | None]:
        if not octx.allow_plaintext:
            raise PermissionError("decrypting secrets back to plaintext needs --allow-plaintext")
        verdict = keyring.classify(stored)
        if verdict.kind in ("current", "old"):
            return verdict.plaintext, None
        if verdict.kind == "undecryptable":
            return None, "undecryptable"
        return None, None


# --- TTL policy ---------------------------------------------------------------------


class ApplyTtlPolicy(Operation):
    """Give keys of TTL models that have no expiry their policy TTL (persistent models untouched)."""

    description = "apply the TTL policy to keys written without an expiry"

    def __init__(self, models: Sequence[str] | None = None) -> None:
        self.models = tuple(models) if models else None

    def __repr__(self) -> str:
        return f"ApplyTtlPolicy(models={self.models!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        specs = [s for s in octx.registry if octx.ttl_of(s) is not None and not s.read_only]
        return [s for s in specs if self.models is None or s.name in self.models]

    def read(self, spec: ModelSpec, key: str) -> Command:
        return ("TTL", key)

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        ttl = octx.ttl_of(spec)
        if reply == -1 and ttl is not None:
            return Decision(change=ttl, fields=("ttl",))
        return NO_CHANGE

    def write(self, spec: ModelSpec, key: str, decision: Decision) -> Command:
        # NX: only if the key still has no expiry (atomic; never shortens or replaces one)
        return ("EXPIRE", key, decision.change, "NX")

    def outcome(self, result: Any) -> str:
        return "changed" if result == 1 else "already"  # 0: it got an expiry (or vanished) meanwhile


# --- keys and values -------------------------------------------------------------------


class CopyKeys(Operation):
    """Copy every key of one model to the key another model gives the same key values.

    ``rename=True`` moves instead (RENAMENX).  Existing destination keys are never
    overwritten (reported as skipped "exists").
    """

    def __init__(self, source: str, target: str, *, rename: bool = False) -> None:
        self.source, self.target, self.rename = source, target, rename
        self.description = f"{'rename' if rename else 'copy'} {source} keys to {target}"

    def __repr__(self) -> str:
        return f"CopyKeys({self.source!r}, {self.target!r}, rename={self.rename})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        self._target = octx.registry.get(self.target)
        return [octx.registry.get(self.source)]

    def read(self, spec: ModelSpec, key: str) -> Command:
        return ("EXISTS", key)

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        values = spec.match(key)
        if not reply or values is None:
            return NO_CHANGE
        destination = self._target.render(values)
        return Decision(change=destination, fields=("key",))

    def write(self, spec: ModelSpec, key: str, decision: Decision) -> Command:
        return ("RENAMENX", key, decision.change) if self.rename else ("COPY", key, decision.change)

    def outcome(self, result: Any) -> str:
        return "changed" if result == 1 else "exists"


class TransformValues(Operation):
    """Rewrite stored values with a Python function, compare-and-set per key.

    ``fn(stored) -> new stored`` gets and returns what the key holds: a
    ``dict[str, bytes]`` of hash fields (return only the fields to change) or
    the bytes of a string value.  Return None for no change.
    """

    def __init__(self, model: str, fn: Callable[[Any], Any], description: str = "") -> None:
        self.model, self.fn = model, fn
        self.description = description or f"transform {model} values"

    def __repr__(self) -> str:
        return f"TransformValues({self.model!r}, {getattr(self.fn, '__qualname__', self.fn)!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return [octx.registry.get(self.model)]

    def decide(self, spec: ModelSpec, key: str, reply: Any, octx: OperationContext) -> Decision:
        if reply is None or reply == {} or reply == []:
            return NO_CHANGE
        if spec.redis_type == "hash":
            current = {k.decode("utf-8", "surrogateescape"): v for k, v in _pairs(reply).items()}
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
    """Anything else: ``run(mapper, report)`` is called once, under the migration lock."""

    def __init__(self, run: Callable[..., Any], description: str = "") -> None:
        self.run = run
        self.description = description or getattr(run, "__doc__", "") or "python hook"

    def __repr__(self) -> str:
        return f"Hook({getattr(self.run, '__qualname__', self.run)!r})"

    def targets(self, octx: OperationContext) -> list[ModelSpec]:
        return []


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
