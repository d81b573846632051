"""Model instances <-> stored bytes.  Pure: no I/O, shared by both mappers.

Storage rules (one per value, documented in the README):

* scalars (str, int, float, Decimal, bool, datetime, date, time, UUID, enums,
  literals) are stored as plain text: bools as ``true``/``false``, datetimes in
  ISO 8601 (keep them timezone-aware), enums by value — unless the field declares
  its family's form (``BoolText``, ``NoneText``, ``EpochSeconds``: keyspace.core.encodings);
* anything else (nested models, lists, dicts, unions) is stored as JSON in the
  model's ``json_style`` (``compact`` by default, or ``python``: what ``json.dumps`` writes);
* ``Encrypted[T]`` stores the text of T as a Fernet token.

**Saves write the fields that are set** (a hash is shared by several application writers):
a hash save writes exactly the value fields in the instance's fields-set (pydantic's
``model_fields_set``: constructor arguments and assignments; empty for an instance read from
Redis), deletes only fields explicitly set to None (or writes the field's ``NoneText``), and
never touches any other field — declared-but-unset, undeclared fields read with the instance
(``unknown_fields``), or fields it never saw.  A free-form (``extra="allow"``) hash writes its set
extras as text; a nested dict/list there is refused (it would be stored as a Python repr).

A JSON document, a string, a counter, a set or a list is one value: it is written whole when
anything on the instance is set (a key field counts: the value goes to another key), and not at
all when nothing is (an instance read and saved unchanged).  A document read from Redis
remembers its stored text: saved with nothing changed it is that text, byte for byte; saved with
some fields set, it is the stored document with only those keys replaced — key order, unknown
keys and untouched values as they were — dumped in the model's json_style.  An instance built in
memory is the whole document.

Reading turns bytes back into text/JSON and lets pydantic validate the whole
instance once; any failure becomes an error naming model, key and field: a stored text that
is not in the field's form (``" 1 "`` in a number, ``"yes"`` in a bool) is ``CorruptValue``.
JSON nested more than :data:`MAX_JSON_DEPTH` levels is ``CorruptValue`` on read (one bad record:
bulk reads and scans still return every good one) and ``ValidationFailed`` on write — pydantic
cannot serialize much deeper, so such a value would crash the next save, dump or CLI output.
NaN and infinity are refused on write everywhere (typed fields, JSON-valued fields, free-form extras).
"""

from __future__ import annotations

import decimal
import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from keyspace.core import compiled
from keyspace.core.crypto import Keyring
from keyspace.core.encodings import STORED_FORM
from keyspace.core.model import (
    FieldSpec,
    KeyspaceModel,
    ModelSpec,
    get_raw,
    get_unknown,
    set_raw,
    set_unknown,
    to_text,
    validation_error,
)
from keyspace.core.secret import reveal
from keyspace.errors import (
    CorruptValue,
    EncryptionKeyMissing,
    PlaintextSecret,
    SuspiciousValue,
    UndecryptableValue,
    ValidationFailed,
)

log = logging.getLogger("keyspace.secrets")

PlaintextPolicy = Literal["allow", "forbid"]


@dataclass(slots=True)
class CodecContext:
    """What encoding needs beyond the model: keys, the plaintext policy, counters.

    ``events`` counts what reads found (``plaintext``, ``old_key``) so that a
    migration window can be watched; ``on_plaintext`` is called with
    (model, key, field) - never the value - for every legacy plaintext read.
    """

    keyring: Keyring | None = None
    plaintext_reads: PlaintextPolicy = "allow"
    events: Counter[str] = field(default_factory=Counter)
    on_plaintext: Callable[[str, str, str], None] | None = None
    cluster: bool = False  # multi-key scripts are split by slot (no cross-slot calls on a cluster)

    def require_keyring(self, model: str, key: str | None, field_name: str) -> Keyring:
        if self.keyring is None:
            raise EncryptionKeyMissing(
                "encryption key missing: set ENCRYPTION_KEY (generate one with `keyspace keygen`)",
                model=model,
                key=key,
                field=field_name,
            )
        return self.keyring


