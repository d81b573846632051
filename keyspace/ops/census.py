"""What a scanned key is, and what the secrets in a stored record are.  Pure: no I/O.

Two questions every operator engine asks (stats, doctor, show, the per-user checks):

* **Where does a key belong?**  :func:`place_key` answers ``model`` (it is a
  key of a model, key types and all), ``mistyped`` (it has the *shape* of a
  model's template — the model's SCAN pattern returns it — but a key field
  fails its type: a 14-digit OKX uid, a leading zero, letters, bytes that are
  not UTF-8; the model cannot read it and migrations skip it), ``internal``
  (keyspace's own ``keyspace:`` keys) or ``unowned`` (no model's shape).
* **What are the secrets of a record?**  :func:`census` classifies every
  value of every secret field once: ``Encrypted`` fields with the keyring
  (current / old / bare / nested / plaintext / empty / undecryptable /
  suspicious, see keyspace.core.crypto) or, without a key, by shape alone
  (enveloped / bare tokens that could not be verified, plaintext, empty,
  suspicious); ``Masked`` fields — plaintext by policy — by shape (plaintext,
  empty, a token the application's readers would hand to the exchange
  unread, suspicious).  :func:`decoding_context` then lets the codec decode
  the whole record from these verdicts, so no secret is decrypted twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from keyspace.core.codec import CodecContext
from keyspace.core.crypto import Keyring, Verdict, generate_key
from keyspace.core.model import FieldSpec, ModelSpec
from keyspace.core.programs import ScanBatch
from keyspace.core.template import KeyTemplate, segment_problem
from keyspace.errors import KeyspaceError

INTERNAL_PREFIX = "keyspace:"

# --- where a key belongs -----------------------------------------------------------------

Place = Literal["model", "mistyped", "internal", "unowned"]


@dataclass(frozen=True, slots=True)
class KeyPlace:
    """Where a scanned key belongs; ``key`` is printable (non-UTF-8 bytes as ``\\xNN``)."""

    place: Place
    key: str
    spec: ModelSpec | None = None
    values: dict[str, str] | None = None
    reason: str = ""  # mistyped: which key field fails, and why


def printable(raw: str | bytes) -> str:
    return raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw


def _shape(template: KeyTemplate, parts: Sequence[str]) -> dict[str, str] | None:
    """The placeholder texts of a key with this template's shape (literals equal), unchecked."""
    if len(parts) != len(template.segments):
        return None
    found: dict[str, str] = {}
    for seg, part in zip(template.segments, parts, strict=True):
        if seg.field is None:
            if part != seg.prefix:
                return None
            continue
        inner = len(part) - len(seg.prefix) - len(seg.suffix)
        if inner < 1 or not (part.startswith(seg.prefix) and part.endswith(seg.suffix)):
            return None
        found[seg.field] = part[len(seg.prefix) : len(part) - len(seg.suffix)]
    return found


def _why(spec: ModelSpec, texts: dict[str, str], utf8: bool) -> str:
    if not utf8:
        return "the key is not valid UTF-8"
    for name, text in texts.items():
        problem = segment_problem(text)
        if problem:
            return f"key field {name} {text!r}: {problem}"
        try:
            written = spec.key_text(name, text)
        except KeyspaceError as exc:
            return f"key field {name} {text!r}: {exc.reason}"
        if written != text:
            return f"key field {name} {text!r}: keyspace writes this value as {written!r}"
    return "a key field fails its type"


def raw_keys(batch: ScanBatch) -> list[str | bytes]:
    """Every key of a SCAN batch: the UTF-8 ones as text, the others as the bytes they are."""
    return [*batch.keys, *batch.undecodable]


def place_key(raw: str | bytes, specs: Sequence[ModelSpec]) -> KeyPlace:
    """Where ``raw`` belongs among ``specs`` (the models of the server it was scanned on)."""
    utf8 = True
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, utf8 = raw.decode("utf-8", "surrogateescape"), False
    else:
        text = raw
    shown = printable(raw)
    if text.startswith(INTERNAL_PREFIX):
        return KeyPlace("internal", shown)
    if utf8:
        for spec in specs:
            values = spec.match(text)
            if values is not None:
                return KeyPlace("model", shown, spec, values)
    parts = text.split(":")
    for spec in specs:
        for template in spec.templates:
            texts = _shape(template, parts)
            if texts is not None:
                return KeyPlace("mistyped", shown, spec, None, _why(spec, texts, utf8))
    return KeyPlace("unowned", shown)


# --- what the secrets of a record are ---------------------------------------------------------

# A keyring that verifies nothing: Keyring.classify then tells the stored forms apart by shape
# alone (its random key verifies no stored token), so the strict rules are written once.
_SHAPES = Keyring(generate_key())

Family = Literal["encrypted", "masked"]

ENCRYPTED_FORMS = (
    "current",
    "old",
    "bare",
    "nested",
    "plaintext",
    "empty",
    "undecryptable",
    "suspicious",
    "enveloped",  # without a key: in the declared stored form, not verified
)
MASKED_FORMS = ("plaintext", "empty", "token", "suspicious")


@dataclass(frozen=True, slots=True)
class SecretValue:
    """One stored secret value: its field, family and form (never the value)."""

    field: str
    family: Family
    form: str
    verdict: Verdict | None = None  # Encrypted fields classified with a key


