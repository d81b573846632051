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

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from keyspace.core.secret import (
    ENCRYPTED,
    MASKED,
    is_encrypted_annotation,
    is_masked_annotation,
    secret_inner_type,
)
from keyspace.core.template import KeyTemplate, segment_problem
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
    ttl: int | None
    server: str
    read_only: bool
    element: FieldSpec | None = None  # set/list members, counter value
    key_adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict)
    value_names: frozenset[str] = frozenset()
    text_names: tuple[str, ...] = ()  # value fields stored as plain text (the fast path)
    special_names: frozenset[str] = frozenset()  # JSON, encrypted or masked value fields
    envelope: str = ""  # the stored form of encrypted fields ("" = a bare Fernet token)

    @property
    def redis_type(self) -> str:
        return REDIS_TYPES[self.kind]

    @property
    def template(self) -> KeyTemplate:
        """The primary template (the first declared)."""
        return self.templates[0]

    @property
    def encrypted_fields(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.value_fields.items() if f.encrypted)

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

    def key_texts(self, values: Mapping[str, Any], *, partial: bool = False) -> dict[str, str]:
        """Typed key values -> validated text, refusing names that are not key fields."""
        out: dict[str, str] = {}
        for name, value in values.items():
            if name not in self.key_adapters:
                raise InvalidKeyValue("not a key field of this model", model=self.name, field=name)
            if value is None:
                continue
            out[name] = self.key_text(name, value)
        if not partial and not any(all(f in out for f in t.fields) for t in self.templates):
            missing = [f for f in self.template.fields if f not in out]
            raise InvalidKeyValue("a key field is missing", model=self.name, field=missing[0])
        return out

    def render(self, texts: Mapping[str, str]) -> str:
        """The key for these key texts: the first template whose fields are all given."""
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
            return found
        return None

    def accepts(self, name: str, text: str) -> bool:
        """Whether ``text`` is a value the key field ``name`` could have (used by the registry)."""
        try:
            return to_text(self.key_adapters[name].validate_python(text)) == text
        except ValidationError:
            return False


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


def get_unknown(obj: BaseModel) -> dict[str, Any] | None:
    """The undeclared fields read from Redis with ``obj`` (None when there were none)."""
    private = obj.__pydantic_private__
    return private.get("unknown") if private else None


def set_unknown(obj: BaseModel, unknown: dict[str, Any] | None) -> None:
    # Kept in pydantic's private-state slot rather than a declared PrivateAttr:
    # a declared one doubles the cost of every model_validate (measured), and
    # this slot is still copied by model_copy, compared by ==, and pickled.
    object.__setattr__(obj, "__pydantic_private__", {"unknown": unknown} if unknown else None)


class KeyspaceModel(BaseModel):
    """Base of all keyspace models; use one of the Redis-type subclasses."""

    model_config = ConfigDict(
        extra="forbid",  # a typo in a constructor is an error, not a silently stored field
        validate_assignment=True,
        arbitrary_types_allowed=False,
        allow_inf_nan=False,  # NaN and infinity have no JSON spelling (pydantic would store null)
    )

    __keyspace__: ClassVar[ModelSpec]
    __keyspace_kind__: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # pydantic passes class keywords here first, before the fields exist;
        # keep ours for __pydantic_init_subclass__, which runs once they do.
        ours = {
            k: kwargs.pop(k)
            for k in ("key", "ttl", "server", "read_only", "register", "hash_tag", "envelope")
            if k in kwargs
        }
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
        spec = _build_spec(cls, declared)
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
        for name, value in (update or {}).items():
            setattr(copy, name, value)
        return copy

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
        out: dict[str, str] = {}
        for name in spec.key_fields:
            value = values[name]
            if value is None:
                continue
            text = value if type(value) is str else to_text(value)
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


def _declared_of(spec: ModelSpec) -> dict[str, Any]:
    return {
        "key": tuple(t.pattern for t in spec.templates),
        "ttl": spec.ttl,
        "server": spec.server,
        "read_only": spec.read_only,
        "hash_tag": spec.templates[0].hash_tag,
        "envelope": spec.envelope,
    }


def _build_spec(cls: type[KeyspaceModel], declared: dict[str, Any]) -> ModelSpec:
    name = cls.__name__
    kind = cls.__keyspace_kind__
    raw_keys = declared["key"]
    patterns = (raw_keys,) if isinstance(raw_keys, str) else tuple(raw_keys)
    if not patterns:
        raise ModelDeclarationError("key= needs at least one template", model=name)
    hash_tag = declared.get("hash_tag")
    templates = tuple(KeyTemplate(p, owner=name, hash_tag=hash_tag) for p in patterns)
    try:
        ttl = ttl_seconds(declared.get("ttl"), what="ttl")
    except ValueError as exc:
        raise ModelDeclarationError(str(exc), model=name) from None
    if isinstance(declared.get("ttl"), timedelta | int | None) is False:
        raise ModelDeclarationError("ttl must be seconds, a timedelta or None", model=name)
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
        value_fields[fname] = FieldSpec(
            name=fname, json=not is_scalar(info.annotation), required=info.is_required()
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
        text_names=tuple(n for n, f in value_fields.items() if not (f.json or f.secret)),
        special_names=frozenset(n for n, f in value_fields.items() if f.json or f.secret),
        envelope=envelope,
    )


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
