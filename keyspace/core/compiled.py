"""Hash readers compiled once per model: stored fields -> instance, with the checks run in a tight loop.

Reading a hash record is the hot path of get, get_many and scan.  The generic path (keyspace.core.
codec._decode_hash) decodes every field, then lets pydantic validate the record; pydantic calls
keyspace's strict text forms (keyspace.core.encodings: Python before-validators on every number,
bool and datetime field) one by one, and those calls from Rust into Python were most of a small
record's read.  A compiled reader gets the same result with less work:

* it looks each stored field up by its stored name (no per-field decode of the name, no spec
  lookups) and runs the field's strict form on the text itself — the common forms inline
  (plain digits, a number as Python writes it, the bool table), any other text through the very
  same form function;
* it then validates the record with a validator compiled from the model's own pydantic schema,
  *minus* those form validators: every other rule (types, constraints, the model's validators,
  defaults, extras) is pydantic's, unchanged.

For a field with a form, the full schema computes ``inner(form(text))``; the reader computes
``form(text)`` and hands it to ``inner``: the same value by construction.  Whatever the reader
does not expect — a text a form refuses, bytes that are not UTF-8, a record pydantic refuses —
makes it step aside (:data:`MISS`) before anything else happened, and the generic path decides,
with exactly the error it always raised (the first in field order).  Models with secret fields
keep the generic path (a decryption counts events and logs: it must run once).
tests/test_compiled.py compares both paths.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import SchemaValidator

from keyspace.core.encodings import FieldForm, is_number_text
from keyspace.core.model import ModelSpec, set_unknown

MISS: Any = object()  # a reader's answer when the generic path must decide
Reader = Callable[[Mapping[str, str], Any], Any]


Handler = Callable[[Any], Any]  # stored value (bytes) -> the value the fields' validator gets


class _Table(dict[bytes, Any]):
    """Stored bytes -> value for the texts a form knows by heart (a dict lookup in C); any other
    stored value goes through ``fallback`` (the form function itself) on its decoded text."""

    __slots__ = ("fallback",)

    def __init__(self, items: Mapping[bytes, Any], fallback: Callable[[str], Any] | None) -> None:
        super().__init__(items)
        self.fallback = fallback

    def __missing__(self, raw: Any) -> Any:
        text = raw.decode("utf-8")
        return text if self.fallback is None else self.fallback(text)


def never(keys: Mapping[str, str], reply: Any) -> Any:
    """The reader of a model that does not qualify."""
    return MISS


def _form_of(schema: Mapping[str, Any]) -> FieldForm | None:
    """The FieldForm of a keyspace form validator node (function-before), else None."""
    if schema.get("type") != "function-before":
        return None
    function = schema.get("function") or {}
    if function.get("type") != "no-info":
        return None
    form = getattr(function.get("function"), "__keyspace_form__", None)
    return form if isinstance(form, FieldForm) else None


def _strip_forms(fields: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """Remove keyspace's form validators from a (copied) model-fields schema; name -> form function."""
    found: dict[str, Callable[[Any], Any]] = {}
    for name, field in fields.items():
        holder = field
        node = field.get("schema") or {}
        if node.get("type") == "default":
            holder, node = node, node.get("schema") or {}
        if _form_of(node) is not None:
            found[name] = node["function"]["function"]
            holder["schema"] = node["schema"]
    return found


