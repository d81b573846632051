"""Declarative models: a pydantic model plus its key template, Redis type, TTL and server.

::

    class Position(HashModel, key="user:{user_id}:position:{symbol}:{side}", ttl=None):
        user_id: UserId
        symbol: Symbol
        side: Side
        size: Decimal

Fields named in the template are *key fields*: typed, validated, part of the
key and never stored in the value.  The other fields are *value fields*.  The
class keywords are collected into a :class:`ModelSpec` (``Model.__keyspace__``)
that the pure core reads; a model class never talks to Redis itself.

Class keywords:

* ``key=`` a template, or a tuple of templates (primary first, then alternates);
* ``ttl=`` the TTL policy, one of three (``ModelSpec.ttl_policy`` names it):

  - seconds or a ``timedelta`` (``"fixed"``): every write sets that expiry (EXPIRE / SET EX);
  - ``None`` (``"persist"``): every write makes the key persistent (PERSIST / plain SET);
  - ``"keep"`` (:data:`TTL_KEEP`, ``"keep"``): writes never change the key's TTL (HSET keeps it,
    strings are written with SET … KEEPTTL, a whole set/list rewrite restores it).  For key
    families other writers expire (a position hash that one application writer gives
    ``EXPIRE 86400``).  Operator machinery treats "keep" as *no opinion*: ``ApplyTtlPolicy``
    skips such models and stats never report their TTLs as a mismatch.  ``spec.ttl`` is then the
    string ``"keep"``, so code that reads ``spec.ttl`` / ``Mapper.ttl_policy()`` must check
    ``isinstance(ttl, int)`` before using it as seconds;

* ``server=`` ``"app"`` or ``"celery"``; ``read_only=True``; ``register=False``; ``hash_tag=``; ``envelope=``;
* ``json_style=`` how JSON is written for this family (JSON documents and JSON-valued hash fields):
  ``"compact"`` (the default: no spaces, UTF-8 kept) or ``"python"`` (what ``json.dumps(obj)``
  writes with its defaults: ``", "``/``": "`` separators, non-ASCII as ``\\uXXXX``);
* ``channel=`` an invalidation channel, a template over the model's key fields
  (``"settings:update:{user_id}"``), and ``channel_payload="key"`` (the message is the key name,
  as TradingBoost's settings writer publishes).  After every successful write of the model
  (save, save_many, update, delete, incr, add, push) keyspace PUBLISHes it *inside the write's own
  script*: in the same round trip, and only if the write happened.

**What a save writes.**  Value fields are written only if they are in the instance's fields-set
(pydantic's ``model_fields_set``: constructor arguments and later assignments).  An instance
returned by get/scan/get_many starts with an empty fields-set, so ``get`` then ``save`` writes
nothing and changes no byte and no TTL.  ``mark_set()`` marks fields (all value fields without
arguments) when a whole record is to be written, e.g. copied to another key.  See keyspace.core.codec.

**Value text forms** (``BoolText``, ``NoneText``, ``EpochSeconds``, strict numbers) are declared per
field with ``Annotated``; see keyspace.core.encodings.  Keyspace attaches one before-validator per
numeric/bool/datetime value field when the class is created (and rebuilds the class once).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import re
import types
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from keyspace.core import encodings
from keyspace.core.secret import (
    ENCRYPTED,
    MASKED,
    is_encrypted_annotation,
    is_masked_annotation,
    secret_inner_type,
)
from keyspace.core.template import MAX_SEGMENT_BYTES, KeyTemplate, segment_problem
from keyspace.core.ttl import ttl_seconds
from keyspace.errors import InvalidKeyValue, ModelDeclarationError, ValidationFailed

Kind = Literal["hash", "string", "json", "set", "counter", "list"]
REDIS_TYPES: dict[str, str] = {
    "hash": "hash",
    "string": "string",
    "json": "string",
    "counter": "string",
    "set": "set",
    "list": "list",
    "any": "any",
}
SERVERS = ("app", "celery")
TTL_KEEP: Literal["keep"] = "keep"  # the ttl= policy "never change the key's TTL"
TtlPolicy = int | None | Literal["keep"]
CHANNEL_PAYLOADS = ("key",)
_ENVELOPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}:$")

_SCALARS: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    decimal.Decimal,
    _dt.datetime,
    _dt.date,
    _dt.time,
    enum.Enum,
    uuid.UUID,
)


def _strip(annotation: Any) -> Any:
    """Remove Annotated[...] and Optional[...] wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def is_scalar(annotation: Any) -> bool:
    """Whether values of this type are stored as plain text (else as JSON)."""
    annotation = _strip(annotation)
    if get_origin(annotation) is Literal:
        return all(isinstance(a, str | int | bool) for a in get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        return False
    return isinstance(annotation, type) and issubclass(annotation, _SCALARS)


def is_encrypted(info: FieldInfo) -> bool:
    """Whether the field is declared ``Encrypted[...]`` (see keyspace.core.secret)."""
    return any(m is ENCRYPTED for m in info.metadata) or is_encrypted_annotation(info.annotation)


def is_masked(info: FieldInfo) -> bool:
    """Whether the field is declared ``Masked[...]``: a secret stored in plaintext by policy."""
    return any(m is MASKED for m in info.metadata) or is_masked_annotation(info.annotation)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one value field (or the element of a set/list model) is stored."""

    name: str
    json: bool  # the (plain) value is stored as JSON text rather than as plain text
    encrypted: bool = False  # ... and then encrypted into a Fernet token
    required: bool = False
    plain: TypeAdapter[Any] | None = None  # secret fields: dumps the revealed value
    envelope: bytes = b""  # encrypted fields: the declared stored form (``enc_v1:`` + token)
    masked: bool = False  # a secret stored in plaintext by policy (Masked[T])
    none_text: str | None = None  # NoneText: None is written as this text instead of deleted
    dump: Any = None  # BoolText/EpochSeconds: value -> stored text (None: keyspace's default text)

    @property
    def secret(self) -> bool:
        return self.encrypted or self.masked


@dataclass(slots=True)
class ModelSpec:
    """Everything the core needs to know about a model class."""

    model: type[KeyspaceModel]
    name: str
    kind: str
    templates: tuple[KeyTemplate, ...]
    key_fields: tuple[str, ...]
    value_fields: dict[str, FieldSpec]
    ttl: TtlPolicy  # seconds, None (persistent) or "keep" (see the module docstring)
    server: str
    read_only: bool
    element: FieldSpec | None = None  # set/list members, counter value
    key_adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict)
    value_names: frozenset[str] = frozenset()
    text_names: tuple[str, ...] = ()  # value fields stored as keyspace's default text (the fast path)
    formed_names: tuple[str, ...] = ()  # plain-text value fields with a declared form (BoolText, NoneText…)
    special_names: frozenset[str] = frozenset()  # JSON, encrypted or masked value fields
    envelope: str = ""  # the stored form of encrypted fields ("" = a bare Fernet token)
    json_style: str = "compact"  # "compact" or "python" (see the module docstring)
    channel: KeyTemplate | None = None  # invalidation channel, rendered from the key fields
    channel_payload: str = "key"
    open: bool = False  # extra="allow": undeclared fields are ordinary (free-form) attributes
    _encrypted: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    _reader: Any = field(default=None, repr=False, compare=False)  # keyspace.core.compiled (lazily)
    _key_memo: dict[str, dict[Any, str]] | None = field(default=None, repr=False, compare=False)
    _plain_ints: frozenset[str] | None = field(default=None, repr=False, compare=False)

    @property
    def redis_type(self) -> str:
        return REDIS_TYPES[self.kind]

    @property
    def ttl_policy(self) -> Literal["fixed", "persist", "keep"]:
        """The declared TTL policy by name (a deployment may still override the seconds)."""
        return ttl_policy_name(self.ttl)

    def dumps(self, value: Any) -> str:
        """JSON text of a value in the model's json_style (NaN/infinity raise ValueError)."""
        return _JSON_DUMPS[self.json_style](value)

    def channel_for(self, texts: Mapping[str, str], key: str) -> tuple[str, str] | None:
        """(channel, payload) to publish after a write of ``key``, or None without a channel."""
        if self.channel is None:
            return None
        return self.channel.render_checked(texts), key

    @property
    def template(self) -> KeyTemplate:
        """The primary template (the first declared)."""
        return self.templates[0]

    @property
    def encrypted_fields(self) -> tuple[str, ...]:
        found = self._encrypted
        if found is None:  # computed once (read on every save: the partial-secret-write check)
            found = self._encrypted = tuple(n for n, f in self.value_fields.items() if f.encrypted)
        return found

    @property
    def masked_fields(self) -> tuple[str, ...]:
        """Secrets stored in plaintext by policy (their readers do not decrypt)."""
        return tuple(n for n, f in self.value_fields.items() if f.masked)

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.value_fields.items() if f.secret)

    @property
    def value_field(self) -> str:
        """The single value field of string, counter, set and list models."""
        return next(iter(self.value_fields))

    # --- key values -------------------------------------------------------

    def key_text(self, name: str, value: Any) -> str:
        """Validate one key-field value with its declared type and render it as text."""
        if type(value) is int and name in self._int_keys():  # a plain int: its text is str(value)
            text = str(value)
            if len(text) <= MAX_SEGMENT_BYTES:
                return text
        adapter = self.key_adapters[name]
        try:
            typed = adapter.validate_python(value)
        except ValidationError as exc:
            error = ValidationFailed(_first_message(exc), model=self.name, field=name, errors=_clean(exc))
        else:
            return self._check_any(name, to_text(typed))
        raise error  # outside the handler: pydantic's error (which quotes the input) is not chained

    def _check_any(self, name: str, text: str) -> str:
        for template in self.templates:
            if name in template.fields:
                return template.check(name, text)
        raise InvalidKeyValue("not a key field", model=self.name, field=name)

    def _memo(self) -> dict[str, dict[Any, str]]:
        """Per key field, the texts of values already validated (see ``key_texts``)."""
        memo = self._key_memo
        if memo is None:
            memo = self._key_memo = {
                name: {}
                for name, adapter in self.key_adapters.items()
                if _plain_schema(adapter.core_schema) and name not in self._int_keys()
            }
        return memo

    def _int_keys(self) -> frozenset[str]:
        """Key fields of plain ``int`` (no constraints): an int's text is ``str(int)``, always a valid
        segment (digits and a sign) unless it is longer than a segment may be."""
        found = self._plain_ints
        if found is None:
            found = self._plain_ints = frozenset(
                name for name, adapter in self.key_adapters.items() if adapter.core_schema == {"type": "int"}
            )
        return found

    def key_texts(self, values: Mapping[str, Any], *, partial: bool = False) -> dict[str, str]:
        """Typed key values -> validated text, refusing names that are not key fields.

        A None value is skipped when the key is complete without it (an alternate key's
        field); for a partial key (a scan filter) None is refused: skipping it would turn
        the filter into a wildcard over every record.

        Validating a key value is a pure function of the value when its type runs pydantic's
        own checks only (no validator functions): the text of each str or int value already
        validated is remembered per field (at most KEY_MEMO values, then forgotten), so the hot
        path of get/save is one lookup.  Refused values are never remembered.
        """
        out: dict[str, str] = {}
        memo = self._key_memo if self._key_memo is not None else self._memo()
        ints = self._plain_ints if self._plain_ints is not None else self._int_keys()
        for name, value in values.items():
            kind = type(value)
            if kind is int and name in ints:
                text = str(value)
                if len(text) <= MAX_SEGMENT_BYTES:
                    out[name] = text
                    continue
            if kind is str or kind is int:
                seen = memo.get(name)
                if seen is not None:
                    known = seen.get(value)
                    if known is None:
                        known = self.key_text(name, value)
                        if len(seen) >= KEY_MEMO:
                            seen.clear()
                        seen[value] = known
                    out[name] = known
                    continue
            if name not in self.key_adapters:
                raise InvalidKeyValue("not a key field of this model", model=self.name, field=name)
            if value is None:
                if partial:
                    raise InvalidKeyValue(
                        "a key-field filter may not be None (it would match every key)",
                        model=self.name,
                        field=name,
                    )
                continue
            out[name] = self.key_text(name, value)
        if partial or len(out) == len(self.key_adapters):  # every key field given: every template is
            return out
        if not any(all(f in out for f in t.fields) for t in self.templates):
            missing = [f for f in self.template.fields if f not in out]
            raise InvalidKeyValue("a key field is missing", model=self.name, field=missing[0])
        return out

    def render(self, texts: Mapping[str, str]) -> str:
        """The key for these key texts: the first template whose fields are all given."""
        if len(self.templates) == 1:
            try:
                return self.templates[0].render_checked(texts)
            except KeyError:  # a field is missing: named below
                pass
        for template in self.templates:
            if all(f in texts for f in template.fields):
                return template.render_checked(texts)
        missing = [f for f in self.template.fields if f not in texts]
        raise InvalidKeyValue("a key field is missing", model=self.name, field=missing[0])

    def render_all(self, texts: Mapping[str, str]) -> list[str]:
        """Every key (primary and alternates) these key texts fill in."""
        if len(self.templates) == 1:
            return [self.templates[0].render_checked(texts)]
        keys = [t.render_checked(texts) for t in self.templates if all(f in texts for f in t.fields)]
        if not keys:
            self.render(texts)  # raises the missing-field error
        return keys

    def match(self, key: str) -> dict[str, str] | None:
        """Key texts of ``key`` if it belongs to this model (type-checked), else None."""
        found = self.match_template(key)
        return None if found is None else found[1]

    def match_template(self, key: str) -> tuple[KeyTemplate, dict[str, str]] | None:
        """The first template ``key`` is a valid key of, with its key texts; None if there is none.

        A key belongs to one template only, its first: two templates of one shape (an OKX uid or a
        Telegram id in the same place) share a SCAN pattern, and a scan over both must see the key once.
        """
        for template in self.templates:
            found = template.match(key)
            if found is None:
                continue
            try:
                for name, text in found.items():
                    if to_text(self.key_adapters[name].validate_python(text)) != text:
                        raise ValueError  # e.g. "007" for an int: not what render writes
            except (ValidationError, ValueError):
                continue
            return template, found
        return None

    def scan_parts(self, texts: Mapping[str, str]) -> list[tuple[str, tuple[KeyTemplate, ...]]]:
        """SCAN patterns for these key texts, each once, with the templates whose keys each one owns.

        Templates that lack a field of ``texts`` are left out; templates of one shape share a part.
        """
        parts: dict[str, list[KeyTemplate]] = {}
        for template in self.templates:
            if all(name in template.fields for name in texts):
                parts.setdefault(template.scan_pattern(texts), []).append(template)
        return [(pattern, tuple(owned)) for pattern, owned in parts.items()]

    def accepts(self, name: str, text: str) -> bool:
        """Whether ``text`` is a value the key field ``name`` could have (used by the registry)."""
        try:
            return to_text(self.key_adapters[name].validate_python(text)) == text
        except ValidationError:
            return False


