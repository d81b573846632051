"""Whose is a scanned key?  Pure.

A SCAN with a model's MATCH pattern returns every key of the glob, and a glob
is wider than a template: ``user:*:api:keys`` also returns
``user:0123:api:keys`` (a leading zero), ``user:abc def:api:keys``, keys that
are not UTF-8, and keys of another model whose template overlaps the glob.
Dropping the misfits silently lets a check say "all good" about keys it never
looked at, so every engine that scans (migrations, verify, stats, doctor)
classifies each key with :func:`classify_scanned_key`:

* ``belongs``          - the model's key (its key fields pass their types);
* ``fails_key_types``  - in the model's glob, owned by no model: a 14-digit id
  where 15-20 digits are declared, a leading zero, letters, a ``:`` inside a
  field, bytes that are not UTF-8.  Count it and name it;
* ``not_this_model``   - another registered model's key, or not in this
  model's glob at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from keyspace.core.model import ModelSpec
    from keyspace.core.registry import Registry
    from keyspace.core.template import KeyTemplate

Membership = Literal["belongs", "fails_key_types", "not_this_model"]

_GLOBS: dict[tuple[str, str | None], re.Pattern[str]] = {}


@dataclass(frozen=True, slots=True)
class ScannedKey:
    """One scanned key and whose it is (``values``: its key texts when it belongs)."""

    raw: str | bytes
    membership: Membership
    values: dict[str, str] | None = None
    owner: str | None = None  # the model that owns it, for ``not_this_model``
    reason: str = ""

    @property
    def text(self) -> str:
        """The key as printable text (undecodable bytes escaped), for reports."""
        return printable(self.raw)


def printable(key: str | bytes) -> str:
    return key if isinstance(key, str) else key.decode("utf-8", "backslashreplace")


def _glob(template: KeyTemplate) -> re.Pattern[str]:
    """The template's SCAN glob as a regex: literal text fixed, every field ``.*`` (which spans ``:``)."""
    ident = (template.pattern, template.hash_tag)
    found = _GLOBS.get(ident)
    if found is None:
        parts = []
        for seg in template.segments:
            if seg.field is None:
                parts.append(re.escape(seg.prefix))
            else:
                parts.append(f"{re.escape(seg.prefix)}.*{re.escape(seg.suffix)}")
        found = _GLOBS[ident] = re.compile("^" + ":".join(parts) + "$", re.DOTALL)
    return found


def in_glob(spec: ModelSpec, key: str) -> bool:
    """Whether a SCAN with one of the model's MATCH patterns could return ``key``."""
    return any(_glob(t).match(key) for t in spec.templates)


def glob_owner(spec: ModelSpec, key: str | bytes) -> KeyTemplate | None:
    """The first template whose MATCH pattern returns ``key`` (bytes that are not UTF-8 too): where a
    key that fails the key types is reported once, when several of the model's patterns return it."""
    text = key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key
    return next((t for t in spec.templates if _glob(t).match(text)), None)


def classify_scanned_key(spec: ModelSpec, key: str | bytes, registry: Registry | None = None) -> ScannedKey:
    """Whose ``key`` is, from ``spec``'s point of view (see the module docstring)."""
    if isinstance(key, bytes):
        try:
            text = key.decode("utf-8")
        except UnicodeDecodeError:
            return ScannedKey(key, "fails_key_types", reason="the key is not UTF-8")
    else:
        text = key
    values = spec.match(text)
    if values is not None:
        return ScannedKey(key, "belongs", values)
    if registry is not None:
        found = registry.resolve(text, server=spec.server)
        if found is not None and found[0] is not spec:
            return ScannedKey(key, "not_this_model", owner=found[0].name)
    if not in_glob(spec, text):
        return ScannedKey(key, "not_this_model", reason="outside the model's key pattern")
    if any(t.match(text) is not None for t in spec.templates):
        reason = "a key field's value fails its declared type"
    else:
        reason = "a key field's value is not a valid key segment"
    return ScannedKey(key, "fails_key_types", reason=reason)
