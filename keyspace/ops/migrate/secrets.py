"""Secret values inside stored keys, for every operation that reads or changes them.  Pure but for the canary.

* :func:`stored_secrets` finds the secret values (``Encrypted`` and ``Masked``
  fields) of a stored key, whatever the model's kind;
* :func:`form_of` names each one's stored form (keyspace.core.crypto's
  classification, plus ``masked`` for plaintext by policy);
* :func:`secret_changes` / :func:`guard` - **read equivalence as an invariant**:
  before the engine sends any write, every changed ``Encrypted`` value must read,
  under the application's reader rule, as the secret keyspace reads from the old
  value (``read_equivalence_problem``).  The engine applies it to every operation
  that changes values, so a format mistake stops at the first key;
* :class:`KeyCheck` - a wrong ``ENCRYPTION_KEY`` must never encrypt anything:
  counts of tokens that verify and tokens that verify under no key;
* the key canary (``keyspace:keyring:canary``): a token of a fixed text, written
  by the first encrypting run and resealed under the current key by every later
  one (so ``rotate-keys`` moves it to the new key).  An encrypting run refuses
  to start while the canary verifies under none of the configured keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from keyspace.core.crypto import Keyring, Verdict, read_equivalence_problem, token_shaped
from keyspace.core.model import FieldSpec, ModelSpec
from keyspace.core.programs import Call, ErrorReply, Program
from keyspace.errors import MigrationError

VERIFIED_FORMS = frozenset({"current", "old", "bare", "nested"})
CANARY_KEY = "keyspace:keyring:canary"
CANARY_TEXT = b"keyspace key canary v1"


def pairs(reply: Any) -> dict[bytes, bytes]:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True)) if reply else {}


_FIELDS: dict[int, tuple[ModelSpec, tuple[tuple[FieldSpec, bytes], ...]]] = {}


def _secret_specs(spec: ModelSpec) -> tuple[tuple[FieldSpec, bytes], ...]:
    """The model's secret fields with their encoded names (cached: this runs for every key)."""
    found = _FIELDS.get(id(spec))
    if found is None or found[0] is not spec:
        fields = tuple((f, f.name.encode()) for f in spec.value_fields.values() if f.secret)
        found = _FIELDS[id(spec)] = (spec, fields)
    return found[1]


class StoredSecret(NamedTuple):
    """One secret value as stored."""

    field: FieldSpec
    value: bytes


def stored_secrets(spec: ModelSpec, reply: Any) -> tuple[list[StoredSecret], str | None]:
    """The secret values a key holds, or a problem (``corrupt``) when they cannot be found."""
    fields = _secret_specs(spec)
    if not fields or reply is None:
        return [], None
    if spec.kind == "hash":
        stored = pairs(reply)
        return [StoredSecret(f, stored[name]) for f, name in fields if name in stored], None
    if spec.kind == "json":
        try:
            doc = json.loads(reply)
        except (ValueError, UnicodeDecodeError):
            return [], "corrupt"
        if not isinstance(doc, dict):
            return [], "corrupt"
        out = []
        for f, _ in fields:
            value = doc.get(f.name)
            if value is None:
                continue
            if not isinstance(value, str):
                return [], "corrupt"
            out.append(StoredSecret(f, value.encode("utf-8")))
        return out, None
    return [StoredSecret(fields[0][0], reply)], None


def form_of(secret: StoredSecret, keyring: Keyring | None) -> tuple[str, Verdict | None]:
    """The stored form of one secret value (``masked`` for plaintext by policy)."""
    if secret.field.masked:
        return "masked", None
    if keyring is None:
        return ("empty" if not secret.value else "unchecked"), None
    verdict = keyring.classify(secret.value, secret.field.envelope)
    return verdict.kind, verdict


def classify_fields(spec: ModelSpec, reply: Any, keyring: Keyring) -> list[str]:
    """The classification of each ``Encrypted`` value of a stored key (``["corrupt"]`` if unreadable)."""
    found, problem = stored_secrets(spec, reply)
    if problem:
        return [problem]
    return [keyring.classify(s.value, s.field.envelope).kind for s in found if s.field.encrypted]


# --- read equivalence --------------------------------------------------------------------------


def _doc(raw: Any) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    return doc if isinstance(doc, dict) else None


def secret_changes(
    spec: ModelSpec, reply: Any, change: Any
) -> list[tuple[FieldSpec, bytes | None, bytes | None]]:
    """(field, old, new) of every ``Encrypted`` value a compare-and-set change would alter.

    ``change`` is a hash change ``{field: (old or None, new)}`` or a whole-value
    change ``(old, new)`` of a string or JSON model; found from the values
    themselves, not from what the operation says it changes.
    """
    encrypted = [f for f in spec.value_fields.values() if f.encrypted]
    if not encrypted:
        return []
    if spec.kind == "hash":
        out = []
        for f in encrypted:
            if f.name in change:
                old, new = change[f.name]
                out.append((f, old, new))
        return out
    old_raw, new_raw = change
    if spec.kind == "json":
        before, after = _doc(old_raw) or {}, _doc(new_raw)
        if after is None:
            return [(f, _utf8(before.get(f.name)), None) for f in encrypted if before.get(f.name) is not None]
        out = []
        for f in encrypted:
            old, new = before.get(f.name), after.get(f.name)
            if old != new:
                out.append((f, _utf8(old), _utf8(new)))
        return out
    return [(encrypted[0], old_raw, new_raw)] if old_raw != new_raw else []


def _utf8(value: Any) -> bytes | None:
    if value is None:
        return None
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode("utf-8")