KEY_MEMO = 4096  # remembered key texts per key field (see ModelSpec.key_texts)
_FOREIGN_SCHEMAS = frozenset(
    {"model", "dataclass", "call", "custom-error", "is-instance", "definitions", "definition-ref"}
)


def _plain_schema(schema: Any) -> bool:
    """Whether validating ``schema`` runs pydantic's own checks only (no function of anyone's)."""
    if isinstance(schema, Mapping):
        kind = schema.get("type")
        if isinstance(kind, str) and (kind.startswith("function-") or kind in _FOREIGN_SCHEMAS):
            return False
        return all(_plain_schema(v) for k, v in schema.items() if k not in ("metadata", "serialization"))
    if isinstance(schema, list | tuple):
        return all(_plain_schema(v) for v in schema)
    return not callable(schema) or isinstance(schema, type)


def ttl_policy_name(ttl: TtlPolicy) -> Literal["fixed", "persist", "keep"]:
    """ "fixed" (seconds), "persist" (None) or "keep" for a TTL policy value."""
    if ttl == TTL_KEEP:
        return "keep"
    return "persist" if ttl is None else "fixed"


_JSON_DUMPS = {style: encodings.json_style_dumps(style) for style in encodings.JSON_STYLES}


def to_text(value: Any) -> str:
    """A scalar as stored text: enums by value, bools as true/false, datetimes in ISO 8601.

    The same text pydantic's JSON mode gives (UTC written as ``Z``), so a value
    reads back identically whichever path encoded it.
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is decimal.Decimal or kind is float:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return to_text(value.value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return str(value)


def _clean(exc: ValidationError) -> list[dict[str, Any]]:
    return [dict(e) for e in exc.errors(include_input=False, include_url=False)]


def _first_message(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "invalid value"
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in errors[:3])


def validation_error(exc: ValidationError, *, model: str, key: str | None) -> ValidationFailed:
    """Rebuild pydantic's error without the input values (they may be secrets)."""
    errors = _clean(exc)
    loc = errors[0]["loc"] if errors else ()
    field_name = str(loc[0]) if loc else None
    return ValidationFailed(
        f"invalid value: {_first_message(exc)}",
        model=model,
        key=key,
        field=field_name,
        errors=errors,
    )


