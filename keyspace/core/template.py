"""Key templates: ``user:{user_id}:position:{symbol}:{side}``.

A template is a list of ``:``-separated segments; a segment is literal text
with at most one ``{field}`` placeholder in it (``celery-task-meta-{task_id}``).
Because a key-field value may never contain ``:``, a concrete key splits into
the same number of segments as its template, and matching is exact.

This module is pure: it renders, matches and builds SCAN patterns from plain
strings.  Turning typed values into strings (and back) is the model's job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from keyspace.errors import InvalidKeyValue, TemplateError

MAX_SEGMENT_BYTES = 256
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
# Characters refused in a key-field value: the separator, glob characters
# (they would turn a SCAN MATCH into a wildcard), braces (cluster hash tags),
# whitespace and control characters (invisible, and break redis-cli quoting).
_FORBIDDEN = re.compile(r"[:*?\[\]\\{}\s\x00-\x1f\x7f]")
# Beyond ASCII, characters of these Unicode categories are refused too: controls (Cc, e.g. C1
# U+0085), format characters (Cf: zero-width U+200B, bidi overrides U+202E, BOM U+FEFF), private
# use (Co), lone surrogates (Cs), unassigned code points (Cn) and separators (Z*).  Each makes two
# keys that look the same but are not, or a key that displays as another one (issue 12 §7).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zs", "Zl", "Zp"})


def glob_escape(text: str) -> str:
    """Escape text so that Redis' MATCH treats it literally."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def segment_problem(value: str) -> str | None:
    """Why ``value`` cannot be a key segment, or None when it can."""
    if value == "":
        return "a key-field value may not be empty"
    bad = _FORBIDDEN.search(value)
    if bad:
        char = bad.group(0)
        shown = repr(char) if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
        return f"a key-field value may not contain {shown}"
    if not value.isascii():
        for char in value:
            if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
                what = unicodedata.name(char, "unnamed").lower()
                return (
                    f"a key-field value may not contain U+{ord(char):04X} ({what}: invisible or unassigned)"
                )
    if len(value.encode("utf-8")) > MAX_SEGMENT_BYTES:
        return f"a key-field value may not be longer than {MAX_SEGMENT_BYTES} bytes"
    return None


@dataclass(frozen=True, slots=True)
class Segment:
    """One ``:``-separated part: ``prefix{field}suffix`` or a literal (field is None)."""

    prefix: str
    field: str | None = None
    suffix: str = ""

    @property
    def literal(self) -> bool:
        return self.field is None


