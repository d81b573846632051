"""Model instances <-> stored bytes.  Pure: no I/O, shared by both mappers.

Storage rules (one per value, documented in the README):

* scalars (str, int, float, Decimal, bool, datetime, date, time, UUID, enums,
  literals) are stored as plain text: bools as ``true``/``false``, datetimes in
  ISO 8601 (keep them timezone-aware), enums by value;
* anything else (nested models, lists, dicts, unions) is stored as compact JSON;
* ``Encrypted[T]`` stores the text of T as a Fernet token.

Reading turns bytes back into text/JSON and lets pydantic validate the whole
instance once; any failure becomes an error naming model, key and field.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from keyspace.core.crypto import Keyring
from keyspace.core.model import (
    FieldSpec,
    KeyspaceModel,
    ModelSpec,
    get_unknown,
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
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --- one value ------------------------------------------------------------


def encode_value(
    fs: FieldSpec, jsonable: Any, raw: Any, ctx: CodecContext, model: str, key: str | None
) -> bytes | str:
    """Text (or token) for one value; ``jsonable`` is pydantic's JSON-mode dump of it.

    For secret fields ``raw`` is the in-memory Secret (the dump is masked).
    An encrypted field is stored in the model's declared form
    (``envelope + token``); an empty text is stored as ``""``, as the
    application does (it never encrypts an empty value, and reads ``""`` back
    as ``""``).
    """
    if fs.secret:
        assert fs.plain is not None
        jsonable = fs.plain.dump_python(reveal(raw), mode="json")
        text = _dumps(jsonable) if fs.json else to_text(jsonable)
        data = _utf8(text, model, key, fs.name)
        if fs.masked or not data:
            return data
        return ctx.require_keyring(model, key, fs.name).seal(data, fs.envelope)
    if fs.json:
        try:
            return _dumps(jsonable)
        except ValueError:  # NaN / infinity have no JSON spelling
            pass
        # Raised outside the handler: the error being handled (which may quote the value)
        # never rides along as __context__.
        raise ValidationFailed(
            "cannot encode: NaN and infinity have no JSON spelling", model=model, key=key, field=fs.name
        )
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
            return json.loads(text)
        except ValueError:
            problem = "stored value is not valid JSON"
        except RecursionError:
            problem = "stored value is JSON nested too deeply to read"
        raise CorruptValue(problem, model=model, key=key, field=fs.name)
    return text


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
    try:
        # the validator itself (model_validate's wrapper would cost a call on the hot path)
        obj = spec.model.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        error = validation_error(exc, model=spec.name, key=key)
    else:
        if unknown:
            set_unknown(obj, unknown)
        return obj
    raise error  # outside the handler: pydantic's error quotes the (possibly secret) input


# --- whole instances --------------------------------------------------------


def decode_hash(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    """HGETALL reply (dict under RESP3, flat list under RESP2) -> instance; None when empty."""
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
    open_model = spec.model.model_config.get("extra") == "allow"
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


def encode_hash(obj: KeyspaceModel, key: str, ctx: CodecContext) -> tuple[list[bytes | str], list[str]]:
    """(field/value pairs flattened, fields to delete) for saving a hash instance.

    None values are deleted rather than stored; undeclared fields read from
    Redis are written back unchanged.
    """
    spec = obj.__keyspace__
    values = obj.__dict__
    pairs: list[bytes | str] = []
    deletes: list[str] = []
    for name in spec.text_names:  # the hot path: plain scalars, no serializer call
        value = values[name]
        if value is None:
            deletes.append(name)
        else:
            pairs.append(name)
            pairs.append(value if type(value) is str else to_text(value))
    if spec.special_names:
        dumped = obj.model_dump(mode="json", include=set(spec.special_names))
        for name in spec.special_names:
            value = values[name]
            if value is None:
                deletes.append(name)
            else:
                pairs.append(name)
                pairs.append(encode_value(spec.value_fields[name], dumped[name], value, ctx, spec.name, key))
    extras = obj.__pydantic_extra__
    unknown = get_unknown(obj)
    if unknown:
        extras = {**(extras or {}), **unknown}
    for name, value in (extras or {}).items():
        if name not in spec.value_fields and value is not None:
            pairs.append(name)
            pairs.append(value if isinstance(value, str | bytes) else to_text(value))
    return pairs, deletes


def encode_fields(
    spec: ModelSpec, key: str, obj: KeyspaceModel, names: Iterable[str], ctx: CodecContext
) -> tuple[list[bytes | str], list[str]]:
    """Like :func:`encode_hash` for a subset of fields (partial updates)."""
    names = list(names)
    dumped = obj.model_dump(mode="json", include=set(names))
    pairs: list[bytes | str] = []
    deletes: list[str] = []
    for name in names:
        fs = spec.value_fields[name]
        raw = getattr(obj, name)
        if raw is None:
            deletes.append(name)
        else:
            pairs += [name, encode_value(fs, dumped[name], raw, ctx, spec.name, key)]
    return pairs, deletes


def decode_json(
    spec: ModelSpec, key: str, keys: Mapping[str, str], reply: Any, ctx: CodecContext
) -> KeyspaceModel | None:
    if reply is None:
        return None
    problem = ""
    try:
        doc = json.loads(_as_bytes(reply))
    except UnicodeDecodeError:
        problem = "stored document is not valid UTF-8"
    except ValueError:
        problem = "stored document is not valid JSON"
    except RecursionError:
        problem = "stored document is JSON nested too deeply to read"
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
    open_model = spec.model.model_config.get("extra") == "allow"
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
    return _build(spec, key, data, unknown)


def encode_json(obj: KeyspaceModel, key: str, ctx: CodecContext) -> str:
    spec = obj.__keyspace__
    doc: dict[str, Any] = dict(get_unknown(obj) or {})
    extras = obj.__pydantic_extra__ or {}
    doc.update(obj.model_dump(mode="json", exclude=set(spec.key_fields) | set(extras)))
    doc.update(extras)  # as given: pydantic's JSON dump would turn NaN into null silently
    for name in spec.secret_fields:
        raw = getattr(obj, name)
        if raw is None:
            continue
        stored = encode_value(spec.value_fields[name], None, raw, ctx, spec.name, key)
        doc[name] = stored.decode("utf-8") if isinstance(stored, bytes) else stored
    try:
        return _dumps(doc)
    except (ValueError, TypeError):
        pass  # NaN/infinity, or a value JSON cannot hold; the error (quoting it) stays unchained
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
        raise ValidationFailed(
            "a string model's value may not be None", model=spec.name, key=key, field=fs.name
        )
    dumped = obj.model_dump(mode="json", include={fs.name})[fs.name]
    return encode_value(fs, dumped, raw, ctx, spec.name, key)


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
    dumped = obj.model_dump(mode="json", include={element.name})[element.name]
    return [encode_value(element, item, item, ctx, spec.name, key) for item in dumped]


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