class _State(dict[str, Any]):
    """An instance's private state: ``unknown`` (undeclared fields read with it) and ``raw``
    (the stored JSON document it was read from).

    Kept in pydantic's private-state slot rather than a declared PrivateAttr: a declared one
    doubles the cost of every model_validate (measured), and this slot is still copied by
    model_copy and pickled.  ``==`` (pydantic compares the slot) looks at ``unknown`` only: the
    stored text an instance came from is not part of its value.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other is None or isinstance(other, dict):
            return (self.get("unknown") or None) == ((other or {}).get("unknown") or None)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment,unused-ignore]


_M = typing.TypeVar("_M", bound=BaseModel)


def _rewrap(obj: _M) -> _M:
    private = obj.__pydantic_private__
    if private and not isinstance(private, _State):
        object.__setattr__(obj, "__pydantic_private__", _State(private))
    return obj


def get_unknown(obj: BaseModel) -> dict[str, Any] | None:
    """The undeclared fields read from Redis with ``obj`` (None when there were none)."""
    private = obj.__pydantic_private__
    return private.get("unknown") if private else None


def set_unknown(obj: BaseModel, unknown: dict[str, Any] | None) -> None:
    _set_private(obj, "unknown", unknown or None)


def get_raw(obj: BaseModel) -> Any:
    """The stored JSON document ``obj`` was read from (None for an instance built in memory)."""
    private = obj.__pydantic_private__
    return private.get("raw") if private else None


def set_raw(obj: BaseModel, raw: Any) -> None:
    _set_private(obj, "raw", raw)


def _set_private(obj: BaseModel, name: str, value: Any) -> None:
    private = obj.__pydantic_private__
    state = _State(private) if private else _State()
    if value is None:
        state.pop(name, None)
    else:
        state[name] = value
    object.__setattr__(obj, "__pydantic_private__", state or None)


def forget_fields_set(obj: BaseModel) -> None:
    """Mark an instance as read: nothing is set yet, so saving it unchanged writes nothing."""
    object.__setattr__(obj, "__pydantic_fields_set__", set())


class KeyspaceModel(BaseModel):
    """Base of all keyspace models; use one of the Redis-type subclasses."""

    model_config = ConfigDict(
        extra="forbid",  # a typo in a constructor is an error, not a silently stored field
        validate_assignment=True,
        arbitrary_types_allowed=False,
        allow_inf_nan=False,  # NaN and infinity have no JSON spelling (pydantic would store null)
        # ... and inside Any-typed values (dicts, free-form extras) the JSON-mode dump keeps them,
        # so that the codec's encoder refuses them instead of pydantic writing null silently.
        ser_json_inf_nan="constants",
    )

    __keyspace__: ClassVar[ModelSpec]
    __keyspace_kind__: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # pydantic passes class keywords here first, before the fields exist;
        # keep ours for __pydantic_init_subclass__, which runs once they do.
        ours = {k: kwargs.pop(k) for k in _CLASS_KEYWORDS if k in kwargs}
        cls.__keyspace_declared__ = ours  # type: ignore[attr-defined]
        super().__init_subclass__(**kwargs)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        declared: dict[str, Any] = cls.__dict__.get("__keyspace_declared__", {})
        if "key" not in declared:
            if "__keyspace__" in cls.__dict__ or not cls.__keyspace_kind__:
                return
            parent = getattr(cls, "__keyspace__", None)
            if parent is None:
                return  # an abstract intermediate base without a key
            declared = {**_declared_of(parent), **declared}
        forms = _attach_forms(cls, declared)
        spec = _build_spec(cls, declared, forms)
        cls.__keyspace__ = spec
        if declared.get("register", True):
            from keyspace.core.registry import default_registry

            default_registry.add(spec)

    # pydantic's ValidationError quotes the input, which may be a secret: every entry
    # point re-raises it as ValidationFailed, which names model and field only, and
    # raises it *outside* the handler so that the original is not kept as __context__.

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            error = validation_error(exc, model=type(self).__name__, key=None)
        else:
            return
        raise error

    # Tell pydantic this __init__ only wraps the base one, so model_validate()
    # keeps its fast path and does not route through it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            error = validation_error(exc, model=type(self).__name__, key=None)
        else:
            return
        raise error

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            error = validation_error(exc, model=cls.__name__, key=None)
        raise error

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            error = validation_error(exc, model=cls.__name__, key=None)
        raise error

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate_strings(obj, *args, **kwargs)
        except ValidationError as exc:
            error = validation_error(exc, model=cls.__name__, key=None)
        raise error

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; ``update`` values are validated like assignments (pydantic's own
        ``model_copy`` stores them unvalidated, so a secret would stay a plain str)."""
        copy = super().model_copy(deep=deep)
        _rewrap(copy)
        for name, value in (update or {}).items():
            setattr(copy, name, value)
        return copy

    # pydantic's copy, deepcopy and unpickling rebuild the private state as a plain dict: keep
    # it a _State, so that == keeps ignoring the stored text an instance was read from.

    def __copy__(self) -> Self:
        return _rewrap(super().__copy__())

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        return _rewrap(super().__deepcopy__(memo))

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        _rewrap(self)

    def mark_set(self, *names: str) -> Self:
        """Mark fields as set, so that save writes them (every value field, and the extras, when
        no name is given): e.g. to write a whole record read from one key under another key."""
        spec = self.__keyspace__
        chosen = names or (*spec.value_fields, *(self.__pydantic_extra__ or {}))
        for name in chosen:
            if name not in spec.value_fields and name not in (self.__pydantic_extra__ or {}):
                raise InvalidKeyValue("not a value field of this instance", model=spec.name, field=name)
        self.__pydantic_fields_set__.update(chosen)
        return self

    # --- instance helpers ---------------------------------------------------

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """Fields found in Redis that the model does not declare; written back on save."""
        unknown = get_unknown(self)
        if unknown is None:
            unknown = {}
            set_unknown(self, unknown)
        return unknown

    def key_texts(self) -> dict[str, str]:
        """The key fields as key text.  The values were validated when the
        instance was built (and on assignment), so only the segment rules are
        checked here."""
        spec = self.__keyspace__
        values = self.__dict__
        memo = spec._key_memo if spec._key_memo is not None else spec._memo()
        ints = spec._plain_ints if spec._plain_ints is not None else spec._int_keys()
        out: dict[str, str] = {}
        for name in spec.key_fields:
            value = values[name]
            if value is None:
                continue
            kind = type(value)
            if kind is int and name in ints:  # see ModelSpec._int_keys
                text = str(value)
                if len(text) <= MAX_SEGMENT_BYTES:
                    out[name] = text
                    continue
            if kind is str or kind is int:  # the text ModelSpec.key_texts remembered, if any
                seen = memo.get(name)
                known = seen.get(value) if seen is not None else None
                if known is not None:
                    out[name] = known
                    continue
            text = value if kind is str else to_text(value)
            if segment_problem(text):
                spec._check_any(name, text)  # raises with the model and field named
            out[name] = text
        return out

    @property
    def redis_key(self) -> str:
        """The instance's (primary) Redis key."""
        return self.__keyspace__.render(self.key_texts())

    def redis_keys(self) -> list[str]:
        """Every key the instance is stored under (primary and alternates)."""
        return self.__keyspace__.render_all(self.key_texts())


