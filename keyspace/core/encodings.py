"""How a key family writes its values as text, declared per field; and strict reading of that text.

Several applications write the same keys, each in its own spelling (TradingBoost's GRID hashes store
booleans as ``'1'``/``'0'``, a position writer stores a missing price as ``"None"``, another writes
epoch seconds where a third writes ISO).  A model declares the family's spelling with ``Annotated``
metadata on the field, and keyspace writes exactly that and reads it back strictly::

    class GridUser(HashModel, key="{exchange}:user:{user_id}", ttl="keep"):
        running: Annotated[bool, BoolText("1", "0")] = False
        entry_price: Annotated[Decimal | None, NoneText("None")] = None
        updated: Annotated[datetime, EpochSeconds()] | None = None

Decisions (each one a rule of the codec, see keyspace.core.codec):

* ``BoolText(true, false, accept=None)`` is the write form of a bool.  Reading accepts the declared
  pair plus ``true``/``false``, ``True``/``False``, ``1``/``0`` (``accept=`` replaces that extra set
  with a mapping ``text -> bool``); any other text is refused.  Without BoolText a bool is written
  ``true``/``false`` and read with the same default set — pydantic's lax ``yes``/``on``/``t`` are
  refused, so ``"yes"`` never silently becomes True.
* ``NoneText(text, *also)`` is the text a family stores for None.  Reading ``text`` (or one of
  ``also``) gives None; a field set to None is written as ``text`` instead of being deleted.  The
  field must accept None.  It applies to text storage (hash fields, string models); a JSON document
  keeps ``null``.
* Numbers read from text are strict.  An ``int`` field takes ``str(int)`` only (``-?(0|[1-9][0-9]*)``);
  ``float`` and ``Decimal`` take what Python writes (``str(int)``, ``str(float)`` e.g. ``10.0``,
  ``1e-05``, ``1.5e+20``, ``str(Decimal)`` e.g. ``1.50``, ``1E+3``).  Refused: surrounding or inner
  whitespace, ``_`` separators, a leading ``+``, leading zeros (``007``), hex (``0x10``), an exponent
  or a fraction in an int (``1e3``, ``10.0``), ``.5``, ``inf``/``nan``.  The same check runs when a
  model is constructed or assigned (``Position(size=" 1 ")`` is refused), because pydantic's lax mode
  would otherwise accept all of these.  Non-text inputs (ints, floats, Decimals) are pydantic's to check.
* Datetimes are ISO 8601 by default; a number in an ISO field is refused (pydantic would read it as
  a Unix time, and guess milliseconds above 2e10).  ``EpochSeconds()`` declares a datetime stored
  as whole epoch seconds (``str(int(ts))``; ``EpochSeconds(float=True)`` writes ``str(ts)``, what
  ``str(time.time())`` writes).  It reads either spelling as an aware UTC datetime, refuses other
  text and naive datetimes (a naive datetime has no epoch), and in a JSON document it is a JSON number.
  A family whose writers disagree (ISO here, epoch there) declares the field ``str``: text kept.

Reading errors are raised as pydantic errors of type :data:`STORED_FORM` from a before-validator that
keyspace attaches to each such value field when the class is created; the codec turns them into
``CorruptValue`` on reads (naming model, key and field), and the model turns them into
``ValidationFailed`` on construction.  Messages never quote the value.  Key fields are not touched
(they are already matched strictly: a key matches only if rendering its values gives it back).
The cost is one Python call per numeric/bool/datetime field per validation (measured by
``python -m benchmarks``: within the noise of a round trip).
"""

from __future__ import annotations

import builtins
import datetime as _dt
import decimal
import enum
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic_core import PydanticCustomError

STORED_FORM = "keyspace_stored_form"  # the pydantic error type of a refused text form

INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")
NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
DEFAULT_BOOL_TEXTS: Mapping[str, bool] = {
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "1": True,
    "0": False,
}


def is_int_text(text: str) -> bool:
    """Whether ``text`` is an int as ``str(int)`` writes it (INT_TEXT, without the regex's cost)."""
    digits = text[1:] if text[:1] == "-" else text
    return digits.isascii() and digits.isdigit() and (digits[0] != "0" or len(digits) == 1)


def is_number_text(text: str) -> bool:
    """Whether ``text`` is a number as Python writes it (NUMBER_TEXT; the common forms without a regex)."""
    digits = text[1:] if text[:1] == "-" else text
    if digits.isascii():
        if digits.isdigit():
            return digits[0] != "0" or len(digits) == 1
        whole, dot, fraction = digits.partition(".")
        if dot and whole.isdigit() and fraction.isdigit():
            return whole[0] != "0" or len(whole) == 1
    return NUMBER_TEXT.fullmatch(text) is not None