@dataclass(slots=True)
class RecordCensus:
    """The secrets of one stored record; ``unread`` names fields whose plaintext is unknown."""

    values: list[SecretValue] = field(default_factory=list)
    plaintexts: dict[tuple[bytes, bytes], bytes] = field(default_factory=dict)
    unread: set[str] = field(default_factory=set)
    problem: str = ""  # the record could not be parsed for its secrets (the codec names it too)


def shape_of(stored: bytes, envelope: bytes) -> str:
    """The form of an encrypted field's value without a key: enveloped, bare, plaintext, empty, suspicious."""
    verdict = _SHAPES.classify(stored, envelope)
    if verdict.kind == "undecryptable":
        return "enveloped" if envelope and stored.startswith(envelope) else "bare"
    return verdict.kind


_ANY_ENVELOPE = re.compile(rb"^[A-Za-z][A-Za-z0-9_]{0,15}:(?=g)")


def masked_form(stored: bytes, envelope: bytes) -> str:
    """The form of a plaintext-by-policy value: plaintext, empty, token (encrypted there), suspicious.

    A plaintext-by-policy model declares no envelope of its own, so any envelope-shaped prefix
    followed by a token counts as a token (``enc_v1:gAAAA…``): its readers would use it as the secret.
    """
    found = _ANY_ENVELOPE.match(stored)
    kind = shape_of(stored, found.group(0) if found else envelope)
    return "token" if kind in ("enveloped", "bare") else kind


def _pairs(reply: Any) -> dict[Any, Any]:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True)) if reply else {}


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def load_json(raw: Any) -> tuple[Any, str]:
    """(document, "") or (None, why it cannot be read) — never raises, however deep the nesting."""
    problem = ""
    try:
        return json.loads(_as_bytes(raw)), ""
    except UnicodeDecodeError:
        problem = "stored document is not valid UTF-8"
    except ValueError:
        problem = "stored document is not valid JSON"
    except RecursionError:
        problem = "stored document is JSON nested too deeply to read"
    return None, problem


def secret_values(spec: ModelSpec, reply: Any) -> tuple[list[tuple[FieldSpec, bytes]], str]:
    """The stored values of the secret fields of one record, and why it could not be read ("" if it could)."""
    if reply is None or not spec.secret_fields:
        return [], ""
    fields = spec.value_fields
    if spec.kind == "hash":
        stored = {
            (k.decode("utf-8", "surrogateescape") if isinstance(k, bytes) else k): v
            for k, v in _pairs(reply).items()
        }
        return [(fields[n], _as_bytes(stored[n])) for n in spec.secret_fields if n in stored], ""
    if spec.kind == "json":
        doc, problem = load_json(reply)
        if problem:
            return [], problem
        if not isinstance(doc, dict):
            return [], f"stored document is a JSON {type(doc).__name__}, not an object"
        out = []
        for name in spec.secret_fields:
            value = doc.get(name)
            if isinstance(value, str):
                out.append((fields[name], value.encode("utf-8", "surrogateescape")))
        return out, ""
    return [(fields[spec.value_field], _as_bytes(reply))], ""


def census(spec: ModelSpec, reply: Any, keyring: Keyring | None) -> RecordCensus:
    """Classify every secret of one record once (see the module docstring)."""
    found, problem = secret_values(spec, reply)
    out = RecordCensus(problem=problem)
    envelope = spec.envelope.encode("ascii")
    for fs, stored in found:
        if fs.masked:
            out.values.append(SecretValue(fs.name, "masked", masked_form(stored, envelope)))
            continue
        if keyring is None:
            form = shape_of(stored, fs.envelope)
            out.values.append(SecretValue(fs.name, "encrypted", form))
            if form in ("plaintext", "empty"):
                out.plaintexts[(stored, fs.envelope)] = stored
            else:
                out.unread.add(fs.name)
            continue
        verdict = keyring.classify(stored, fs.envelope)
        out.values.append(SecretValue(fs.name, "encrypted", verdict.kind, verdict))
        if verdict.readable and verdict.plaintext is not None:
            out.plaintexts[(stored, fs.envelope)] = verdict.plaintext
        else:
            out.unread.add(fs.name)
    return out


class _Verdicts:
    """Stands in for the keyring while the codec decodes a record the census already classified.

    Every secret the census could read is handed over as its plaintext; one it
    could not (no key, undecryptable, suspicious) as an empty placeholder, so
    the rest of the record is still validated (errors on those fields are then
    not counted as corrupt: see :func:`unread_only`).
    """

    __slots__ = ("_known", "fingerprints")

    def __init__(self, known: dict[tuple[bytes, bytes], bytes], fingerprints: tuple[str, ...]) -> None:
        self._known = known
        self.fingerprints = fingerprints

    def classify(self, stored: bytes, envelope: bytes | str = b"") -> Verdict:
        env = envelope.encode("ascii") if isinstance(envelope, str) else envelope
        return Verdict("current", self._known.get((stored, env), b""))


def decoding_context(record: RecordCensus, keyring: Keyring | None) -> CodecContext:
    """A codec context that decodes ``record`` from its census (no second decryption)."""
    fingerprints = keyring.fingerprints if keyring is not None else ()
    stand_in = cast(Keyring, _Verdicts(record.plaintexts, fingerprints))
    return CodecContext(keyring=stand_in, plaintext_reads="allow")


def unread_only(error: KeyspaceError, unread: Iterable[str]) -> bool:
    """Whether a decoding error is only about secrets whose plaintext could not be read."""
    names = set(unread)
    if not names:
        return False
    errors = getattr(error, "errors", None)
    if errors:
        return all(e.get("loc") and str(e["loc"][0]) in names for e in errors)
    return error.field in names