_CLASS_KEYWORDS = (
    "key",
    "ttl",
    "server",
    "read_only",
    "register",
    "hash_tag",
    "envelope",
    "json_style",
    "channel",
    "channel_payload",
)


def _declared_of(spec: ModelSpec) -> dict[str, Any]:
    return {
        "key": tuple(t.pattern for t in spec.templates),
        "ttl": spec.ttl,
        "server": spec.server,
        "read_only": spec.read_only,
        "hash_tag": spec.templates[0].hash_tag,
        "envelope": spec.envelope,
        "json_style": spec.json_style,
        "channel": spec.channel.pattern if spec.channel else None,
        "channel_payload": spec.channel_payload,
    }


class _FormValidator(BeforeValidator):
    """keyspace's before-validator for a value field's text form (replaced, not stacked, in subclasses)."""


class _FormSerializer(PlainSerializer):
    """keyspace's JSON-mode serializer for a value field's form (EpochSeconds -> a JSON number)."""


def _template_fields(declared: dict[str, Any]) -> set[str]:
    raw_keys = declared["key"]
    patterns = (raw_keys,) if isinstance(raw_keys, str) else tuple(raw_keys)
    out: set[str] = set()
    for pattern in patterns:
        try:
            out.update(KeyTemplate(pattern).fields)
        except Exception:  # reported with the model's name by _build_spec
            continue
    return out