class KeyTemplate:
    """A parsed key template; see the module docstring."""

    __slots__ = ("_format", "_regex", "fields", "hash_tag", "owner", "pattern", "segments")

    def __init__(self, pattern: str, *, owner: str | None = None, hash_tag: str | None = None) -> None:
        self.pattern = pattern
        self.owner = owner
        self.hash_tag = hash_tag
        if not pattern:
            raise TemplateError("a key template may not be empty", model=owner)
        segments: list[Segment] = []
        fields: list[str] = []
        for raw in pattern.split(":"):
            found = list(_PLACEHOLDER.finditer(raw))
            stripped = _PLACEHOLDER.sub("", raw)
            if "{" in stripped or "}" in stripped:
                raise TemplateError(f"unbalanced brace in template segment {raw!r}", model=owner)
            if len(found) > 1:
                raise TemplateError(f"template segment {raw!r} has more than one placeholder", model=owner)
            if not found:
                if raw == "":
                    raise TemplateError(f"empty segment in template {pattern!r}", model=owner)
                segments.append(Segment(raw))
                continue
            name = found[0].group(1)
            if name in fields:
                raise TemplateError(f"placeholder {{{name}}} appears twice", model=owner)
            fields.append(name)
            prefix, suffix = raw[: found[0].start()], raw[found[0].end() :]
            if name == hash_tag:
                # rendered inside braces: Redis Cluster hashes only "{...}" (see the README)
                prefix, suffix = prefix + "{", "}" + suffix
            segments.append(Segment(prefix, name, suffix))
        if hash_tag is not None and hash_tag not in fields:
            raise TemplateError(f"hash_tag {hash_tag!r} is not a field of template {pattern!r}", model=owner)
        self.segments: tuple[Segment, ...] = tuple(segments)
        self.fields: tuple[str, ...] = tuple(fields)

        def escape(text: str) -> str:
            return text.replace("{", "{{").replace("}", "}}")

        self._format = ":".join(
            escape(s.prefix) if s.field is None else f"{escape(s.prefix)}{{{s.field}}}{escape(s.suffix)}"
            for s in segments
        )
        parts = []
        for seg in segments:
            if seg.field is None:
                parts.append(re.escape(seg.prefix))
            else:
                parts.append(f"{re.escape(seg.prefix)}(?P<{seg.field}>[^:]+?){re.escape(seg.suffix)}")
        self._regex = re.compile("^" + ":".join(parts) + "$", re.DOTALL)

    def __repr__(self) -> str:
        return f"KeyTemplate({self.pattern!r})"

    def check(self, field: str, value: str) -> str:
        """Return ``value`` if it may stand in ``field``'s segment, else raise InvalidKeyValue."""
        problem = segment_problem(value)
        if problem:
            raise InvalidKeyValue(problem, model=self.owner, field=field)
        return value

    def render(self, values: Mapping[str, str]) -> str:
        """Build the concrete key; every placeholder needs a valid string value."""
        out = []
        for seg in self.segments:
            if seg.field is None:
                out.append(seg.prefix)
                continue
            if seg.field not in values:
                raise InvalidKeyValue("a key field is missing", model=self.owner, field=seg.field)
            out.append(seg.prefix + self.check(seg.field, values[seg.field]) + seg.suffix)
        return ":".join(out)

    def render_checked(self, values: Mapping[str, str]) -> str:
        """Like :meth:`render` for values already checked (the model's key texts)."""
        return self._format.format_map(values)

    def match(self, key: str) -> dict[str, str] | None:
        """The placeholder values of ``key``, or None when the key is not of this template.

        A key whose values could not have been rendered (glob characters,
        whitespace, …) does not match either: matching is the inverse of render.
        """
        found = self._regex.match(key)
        if found is None:
            return None
        values = found.groupdict()
        for value in values.values():
            if segment_problem(value):
                return None
        return values

    def scan_pattern(self, partial: Mapping[str, str] | None = None) -> str:
        """A SCAN MATCH pattern for the keys of this template whose given fields equal ``partial``.

        Fixed text is glob-escaped; unknown fields become ``*``.  ``*`` also
        matches ``:``, so callers filter the results through :meth:`match`.
        """
        partial = partial or {}
        unknown = set(partial) - set(self.fields)
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidKeyValue("not a key field of this template", model=self.owner, field=name)
        out = []
        for seg in self.segments:
            if seg.field is None:
                out.append(glob_escape(seg.prefix))
            elif seg.field in partial:
                value = self.check(seg.field, partial[seg.field])
                out.append(glob_escape(seg.prefix + value + seg.suffix))
            else:
                out.append(glob_escape(seg.prefix) + "*" + glob_escape(seg.suffix))
        return ":".join(out)

    def overlaps(
        self,
        other: KeyTemplate,
        accepts: Callable[[KeyTemplate, str, str], bool],
    ) -> bool:
        """Whether some key could match both templates.

        ``accepts(template, field, text)`` says whether ``field`` of
        ``template`` takes ``text`` as its value (the field's type decides).
        Two placeholders facing each other are assumed to overlap unless their
        fixed prefix/suffix text already tells them apart: we cannot prove two
        types disjoint in general, so the registry errs on the safe side.
        """
        if len(self.segments) != len(other.segments):
            return False
        for mine, theirs in zip(self.segments, other.segments, strict=True):
            if mine.literal and theirs.literal:
                if mine.prefix != theirs.prefix:
                    return False
            elif mine.literal or theirs.literal:
                lit, var, owner = (
                    (mine.prefix, theirs, other) if mine.literal else (theirs.prefix, mine, self)
                )
                assert var.field is not None
                if not (lit.startswith(var.prefix) and lit.endswith(var.suffix)):
                    return False
                middle = lit[len(var.prefix) : len(lit) - len(var.suffix)]
                if not middle or segment_problem(middle) or not accepts(owner, var.field, middle):
                    return False
            else:
                p1, p2 = mine.prefix, theirs.prefix
                s1, s2 = mine.suffix, theirs.suffix
                if not (p1.startswith(p2) or p2.startswith(p1)):
                    return False
                if not (s1.endswith(s2) or s2.endswith(s1)):
                    return False
        return True