def _refuse(reason: str) -> PydanticCustomError:
    return PydanticCustomError(STORED_FORM, "{reason}", {"reason": reason})


class BoolText:
    """The stored spelling of a bool field: ``BoolText("1", "0")`` (see the module docstring)."""

    __slots__ = ("_table", "false", "true")

    def __init__(self, true: str = "true", false: str = "false", *, accept: Mapping[str, bool] | None = None):
        if not isinstance(true, str) or not isinstance(false, str) or true == false:
            raise ValueError("BoolText needs two different texts, e.g. BoolText('1', '0')")
        table = dict(DEFAULT_BOOL_TEXTS if accept is None else accept)
        for text, meaning in ((true, True), (false, False)):
            if table.get(text, meaning) is not meaning:
                raise ValueError(
                    f"BoolText: accept= reads {text!r} as {not meaning}, the opposite of its declaration"
                )
            table[text] = meaning
        self.true = true
        self.false = false
        self._table = table

    def __repr__(self) -> str:
        return f"BoolText({self.true!r}, {self.false!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoolText) and (self.true, self.false, self._table) == (
            other.true,
            other.false,
            other._table,
        )

    def __hash__(self) -> int:
        return hash((self.true, self.false, tuple(sorted(self._table.items()))))

    @property
    def accepted(self) -> Mapping[str, bool]:
        """Every text read as a bool, and its meaning."""
        return types.MappingProxyType(self._table)

    def parse(self, text: str) -> bool:
        found = self._table.get(text)
        if found is None:
            raise _refuse(f"not a boolean in this family's form ({self.true}/{self.false})")
        return found

    def dump(self, value: Any) -> str:
        return self.true if value else self.false


DEFAULT_BOOL = BoolText()


class NoneText:
    """The stored text for None: ``NoneText("None")``, ``NoneText("")`` (see the module docstring)."""

    __slots__ = ("also", "text")

    def __init__(self, text: str, *also: str) -> None:
        if not isinstance(text, str) or not all(isinstance(a, str) for a in also):
            raise ValueError("NoneText takes texts, e.g. NoneText('None') or NoneText('')")
        self.text = text
        self.also = also

    def __repr__(self) -> str:
        return f"NoneText({', '.join(repr(t) for t in (self.text, *self.also))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoneText) and (self.text, self.also) == (other.text, other.also)

    def __hash__(self) -> int:
        return hash((self.text, self.also))

    @property
    def texts(self) -> frozenset[str]:
        return frozenset((self.text, *self.also))