def _attach_forms(cls: type[KeyspaceModel], declared: dict[str, Any]) -> dict[str, encodings.FieldForm]:
    """Build each value field's text form and attach its before-validator (one rebuild of the class).

    Validators are attached here rather than asked of the model's author so that every number,
    bool and datetime field is read strictly without a declaration (keyspace.core.encodings).
    """
    key_fields = _template_fields(declared)
    forms: dict[str, encodings.FieldForm] = {}
    changed = False
    for fname, info in cls.model_fields.items():
        if fname in key_fields or is_encrypted(info) or is_masked(info):
            continue
        try:
            form = encodings.field_form(info.annotation, list(info.metadata))
        except ValueError as exc:
            raise ModelDeclarationError(str(exc), model=cls.__name__, field=fname) from None
        forms[fname] = form
        validator = form.validator()
        kept = [m for m in info.metadata if not isinstance(m, _FormValidator | _FormSerializer)]
        added: list[Any] = []
        if validator is not None:
            added.append(_FormValidator(validator))
        if form.epoch is not None:
            added.append(_FormSerializer(form.epoch.number, when_used="json-unless-none"))
        if added or len(kept) != len(info.metadata):
            info.metadata = [*kept, *added]  # a new list: a parent's FieldInfo may share the old one
            changed = True
    if changed:
        cls.model_rebuild(force=True, raise_errors=False)
    return forms