def _model_fields(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model-fields node of a plain model schema, else None (the generic path).

    Plain: the model has no validators of its own around its fields (``model_validator``), no
    ``model_post_init`` (nor private attributes, which pydantic initialises there), no custom
    ``__init__``, and is not a root model: then pydantic builds an instance from the fields'
    result and nothing else, which the reader does the same way.
    """
    if schema.get("type") != "model" or schema.get("root_model") or schema.get("custom_init"):
        return None
    if schema.get("post_init"):
        return None
    node = schema.get("schema") or {}
    return node if node.get("type") == "model-fields" else None  # type: ignore[return-value,unused-ignore]


def _handler(check: Callable[[Any], Any] | None, json_value: Callable[[str], Any] | None) -> Handler:
    """How one stored field becomes the value its (form-less) validator gets: ``check(text)``,
    with the common texts of each form handled without calling it (same result)."""
    if json_value is not None:
        if check is None:
            return lambda raw: json_value(raw.decode("utf-8"))
        return lambda raw: check(json_value(raw.decode("utf-8")))
    if check is None:
        return bytes.decode  # UTF-8, strict
    form: FieldForm = check.__keyspace_form__  # type: ignore[attr-defined]
    none_texts = form.none_text.texts if form.none_text is not None else frozenset()
    if form.base == "bool" and form.epoch is None:
        accepted = form.bool_text.accepted  # type: ignore[union-attr]
        table = {t.encode("utf-8"): v for t, v in accepted.items()}
        table.update({t.encode("utf-8"): None for t in none_texts})  # None first, as the form decides
        return _Table(table, check).__getitem__
    if not form.base and form.epoch is None and none_texts:  # NoneText on a text field
        return _Table({t.encode("utf-8"): None for t in none_texts}, None).__getitem__
    if form.base == "int":

        def integer(raw: Any) -> Any:
            text = raw.decode("utf-8")
            if text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
                return text  # what the form returns for plain digits, its first rule
            return check(text)

        return integer
    if form.base in ("float", "decimal"):
        well_formed = is_number_text  # the form's own rule

        def number(raw: Any) -> Any:
            text = raw.decode("utf-8")
            return text if well_formed(text) else check(text)

        return number
    return lambda raw: check(raw.decode("utf-8"))


def hash_reader(spec: ModelSpec, json_value: Callable[[str], Any]) -> Reader:
    """The compiled reader of a hash model, or :func:`never` when the model does not qualify.

    ``json_value`` parses a JSON-valued field's stored text strictly, raising on bad input (as
    keyspace.core.codec.decode_value does).
    """
    cls = spec.model
    if spec.kind != "hash" or any(f.secret for f in spec.value_fields.values()):
        return never
    if getattr(cls, "__private_attributes__", None) or getattr(cls, "__pydantic_post_init__", None):
        return never
    original = getattr(cls, "__pydantic_core_schema__", None)
    if not isinstance(original, Mapping) or _model_fields(original) is None:
        return never
    try:
        schema = copy.deepcopy(dict(original))
        fields = _model_fields(schema)
        assert fields is not None
        checks = _strip_forms(fields["fields"])
        # The fields' validator alone: a validator of the whole model would be the class's own
        # (pydantic-core reuses a complete model's prebuilt validator, forms and all).
        validate = SchemaValidator(fields, schema.get("config")).validate_python  # type: ignore[arg-type,unused-ignore]
    except Exception:  # a schema that cannot stand alone: the generic path
        return never
    by_stored: dict[Any, tuple[str, Handler]] = {}
    for name, fs in spec.value_fields.items():
        entry = (name, _handler(checks.get(name), json_value if fs.json else None))
        by_stored[name] = entry  # stored names arrive as bytes (or str with decode_responses)
        by_stored[name.encode("utf-8")] = entry
    open_model = spec.open
    new = object.__new__
    setattr_ = object.__setattr__

    def read(keys: Mapping[str, str], reply: Any) -> Any:
        if not reply:
            return None
        pairs = reply.items() if type(reply) is dict else zip(reply[::2], reply[1::2], strict=True)
        data: dict[str, Any] = dict(keys)
        unknown: dict[str, Any] | None = None
        try:
            for raw_name, raw in pairs:
                entry = by_stored.get(raw_name)
                if entry is None:
                    name = raw_name
                    if type(name) is bytes:
                        name = name.decode("utf-8", "surrogateescape")
                    if open_model and name not in keys:
                        data[name] = _loose(raw)
                    else:
                        if unknown is None:
                            unknown = {}
                        unknown[name] = _loose(raw)
                    continue
                data[entry[0]] = entry[1](raw)
            values, extra, _ = validate(data)
        except Exception:
            return MISS  # the generic path decides (and names the error)
        obj = new(cls)  # as pydantic-core's model validator builds one, with an empty fields-set
        setattr_(obj, "__dict__", values)
        setattr_(obj, "__pydantic_extra__", extra)
        setattr_(obj, "__pydantic_private__", None)
        setattr_(obj, "__pydantic_fields_set__", set())
        if unknown:
            set_unknown(obj, unknown)
        return obj

    return read


def _loose(value: Any) -> str | bytes:
    """An undeclared field's value, as the generic path keeps it: text, or bytes if not UTF-8."""
    data: bytes = value if isinstance(value, bytes) else str(value).encode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data