def guard(
    keyring: Keyring | None,
    changes: Iterable[tuple[FieldSpec, bytes | None, bytes | None]],
    *,
    allow_plaintext: bool = False,
    verdicts: Mapping[str, Verdict] | None = None,
) -> str | None:
    """Why the write must be refused, or None.  Never shows a value.

    Refused: a new value the application would read as another secret (read
    equivalence), a new value not in one layer of the declared form, and - unless
    the operation decrypts by design and ``allow_plaintext`` was given - a secret
    stored in plaintext where it was encrypted (the application reads a plaintext
    the same, so read equivalence alone would let a transform decrypt secrets).
    ``verdicts``: the old values' classifications by field, when the caller has them.
    """
    for f, old, new in changes:
        if keyring is None:
            return f"field {f.name!r}: no ENCRYPTION_KEY to check the secret it would change"
        if new is None:
            return f"field {f.name!r}: the write would drop a secret"
        if old is None:
            kind = keyring.classify(new, f.envelope).kind
            if kind not in ("current", "empty"):
                return f"field {f.name!r}: a new secret would be stored as {kind}, not in the declared form"
            continue
        before = verdicts.get(f.name) if verdicts else None
        problem = read_equivalence_problem(keyring, old, new, f.envelope, before=before)
        if problem:
            return f"field {f.name!r}: {problem}"
        # read equivalence passed: ``new`` is current, empty or plaintext, told apart by its shape
        decrypted = bool(new) and (not new.startswith(f.envelope) if f.envelope else not token_shaped(new))
        if decrypted and not allow_plaintext and keyring.classify(old, f.envelope).kind != "plaintext":
            return f"field {f.name!r}: the write would store an encrypted secret in plaintext"
    return None


# --- the key check -----------------------------------------------------------------------------


@dataclass
class KeyCheck:
    """Does ENCRYPTION_KEY (or an old key) open what is stored?  Counts only (flat memory)."""

    verified: int = 0
    unverified: int = 0

    def count(self, forms: Iterable[str]) -> None:
        for form in forms:
            if form in VERIFIED_FORMS:
                self.verified += 1
            elif form == "undecryptable":
                self.unverified += 1

    @property
    def wrong_key(self) -> bool:
        return self.unverified > 0 and self.verified == 0

    def problem(self, keyring: Keyring) -> str:
        return (
            f"{self.unverified} stored token(s) verify under none of the configured keys "
            f"(ENCRYPTION_KEY {keyring.current_fingerprint}"
            + (
                f", ENCRYPTION_OLD_KEYS {', '.join(keyring.old_fingerprints)}"
                if keyring.old_fingerprints
                else ""
            )
            + ") and not one verifies: ENCRYPTION_KEY is probably not the key the data was written with. "
            "Nothing was encrypted; configure the application's key (and put retired keys in "
            "ENCRYPTION_OLD_KEYS). If the key is right, the tokens are foreign or damaged: "
            "`keyspace migrate verify` names their keys; repair or delete them, then run again"
        )

    def ensure(self, keyring: Keyring) -> None:
        """Raise before a batch is written while the evidence says the key is wrong."""
        if self.wrong_key:
            raise MigrationError(self.problem(keyring))


# --- the key canary ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Canary:
    """What the canary says about the configured keys: ``absent``, ``current``, ``old`` or ``foreign``."""

    state: str
    fingerprint: str | None = None  # the key it was last sealed with (recorded beside it)


def read_canary(keyring: Keyring) -> Program[Canary]:
    (reply,) = yield Call([("HGETALL", CANARY_KEY)])
    if isinstance(reply, ErrorReply):
        return Canary("foreign")  # not a hash: not ours to trust
    stored = pairs(reply)
    token = stored.get(b"token")
    recorded = stored.get(b"fingerprint")
    fp = recorded.decode("ascii", "replace") if recorded else None
    if token is None:
        return Canary("absent") if not stored else Canary("foreign", fp)
    verdict = keyring.classify(token)
    if verdict.kind in ("current", "old") and verdict.plaintext == CANARY_TEXT:
        return Canary(verdict.kind, fp)
    return Canary("foreign", fp)


def seal_canary(keyring: Keyring) -> tuple[Any, ...]:
    """The write that (re)seals the canary under the current key."""
    return (
        "HSET",
        CANARY_KEY,
        "token",
        keyring.encrypt(CANARY_TEXT),
        "fingerprint",
        keyring.current_fingerprint,
    )


def canary_problem(canary: Canary, keyring: Keyring) -> str | None:
    if canary.state != "foreign":
        return None
    sealed = f" (sealed under key {canary.fingerprint})" if canary.fingerprint else ""
    return (
        f"the key canary {CANARY_KEY}{sealed} verifies under none of the configured keys "
        f"(ENCRYPTION_KEY {keyring.current_fingerprint}"
        + (f", ENCRYPTION_OLD_KEYS {', '.join(keyring.old_fingerprints)}" if keyring.old_fingerprints else "")
        + "): the last encrypting run used a key that is not configured now. Nothing was written; "
        "configure that key (as ENCRYPTION_KEY, or in ENCRYPTION_OLD_KEYS when rotating away from it)"
    )


def sample_forms(spec: ModelSpec, replies: Sequence[Any], keyring: Keyring) -> list[str]:
    """The stored forms of the ``Encrypted`` values of some keys (a sample)."""
    out: list[str] = []
    for reply in replies:
        if isinstance(reply, ErrorReply) or reply is None:
            continue
        found, problem = stored_secrets(spec, reply)
        if problem:
            continue
        out.extend(keyring.classify(s.value, s.field.envelope).kind for s in found if s.field.encrypted)
    return out