def _build_spec(
    cls: type[KeyspaceModel], declared: dict[str, Any], forms: Mapping[str, encodings.FieldForm]
) -> ModelSpec:
    name = cls.__name__
    kind = cls.__keyspace_kind__
    raw_keys = declared["key"]
    patterns = (raw_keys,) if isinstance(raw_keys, str) else tuple(raw_keys)
    if not patterns:
        raise ModelDeclarationError("key= needs at least one template", model=name)
    hash_tag = declared.get("hash_tag")
    templates = tuple(KeyTemplate(p, owner=name, hash_tag=hash_tag) for p in patterns)
    ttl: TtlPolicy
    if declared.get("ttl") == TTL_KEEP:
        ttl = TTL_KEEP
    else:
        if isinstance(declared.get("ttl"), timedelta | int | None) is False:
            raise ModelDeclarationError('ttl must be seconds, a timedelta, None or "keep"', model=name)
        try:
            ttl = ttl_seconds(declared.get("ttl"), what="ttl")
        except ValueError as exc:
            raise ModelDeclarationError(str(exc), model=name) from None
    json_style = declared.get("json_style") or "compact"
    if json_style not in encodings.JSON_STYLES:
        raise ModelDeclarationError(f"json_style must be one of {encodings.JSON_STYLES}", model=name)
    server = declared.get("server", "app")
    if server not in SERVERS:
        raise ModelDeclarationError(f"server must be one of {SERVERS}, got {server!r}", model=name)
    envelope = declared.get("envelope") or ""
    if not isinstance(envelope, str) or (envelope and not _ENVELOPE.match(envelope)):
        raise ModelDeclarationError(
            "envelope must be a short ASCII prefix ending in ':' (e.g. 'enc_v1:'), or '' for bare tokens",
            model=name,
        )

    fields = cls.model_fields
    key_fields: list[str] = []
    for template in templates:
        for f in template.fields:
            if f not in fields:
                raise ModelDeclarationError(
                    f"template {template.pattern!r} names {{{f}}}, which is not a field",
                    model=name,
                    field=f,
                )
            if f not in key_fields:
                key_fields.append(f)
    channel = _channel_template(name, declared, templates)
    key_adapters: dict[str, TypeAdapter[Any]] = {}
    for f in key_fields:
        info = fields[f]
        if not is_scalar(info.annotation):
            raise ModelDeclarationError("a key field must have a scalar type", model=name, field=f)
        annotation: Any = info.annotation
        if info.metadata:
            annotation = typing.Annotated[(annotation, *info.metadata)]
        key_adapters[f] = TypeAdapter(annotation)

    value_fields: dict[str, FieldSpec] = {}
    for fname, info in fields.items():
        if fname in key_fields:
            continue
        encrypted, masked = is_encrypted(info), is_masked(info)
        if encrypted or masked:
            if kind not in ("hash", "json", "string"):
                raise ModelDeclarationError(
                    f"a {kind} model cannot hold secret values", model=name, field=fname
                )
            if encrypted and masked:
                raise ModelDeclarationError(
                    "a field is either Encrypted or Masked, not both", model=name, field=fname
                )
            inner = secret_inner_type(info.annotation)
            value_fields[fname] = FieldSpec(
                name=fname,
                json=not is_scalar(inner),
                encrypted=encrypted,
                required=info.is_required(),
                plain=TypeAdapter(inner),
                envelope=envelope.encode("ascii") if encrypted else b"",
                masked=masked,
            )
            continue
        form = forms.get(fname)
        value_fields[fname] = FieldSpec(
            name=fname,
            json=not is_scalar(info.annotation),
            required=info.is_required(),
            none_text=form.none_text.text if form is not None and form.none_text is not None else None,
            dump=form.dump if form is not None and form.custom else None,
        )
    if kind == "any":
        declared = {**declared, "read_only": True}
    element: FieldSpec | None = None
    if kind in ("string", "counter", "set", "list"):
        if len(value_fields) != 1:
            raise ModelDeclarationError(
                f"a {kind} model declares exactly one value field besides its key fields, "
                f"found {len(value_fields)}",
                model=name,
            )
        (only,) = value_fields.values()
        ann = _strip(fields[only.name].annotation)
        if kind == "counter" and not (isinstance(ann, type) and issubclass(ann, int)):
            raise ModelDeclarationError("a counter's value field must be an int", model=name)
        if kind in ("set", "list"):
            origin = get_origin(ann)
            allowed = (set, frozenset, list, tuple) if kind == "set" else (list, tuple)
            if origin not in allowed:
                raise ModelDeclarationError(
                    f"a {kind} model's value field must be a {'set' if kind == 'set' else 'list'} of items",
                    model=name,
                    field=only.name,
                )
            args = [a for a in get_args(ann) if a is not Ellipsis] or [str]
            element = FieldSpec(name=only.name, json=not is_scalar(args[0]))
        else:
            element = only

    return ModelSpec(
        model=cls,
        name=name,
        kind=kind,
        templates=templates,
        key_fields=tuple(key_fields),
        value_fields=value_fields,
        ttl=ttl,
        server=server,
        read_only=bool(declared.get("read_only", False)),
        element=element,
        key_adapters=key_adapters,
        value_names=frozenset(value_fields),
        text_names=tuple(n for n, f in value_fields.items() if not (f.json or f.secret or _formed(f))),
        formed_names=tuple(n for n, f in value_fields.items() if not (f.json or f.secret) and _formed(f)),
        special_names=frozenset(n for n, f in value_fields.items() if f.json or f.secret),
        envelope=envelope,
        json_style=json_style,
        channel=channel,
        channel_payload=declared.get("channel_payload") or "key",
        open=cls.model_config.get("extra") == "allow",
    )


