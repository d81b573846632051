"""The registry of every declared model.

It resolves a concrete key to its model and key values, refuses at declaration
time a template that could claim the same key as another model's on the same
server, and finds keys that belong to no model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from keyspace.core.template import KeyTemplate
from keyspace.errors import TemplateError

if TYPE_CHECKING:  # the model module registers into the registry: no runtime import back
    from keyspace.core.model import ModelSpec


class Registry:
    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    @staticmethod
    def _ident(spec: ModelSpec) -> str:
        return f"{spec.model.__module__}.{spec.model.__qualname__}"

    def add(self, spec: ModelSpec) -> None:
        ident = self._ident(spec)
        owners = {id(t): s for s in self._specs.values() for t in s.templates}
        owners.update({id(t): spec for t in spec.templates})

        def accepts(template: KeyTemplate, field: str, text: str) -> bool:
            return owners[id(template)].accepts(field, text)

        for other_ident, other in self._specs.items():
            if other_ident == ident or other.server != spec.server:
                continue
            for mine in spec.templates:
                for theirs in other.templates:
                    if mine.overlaps(theirs, accepts):
                        raise TemplateError(
                            f"template {mine.pattern!r} could claim the same keys as "
                            f"{other.name}'s {theirs.pattern!r}; make a literal part differ "
                            "or give the key fields types that cannot both match",
                            model=spec.name,
                        )
        self._specs[ident] = spec

    def remove(self, spec: ModelSpec) -> None:
        self._specs.pop(self._ident(spec), None)

    def get(self, name: str) -> ModelSpec:
        """A model by class name (case-insensitive), e.g. for the CLI."""
        found = [s for s in self._specs.values() if s.name.lower() == name.lower()]
        if len(found) != 1:
            known = ", ".join(sorted(s.name for s in self._specs.values()))
            what = "ambiguous" if found else "unknown"
            raise KeyError(f"{what} model {name!r}; known models: {known}")
        return found[0]

    def resolve(self, key: str, *, server: str | None = None) -> tuple[ModelSpec, dict[str, str]] | None:
        """The model and key values ``key`` belongs to, or None."""
        for spec in self._specs.values():
            if server is not None and spec.server != server:
                continue
            found = spec.match(key)
            if found is not None:
                return spec, found
        return None

    def unowned(self, keys: Iterable[str], *, server: str | None = None) -> Iterator[str]:
        """The keys that belong to no model."""
        for key in keys:
            if self.resolve(key, server=server) is None:
                yield key


default_registry = Registry()