class EpochSeconds:
    """A datetime stored as epoch seconds: ``EpochSeconds()`` (int), ``EpochSeconds(float=True)``."""

    __slots__ = ("fractional",)

    def __init__(self, *, float: bool = False) -> None:
        self.fractional = bool(float)

    def __repr__(self) -> str:
        return "EpochSeconds(float=True)" if self.fractional else "EpochSeconds()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EpochSeconds) and self.fractional == other.fractional

    def __hash__(self) -> int:
        return hash(("EpochSeconds", self.fractional))

    def parse(self, value: Any) -> Any:
        if type(value) is str:
            if not is_number_text(value):
                raise _refuse("not epoch seconds (digits, optionally a fraction)")
            seconds = builtins.float(value) if ("." in value or "e" in value or "E" in value) else int(value)
            return _from_epoch(seconds)
        if isinstance(value, bool):
            raise _refuse("a bool is not epoch seconds")
        if isinstance(value, int | builtins.float | decimal.Decimal):
            return _from_epoch(value)
        if isinstance(value, _dt.datetime) and value.tzinfo is None:
            raise _refuse("a naive datetime has no epoch; give it a timezone")
        return value

    def number(self, value: _dt.datetime) -> int | builtins.float:
        """The epoch seconds of an aware datetime (whole seconds unless float=True)."""
        stamp = value.timestamp()
        return stamp if self.fractional else int(stamp // 1)

    def dump(self, value: _dt.datetime) -> str:
        return str(self.number(value))


def _from_epoch(seconds: Any) -> _dt.datetime:
    try:
        return _dt.datetime.fromtimestamp(builtins.float(seconds), tz=_dt.UTC)
    except (OverflowError, OSError, ValueError):
        pass
    raise _refuse("epoch seconds out of range")


# --- the per-field rule ----------------------------------------------------------------------------


def _strip(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(inner type, accepts None, every Annotated metadata item found on the way)."""
    metadata: list[Any] = []
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            metadata.extend(annotation.__metadata__)
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            nullable = nullable or len(members) != len(get_args(annotation))
            if len(members) != 1:
                return annotation, nullable, metadata
            annotation = members[0]
        else:
            if annotation is type(None) or annotation is Any:
                nullable = True
            return annotation, nullable, metadata


def _base(inner: Any) -> str:
    if not isinstance(inner, type) or issubclass(inner, enum.Enum):
        return ""
    if issubclass(inner, bool):
        return "bool"
    if issubclass(inner, int):
        return "int"
    if issubclass(inner, builtins.float):
        return "float"
    if issubclass(inner, decimal.Decimal):
        return "decimal"
    if issubclass(inner, _dt.datetime):
        return "datetime"
    return ""


@dataclass(frozen=True, slots=True)
class FieldForm:
    """How one value field is written as text and read back (built from its annotation)."""

    base: str  # "int" | "float" | "decimal" | "bool" | "datetime" | "" (no rule of ours)
    nullable: bool
    bool_text: BoolText | None = None
    none_text: NoneText | None = None
    epoch: EpochSeconds | None = None

    @property
    def custom(self) -> bool:
        """Whether writing needs more than keyspace's default text (``to_text``)."""
        return (self.bool_text is not None and self.bool_text != DEFAULT_BOOL) or self.epoch is not None

    def dump(self, value: Any) -> str:
        """The stored text of a non-None value (only for custom forms)."""
        if self.epoch is not None:
            return self.epoch.dump(value)
        assert self.bool_text is not None
        return self.bool_text.dump(value)

    def validator(self) -> Callable[[Any], Any] | None:
        """The before-validator that reads the family's text strictly (None when there is no rule).

        It is tagged ``__keyspace_form__`` (keyspace.core.compiled recognises its own, pure checks).
        """
        found = self._validator()
        if found is not None:
            found.__keyspace_form__ = self  # type: ignore[attr-defined]
        return found

    def _validator(self) -> Callable[[Any], Any] | None:
        none_texts = self.none_text.texts if self.none_text is not None else frozenset()
        base = self.base
        if self.epoch is not None:
            parse_epoch = self.epoch.parse

            def epoch(value: Any) -> Any:
                if type(value) is str and value in none_texts:
                    return None
                return parse_epoch(value)

            return epoch
        if base == "bool":
            parse_bool = (self.bool_text or DEFAULT_BOOL).parse

            def boolean(value: Any) -> Any:
                if type(value) is str:
                    return None if value in none_texts else parse_bool(value)
                return value

            return boolean
        if base in ("int", "float", "decimal"):
            well_formed = is_int_text if base == "int" else is_number_text
            what = "an integer as str(int) writes it" if base == "int" else "a number as Python writes it"

            def number(value: Any) -> Any:
                if type(value) is str:
                    # the commonest stored form first, inline: plain digits (this runs on every read)
                    if value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1):
                        return value
                    if not well_formed(value):
                        if value in none_texts:
                            return None
                        raise _refuse(f"not {what} (no spaces, '_', '+', leading zeros or hex)")
                return value

            return number
        if base == "datetime":

            def iso(value: Any) -> Any:
                if type(value) is str:
                    if value in none_texts:
                        return None
                    if is_number_text(value):
                        raise _refuse("epoch seconds in an ISO datetime field (declare it EpochSeconds())")
                return value

            return iso
        if none_texts:

            def none_only(value: Any) -> Any:
                return None if type(value) is str and value in none_texts else value

            return none_only
        return None


def field_form(annotation: Any, metadata: list[Any]) -> FieldForm:
    """The form of a value field from its annotation and its (top-level) Annotated metadata.

    Raises ValueError for a declaration that cannot work (the model names it as a
    ModelDeclarationError): a form on a field of another type, NoneText on a field that refuses None.
    """
    inner, nullable, nested = _strip(annotation)
    found = [*metadata, *nested]
    bool_text = next((m for m in found if isinstance(m, BoolText)), None)
    none_text = next((m for m in found if isinstance(m, NoneText)), None)
    epoch = next((m for m in found if isinstance(m, EpochSeconds)), None)
    base = _base(inner)
    if bool_text is not None and base != "bool":
        raise ValueError("BoolText is for bool fields")
    if epoch is not None and base != "datetime":
        raise ValueError("EpochSeconds is for datetime fields")
    if none_text is not None and not nullable:
        raise ValueError("NoneText needs a field that accepts None (e.g. Decimal | None)")
    if base == "bool" and bool_text is None:
        bool_text = DEFAULT_BOOL
    return FieldForm(base=base, nullable=nullable, bool_text=bool_text, none_text=none_text, epoch=epoch)


def json_style_dumps(style: str) -> Callable[[Any], str]:
    """``json.dumps`` for a model's ``json_style`` (see keyspace.core.model)."""
    import json

    if style == "python":
        return lambda value: json.dumps(value, allow_nan=False)
    return lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


JSON_STYLES = ("compact", "python")