def _formed(fs: FieldSpec) -> bool:
    return fs.dump is not None or fs.none_text is not None


def _channel_template(
    name: str, declared: dict[str, Any], templates: tuple[KeyTemplate, ...]
) -> KeyTemplate | None:
    pattern = declared.get("channel")
    payload = declared.get("channel_payload") or "key"
    if payload not in CHANNEL_PAYLOADS:
        raise ModelDeclarationError(f"channel_payload must be one of {CHANNEL_PAYLOADS}", model=name)
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise ModelDeclarationError(
            "channel must be a template such as 'settings:update:{user_id}'", model=name
        )
    channel = KeyTemplate(pattern, owner=name)
    for f in channel.fields:
        if not all(f in t.fields for t in templates):
            raise ModelDeclarationError(
                f"channel {pattern!r} names {{{f}}}, which is not a key field of every key template",
                model=name,
                field=f,
            )
    return channel


class AnyModel(KeyspaceModel):
    """A family of keys of any Redis type, read-only: ``redis_type`` and the decoded ``value``.

    For key families whose type varies per key (the grid strategy's per-user
    data).  Declare a specific model for keys you write.
    """

    __keyspace_kind__ = "any"
    redis_type: str
    value: Any


class HashModel(KeyspaceModel):
    """A Redis HASH: one hash field per value field (scalars as text, others as JSON)."""

    __keyspace_kind__ = "hash"


class JsonModel(KeyspaceModel):
    """A JSON document in a Redis STRING; undeclared document keys are kept."""

    __keyspace_kind__ = "json"


class StringModel(KeyspaceModel):
    """One scalar value in a Redis STRING (declare exactly one value field)."""

    __keyspace_kind__ = "string"


class CounterModel(KeyspaceModel):
    """An integer counter in a Redis STRING, changed atomically with incr/decr."""

    __keyspace_kind__ = "counter"


class SetModel(KeyspaceModel):
    """A Redis SET; declare one value field of type ``set[T]``."""

    __keyspace_kind__ = "set"


class ListModel(KeyspaceModel):
    """A Redis LIST; declare one value field of type ``list[T]``."""

    __keyspace_kind__ = "list"