def _dumps(value: Any) -> str:
    """Compact JSON (keyspace's default json_style)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --- one value ------------------------------------------------------------


def encode_value(
    fs: FieldSpec,
    jsonable: Any,
    raw: Any,
    ctx: CodecContext,
    model: str,
    key: str | None,
    dumps: Callable[[Any], str] = _dumps,
) -> bytes | str:
    """Text (or token) for one value; ``jsonable`` is pydantic's JSON-mode dump of it.

    For secret fields ``raw`` is the in-memory Secret (the dump is masked).
    An encrypted field is stored in the model's declared form
    (``envelope + token``); an empty text is stored as ``""``, as the
    application does (it never encrypts an empty value, and reads ``""`` back
    as ``""``).  ``dumps`` is the model's json_style.
    """
    if fs.secret:
        assert fs.plain is not None
        jsonable = fs.plain.dump_python(reveal(raw), mode="json")
        text = dumps(jsonable) if fs.json else to_text(jsonable)
        data = _utf8(text, model, key, fs.name)
        if fs.masked or not data:
            return data
        return ctx.require_keyring(model, key, fs.name).seal(data, fs.envelope)
    if fs.json:
        try:
            text = dumps(jsonable)
        except (ValueError, RecursionError):  # NaN / infinity have no JSON spelling
            pass
        else:
            if not too_deep(jsonable, len(text)):
                return text
            raise ValidationFailed(
                f"cannot store a value nested more than {MAX_JSON_DEPTH} levels deep (unreadable)",
                model=model,
                key=key,
                field=fs.name,
            )
        # Raised outside the handler: the error being handled (which may quote the value)
        # never rides along as __context__.
        raise ValidationFailed(
            "cannot encode: NaN and infinity have no JSON spelling", model=model, key=key, field=fs.name
        )
    if fs.dump is not None:
        stored: bytes | str = fs.dump(raw)  # the family's declared form (BoolText, EpochSeconds)
        return stored
    return to_text(jsonable)


def _utf8(text: str, model: str, key: str | None, field_name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass  # a lone surrogate; the error (which quotes the text) stays out of the chain
    raise ValidationFailed(
        "value is not encodable as UTF-8 (lone surrogate)", model=model, key=key, field=field_name
    )


def decode_value(fs: FieldSpec, stored: bytes, ctx: CodecContext, model: str, key: str) -> Any:
    """The value to validate for one stored value (text, parsed JSON, or decrypted text).

    Errors are raised outside the ``except`` blocks on purpose: the exception
    being handled (UnicodeDecodeError, JSONDecodeError) holds the value, which
    may be a decrypted secret, and would otherwise ride along as ``__context__``.
    """
    if fs.encrypted:
        stored = _decrypt(fs, stored, ctx, model, key)
    problem = ""
    try:
        text = stored.decode("utf-8")
    except UnicodeDecodeError:
        problem = "stored value is not valid UTF-8"
    if problem:
        raise CorruptValue(problem, model=model, key=key, field=fs.name)
    if fs.json:
        try:
            value = loads(text)
        except ValueError:
            problem = "stored value is not valid JSON"
        except RecursionError:
            problem = "stored value is JSON nested too deeply to read"
        else:
            if not too_deep(value, len(text)):
                return value
            problem = f"stored value is JSON nested more than {MAX_JSON_DEPTH} levels deep"
        raise CorruptValue(problem, model=model, key=key, field=fs.name)
    return text


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and infinity are not JSON")  # json.dumps writes them unless allow_nan=False


def loads(text: str | bytes) -> Any:
    """Strict JSON: ``NaN``/``Infinity`` (Python's json.dumps default output, not JSON) are refused."""
    return json.loads(text, parse_constant=_no_constant)


# JSON nested deeper than this is refused on read (CorruptValue): pydantic cannot serialize much
# deeper (about 254 levels), and Python's own json module gives up near the recursion limit, so a
# deeper value could be read but then crash the next save, dump or CLI output.  Real documents
# are a few levels deep.
MAX_JSON_DEPTH = 200


def too_deep(value: Any, size: int) -> bool:
    """Whether a parsed JSON value nests deeper than MAX_JSON_DEPTH (``size``: its text length).

    Free for short texts (depth d needs 2d characters); otherwise one walk over the containers.
    """
    if size <= 2 * MAX_JSON_DEPTH:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def _decrypt(fs: FieldSpec, stored: bytes, ctx: CodecContext, model: str, key: str) -> bytes:
    keyring = ctx.require_keyring(model, key, fs.name)
    verdict = keyring.classify(stored, fs.envelope)
    kind = verdict.kind
    if kind == "current":
        assert verdict.plaintext is not None
        return verdict.plaintext
    if kind in ("undecryptable", "suspicious"):
        ctx.events[kind] += 1
        error = SuspiciousValue if kind == "suspicious" else UndecryptableValue
        raise error(
            "stored value looks like a mangled Fernet token (a token inside another value); left as is"
            if kind == "suspicious"
            else f"stored value is an encrypted form, but {verdict.reason}",
            fingerprints=keyring.fingerprints,
            model=model,
            key=key,
            field=fs.name,
        )
    if kind in ("old", "bare", "nested"):
        # Readable, but not in the declared form under the current key: counted, so that
        # `keyspace stats`/`doctor` show what `migrate up` / `rotate-keys` still has to do.
        ctx.events["old_key" if kind == "old" else kind] += 1
        if kind == "nested":
            log.warning(
                "nested encryption read (a token inside a token)",
                extra={"keyspace_model": model, "keyspace_key": key, "keyspace_field": fs.name},
            )
        assert verdict.plaintext is not None
        return verdict.plaintext
    if kind == "empty":
        return b""
    # legacy plaintext
    if ctx.plaintext_reads == "forbid":
        raise PlaintextSecret(
            "legacy plaintext in an encrypted field (KEYSPACE_PLAINTEXT_READS=forbid); "
            "run `keyspace migrate up` to encrypt it",
            model=model,
            key=key,
            field=fs.name,
        )
    ctx.events["plaintext"] += 1
    log.warning(
        "plaintext secret read",
        extra={"keyspace_model": model, "keyspace_key": key, "keyspace_field": fs.name},
    )
    if ctx.on_plaintext is not None:
        ctx.on_plaintext(model, key, fs.name)
    assert verdict.plaintext is not None
    return verdict.plaintext


def _text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(value).encode("utf-8")


def _build(
    spec: ModelSpec, key: str, data: dict[str, Any], unknown: dict[str, Any] | None = None
) -> KeyspaceModel:
    """Validate a stored record into an instance whose fields-set is empty (it was read, not set)."""
    try:
        # the validator itself (model_validate's wrapper would cost a call on the hot path)
        obj: KeyspaceModel = spec.model.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        error = read_error(exc, spec, key)
    else:
        object.__setattr__(obj, "__pydantic_fields_set__", set())
        if unknown:
            set_unknown(obj, unknown)
        return obj
    raise error  # outside the handler: pydantic's error quotes the (possibly secret) input


def read_error(exc: ValidationError, spec: ModelSpec, key: str) -> CorruptValue | ValidationFailed:
    """A stored text not in its field's form is CorruptValue; any other misfit ValidationFailed."""
    errors = exc.errors(include_input=False, include_url=False)
    if errors and errors[0]["type"] == STORED_FORM:
        loc = errors[0]["loc"]
        return CorruptValue(
            f"stored value is {errors[0]['msg']}",
            model=spec.name,
            key=key,
            field=str(loc[0]) if loc else None,
        )
    return validation_error(exc, model=spec.name, key=key)


# --- whole instances --------------------------------------------------------


def _json_field(text: str) -> Any:
    """A JSON-valued hash field's stored text, parsed as decode_value does (raises on bad input)."""
    value = loads(text)
    if too_deep(value, len(text)):
        raise ValueError("too deep")
    return value


def decode_hash(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    """HGETALL reply (dict under RESP3, flat list under RESP2) -> instance; None when empty.

    The model's compiled reader (keyspace.core.compiled) answers first; whatever it does not
    expect, the generic path below decides, with the same result.
    """
    reader = spec._reader
    if reader is None:
        reader = spec._reader = compiled.hash_reader(spec, _json_field)
    found = reader(keys, reply)
    if found is not compiled.MISS:
        return found  # type: ignore[no-any-return]
    return _decode_hash(spec, key, keys, reply, ctx)


def _decode_hash(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    """The generic path: decode every field, then pydantic validates the record once."""
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(reply, dict):
        if not reply:
            return None
        pairs = reply.items()
    else:
        if not reply:
            return None
        pairs = zip(reply[::2], reply[1::2], strict=True)
    data: dict[str, Any] = dict(keys)
    unknown: dict[str, Any] = {}
    fields = spec.value_fields
    open_model = spec.open
    for raw_name, raw_value in pairs:
        name = raw_name.decode("utf-8", "surrogateescape") if isinstance(raw_name, bytes) else raw_name
        fs = fields.get(name)
        if fs is None:
            if open_model and name not in keys:
                data[name] = _text_or_bytes(_as_bytes(raw_value))
            else:
                unknown[name] = _text_or_bytes(_as_bytes(raw_value))
        elif fs.json or fs.encrypted:
            data[name] = decode_value(fs, _as_bytes(raw_value), ctx, spec.name, key)
        else:
            try:
                data[name] = raw_value.decode("utf-8")
            except (UnicodeDecodeError, AttributeError):
                data[name] = decode_value(fs, _as_bytes(raw_value), ctx, spec.name, key)
    return _build(spec, key, data, unknown)


# to_text of the commonest exact types, without its chain of type tests (the same texts)
_PLAIN_TEXT: dict[type, Callable[[Any], str]] = {
    int: str,
    float: str,
    decimal.Decimal: str,
    bool: {True: "true", False: "false"}.__getitem__,
}


def encode_hash(obj: KeyspaceModel, key: str, ctx: CodecContext) -> tuple[list[bytes | str], list[str]]:
    """(field/value pairs flattened, fields to delete) for saving a hash instance.

    Only fields in the instance's fields-set are written (see the module
    docstring); a set field holding None is deleted, or written as its NoneText.
    """
    spec = obj.__keyspace__
    values = obj.__dict__
    chosen = obj.__pydantic_fields_set__
    pairs: list[bytes | str] = []
    deletes: list[str] = []
    for name in spec.text_names:  # the hot path: plain scalars, no serializer call
        if name in chosen:
            value = values[name]
            if value is None:
                deletes.append(name)
            else:
                kind = type(value)
                pairs.append(name)
                pairs.append(value if kind is str else _PLAIN_TEXT.get(kind, to_text)(value))
    for name in spec.formed_names:
        if name in chosen:
            fs = spec.value_fields[name]
            value = values[name]
            if value is None:
                if fs.none_text is None:
                    deletes.append(name)
                else:
                    pairs += [name, fs.none_text]
            else:
                text = fs.dump(value) if fs.dump is not None else None
                pairs += [name, text if text is not None else value if type(value) is str else to_text(value)]
    special = [n for n in spec.special_names if n in chosen] if spec.special_names else None
    if special:
        dumped = _dump(obj, key, include=set(special))
        for name in special:
            fs = spec.value_fields[name]
            value = values[name]
            if value is None:
                if fs.none_text is None:
                    deletes.append(name)
                else:
                    pairs += [name, fs.none_text]
            else:
                pairs.append(name)
                pairs.append(encode_value(fs, dumped[name], value, ctx, spec.name, key, spec.dumps))
    extras = obj.__pydantic_extra__
    if extras:
        for name, value in extras.items():
            if name in chosen and name not in spec.value_fields:
                if value is None:
                    deletes.append(name)
                else:
                    pairs.append(name)
                    pairs.append(extra_text(spec, key, name, value))
    return pairs, deletes


def _dump(obj: KeyspaceModel, key: str, **which: Any) -> dict[str, Any]:
    """pydantic's JSON-mode dump; a value it cannot serialize (nested ~255 deep) is ValidationFailed."""
    try:
        return obj.model_dump(mode="json", **which)
    except (ValueError, RecursionError):
        pass  # the serializer's error stays out of the chain
    raise ValidationFailed(
        "cannot encode: a value nested too deeply to serialize", model=obj.__keyspace__.name, key=key
    )


_EXTRA_SCALARS = (str, int, float, bool)


def extra_text(spec: ModelSpec, key: str | None, name: str, value: Any) -> bytes | str:
    """The text of a free-form hash field (an extra of an ``extra="allow"`` model).

    A hash field holds text: a dict or a list would be stored as its Python repr, which
    no reader can parse back, so anything that is not a scalar is refused (declare the
    field with its type to store it as JSON).  NaN and infinity are refused as well.
    """
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationFailed(
            "NaN and infinity cannot be stored (they have no portable spelling)",
            model=spec.name,
            key=key,
            field=name,
        )
    from keyspace.core.model import is_scalar

    if isinstance(value, _EXTRA_SCALARS) or is_scalar(type(value)):
        if hasattr(value, "is_finite") and not value.is_finite():  # Decimal NaN / Infinity
            raise ValidationFailed("NaN and infinity cannot be stored", model=spec.name, key=key, field=name)
        return to_text(value)
    raise ValidationFailed(
        f"a free-form hash field holds text, not a {type(value).__name__} (it would be stored as a "
        "Python repr); declare the field with its type to store it as JSON",
        model=spec.name,
        key=key,
        field=name,
    )


def decode_json(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    if reply is None:
        return None
    problem = ""
    try:
        doc = loads(_as_bytes(reply))
    except UnicodeDecodeError:
        problem = "stored document is not valid UTF-8"
    except ValueError:
        problem = "stored document is not valid JSON"
    except RecursionError:
        problem = "stored document is JSON nested too deeply to read"
    if not problem and too_deep(doc, len(reply)):
        problem = f"stored document is JSON nested more than {MAX_JSON_DEPTH} levels deep"
    if problem:  # raised outside the handler: the parser's error quotes the document
        raise CorruptValue(problem, model=spec.name, key=key)
    if not isinstance(doc, dict):
        raise CorruptValue(
            f"stored document is a JSON {type(doc).__name__}, not an object",
            model=spec.name,
            key=key,
        )
    data: dict[str, Any] = dict(keys)
    unknown: dict[str, Any] = {}
    open_model = spec.open
    for name, value in doc.items():
        fs = spec.value_fields.get(name)
        if fs is None and open_model and name not in keys:
            data[name] = value
        elif fs is None or name in keys:
            unknown[name] = value
        elif fs.encrypted:
            if not isinstance(value, str):
                raise CorruptValue("encrypted value is not a string", model=spec.name, key=key, field=name)
            data[name] = decode_value(fs, _utf8(value, spec.name, key, name), ctx, spec.name, key)
        else:
            data[name] = value
    obj = _build(spec, key, data, unknown)
    set_raw(obj, reply)
    return obj


def encode_json(obj: KeyspaceModel, key: str, ctx: CodecContext) -> bytes | str:
    """The document to store (see the module docstring: read documents are patched, not rebuilt)."""
    spec = obj.__keyspace__
    raw = get_raw(obj)
    if raw is None:
        doc: dict[str, Any] = dict(get_unknown(obj) or {})
        extras = obj.__pydantic_extra__ or {}
        doc.update(_dump(obj, key, exclude=set(spec.key_fields) | set(extras)))
        doc.update(extras)  # as given: JSON-valued extras are stored as they are
        doc.update(_secret_values(obj, spec, spec.secret_fields, key, ctx))
        return _encode_doc(spec, doc, key)
    changed = [n for n in obj.__pydantic_fields_set__ if n not in spec.key_adapters]
    if not changed:
        unchanged: bytes | str = raw  # byte for byte what was read
        return unchanged
    doc = loads(raw)  # parsed once already when it was read
    extras = obj.__pydantic_extra__ or {}
    declared = [n for n in changed if n in spec.value_fields]
    plain = [n for n in declared if not spec.value_fields[n].secret]
    if plain:
        doc.update(_dump(obj, key, include=set(plain)))
    doc.update(_secret_values(obj, spec, [n for n in declared if n not in plain], key, ctx))
    doc.update({n: extras[n] for n in changed if n in extras})
    return _encode_doc(spec, doc, key)


def _secret_values(
    obj: KeyspaceModel, spec: ModelSpec, names: Iterable[str], key: str, ctx: CodecContext
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        raw = getattr(obj, name)
        if raw is None:
            out[name] = None
            continue
        stored = encode_value(spec.value_fields[name], None, raw, ctx, spec.name, key, spec.dumps)
        out[name] = stored.decode("utf-8") if isinstance(stored, bytes) else stored
    return out


def _encode_doc(spec: ModelSpec, doc: dict[str, Any], key: str) -> str:
    try:
        text = spec.dumps(doc)
    except (ValueError, TypeError, RecursionError):
        pass  # NaN/infinity, too deep, or a value JSON cannot hold; the error (quoting it) stays unchained
    else:
        if not too_deep(doc, len(text)):
            return text
        raise ValidationFailed(
            f"cannot store a document nested more than {MAX_JSON_DEPTH} levels deep (unreadable)",
            model=spec.name,
            key=key,
        )
    raise ValidationFailed(
        "cannot encode the document: NaN, infinity or a value JSON cannot hold", model=spec.name, key=key
    )


def decode_scalar(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    """GET reply of a string or counter model -> instance."""
    if reply is None:
        return None
    fs = spec.value_fields[spec.value_field]
    data = dict(keys)
    data[fs.name] = decode_value(fs, _as_bytes(reply), ctx, spec.name, key)
    return _build(spec, key, data)


def encode_scalar(obj: KeyspaceModel, key: str, ctx: CodecContext) -> bytes | str:
    spec = obj.__keyspace__
    fs = spec.value_fields[spec.value_field]
    raw = getattr(obj, fs.name)
    if raw is None:
        if fs.none_text is not None:
            return fs.none_text
        raise ValidationFailed(
            "a string model's value may not be None", model=spec.name, key=key, field=fs.name
        )
    dumped = _dump(obj, key, include={fs.name})[fs.name]
    return encode_value(fs, dumped, raw, ctx, spec.name, key, spec.dumps)


def decode_members(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    """SMEMBERS / LRANGE reply -> instance; None when empty (Redis has no empty sets or lists)."""
    if not reply:
        return None
    element = spec.element
    assert element is not None
    items = [decode_value(element, _as_bytes(m), ctx, spec.name, key) for m in reply]
    if spec.kind == "set":
        items.sort(key=str)  # a stable order for reproducible reads
    data: dict[str, Any] = dict(keys)
    data[element.name] = items
    return _build(spec, key, data)


def encode_members(obj: KeyspaceModel, key: str, ctx: CodecContext) -> list[bytes | str]:
    """The members of a set/list instance as stored items, in the instance's order."""
    spec = obj.__keyspace__
    element = spec.element
    assert element is not None
    dumped = _dump(obj, key, include={element.name})[element.name]
    return [encode_value(element, item, item, ctx, spec.name, key, spec.dumps) for item in dumped]


def decode_any(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    """(redis type, reply) of a key of any type -> instance with ``redis_type`` and ``value``."""
    if reply is None:
        return None
    kind, value = reply
    if kind == "string":
        decoded: Any = _text_or_bytes(_as_bytes(value))
    elif kind == "hash":
        items = value.items() if isinstance(value, dict) else zip(value[::2], value[1::2], strict=True)
        decoded = {_text_or_bytes(_as_bytes(k)): _text_or_bytes(_as_bytes(v)) for k, v in items}
    elif kind == "zset":
        pairs = (
            value
            if value and isinstance(value[0], list | tuple)
            else list(zip(value[::2], value[1::2], strict=True))
        )
        decoded = [[_text_or_bytes(_as_bytes(m)), float(s)] for m, s in pairs]
    else:
        decoded = (
            sorted((_text_or_bytes(_as_bytes(v)) for v in value), key=str)
            if kind == "set"
            else [_text_or_bytes(_as_bytes(v)) for v in value]
        )
    return _build(spec, key, {**keys, "redis_type": kind, "value": decoded})


DECODERS: dict[str, Callable[..., KeyspaceModel | None]] = {
    "hash": decode_hash,
    "json": decode_json,
    "string": decode_scalar,
    "counter": decode_scalar,
    "set": decode_members,
    "list": decode_members,
    "any": decode_any,
}
