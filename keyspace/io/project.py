"""Finding the application: its schema modules and its migration folders.

keyspace never imports an application by a fixed name.  Like alembic's
``script_location``, the application says where its schema and migrations
are, in the ``pyproject.toml`` nearest to the working directory::

    [tool.keyspace]
    models = ["models"]                 # modules that declare the models (imported)

    [tool.keyspace.migrations]          # location name = folder (relative to pyproject.toml)
    tradingboost = "migrations"

``migrations = ["migrations"]`` (a list) also works; each location is then
named after its folder.  The location's name is the namespace of its
migration ids on the server (``tradingboost/0001``), so two applications'
``0001`` are different migrations.

The environment adds to the file: ``KEYSPACE_MODELS=mod_a,mod_b`` and
``KEYSPACE_MIGRATIONS=name=path,other_path``; ``KEYSPACE_PROJECT`` names the
``pyproject.toml`` (or its folder) to read instead of searching from the
working directory.  The CLI's ``--models`` / ``--migrations`` / ``--project``
options do the same.  With nothing configured there is no schema and no
migration location, and commands that need one say so: a directory that
happens to hold a ``models.py`` or a Django ``migrations/`` is never imported.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyspace.core.registry import Registry, default_registry
from keyspace.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MigrationLocation:
    """A folder of ``NNNN_name.py`` migration scripts and the namespace of their ids."""

    name: str
    path: Path

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or ":" in self.name or self.name.strip() != self.name:
            raise ConfigError(f"migration location name {self.name!r} may not be empty or contain '/' or ':'")


@dataclass(frozen=True)
class Project:
    """Where an application keeps its schema and migrations (see the module docstring)."""

    root: Path | None = None  # the folder of the pyproject.toml read (None: none found)
    models: tuple[str, ...] = ()
    migrations: tuple[MigrationLocation, ...] = ()
    source: str = "nothing configured"
    _loaded: list[str] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def discover(
        cls,
        start: str | Path | None = None,
        *,
        models: Sequence[str] = (),
        migrations: Sequence[str] = (),
        project: str | Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Project:
        """Read ``[tool.keyspace]`` of the nearest pyproject.toml, then the environment, then arguments."""
        env = os.environ if env is None else env
        chosen = project or env.get("KEYSPACE_PROJECT") or None
        pyproject = _explicit(Path(chosen)) if chosen else _nearest(Path(start or os.getcwd()))
        root: Path | None = None
        found_models: list[str] = []
        found_locations: list[MigrationLocation] = []
        source = "nothing configured"
        if pyproject is not None:
            table = _tool_table(pyproject)
            if table is not None:
                root = pyproject.parent
                source = str(pyproject)
                found_models += _string_list(table.get("models", []), "[tool.keyspace] models", pyproject)
                found_locations += _locations(table.get("migrations", {}), root, str(pyproject))
        base = root or Path(start or os.getcwd())
        found_models += _split(env.get("KEYSPACE_MODELS", ""))
        found_locations += _locations(_pairs(env.get("KEYSPACE_MIGRATIONS", "")), base, "KEYSPACE_MIGRATIONS")
        found_models += [m for item in models for m in _split(item)]
        found_locations += _locations(_pairs(",".join(migrations)), base, "--migrations")
        return cls(
            root=root,
            models=tuple(dict.fromkeys(found_models)),
            migrations=_unique(found_locations),
            source=source,
        )

    def load_models(self, registry: Registry | None = None) -> Registry:
        """Import the schema modules (the project's folder first on ``sys.path``); returns the registry."""
        folder = str(self.root or Path.cwd())
        if folder not in sys.path:
            sys.path.insert(0, folder)
        for name in self.models:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise ConfigError(
                    f"the schema module {name!r} ({self.source}) cannot be imported: {exc}"
                ) from None
            self._loaded.append(name)
        return registry or default_registry

    def location(self, name_or_path: str | Path) -> MigrationLocation:
        """A configured location by name, or a folder (named after the configured one at that path)."""
        for loc in self.migrations:
            if str(name_or_path) == loc.name:
                return loc
        path = Path(name_or_path).resolve()
        for loc in self.migrations:
            if loc.path.resolve() == path:
                return loc
        return MigrationLocation(path.name, path)

    def require_migrations(self) -> tuple[MigrationLocation, ...]:
        if not self.migrations:
            raise ConfigError(
                "no migrations location configured: add [tool.keyspace.migrations] to pyproject.toml, "
                "set KEYSPACE_MIGRATIONS=name=folder, or pass --dir FOLDER"
            )
        return self.migrations

    def require_models(self) -> tuple[str, ...]:
        if not self.models:
            raise ConfigError(
                "no schema configured: add `models = [...]` to [tool.keyspace] in pyproject.toml, "
                "set KEYSPACE_MODELS=module, or pass --models module"
            )
        return self.models


def _nearest(start: Path) -> Path | None:
    """The nearest pyproject.toml that has a [tool.keyspace] table, walking up from ``start``."""
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _tool_table(candidate) is not None:
            return candidate
    return None


def _explicit(path: Path) -> Path:
    candidate = path / "pyproject.toml" if path.is_dir() else path
    if not candidate.is_file():
        raise ConfigError(f"KEYSPACE_PROJECT / --project: {path} is not a pyproject.toml or its folder")
    if _tool_table(candidate) is None:
        raise ConfigError(f"{candidate} has no [tool.keyspace] table")
    return candidate


def _tool_table(pyproject: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject} cannot be read: {exc}") from None
    table = data.get("tool", {}).get("keyspace")
    return table if isinstance(table, dict) else None


def _string_list(value: Any, what: str, where: Path) -> list[str]:
    if isinstance(value, str):
        return _split(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{what} in {where} must be a list of module names")
    return [v.strip() for v in value if v.strip()]


def _locations(value: Any, base: Path, where: str) -> list[MigrationLocation]:
    """``{name: path}``, ``[path, …]`` or ``[(name, path), …]`` -> locations (paths relative to ``base``)."""
    items: list[tuple[str | None, str]]
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        items = [(None, value)]
    elif isinstance(value, list):
        items = [(item[0], item[1]) if isinstance(item, tuple) else (None, item) for item in value]
    else:
        raise ConfigError(f"migrations in {where} must be a table name = folder, or a list of folders")
    out = []
    for name, raw in items:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"a migrations folder in {where} must be a non-empty path")
        path = (base / raw.strip()).resolve() if not Path(raw.strip()).is_absolute() else Path(raw.strip())
        out.append(MigrationLocation(name or path.name, path))
    return out


def _pairs(text: str) -> list[tuple[str | None, str]]:
    """``name=path,other`` -> [(name, path), (None, other)]."""
    out: list[tuple[str | None, str]] = []
    for item in _split(text):
        name, sep, path = item.partition("=")
        out.append((name.strip(), path.strip()) if sep else (None, item))
    return out


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _unique(locations: list[MigrationLocation]) -> tuple[MigrationLocation, ...]:
    by_name: dict[str, MigrationLocation] = {}
    for loc in locations:
        other = by_name.get(loc.name)
        if other is not None and other.path.resolve() != loc.path.resolve():
            raise ConfigError(
                f"two migration locations are named {loc.name!r} ({other.path} and {loc.path}); "
                "name them differently (name=folder)"
            )
        by_name[loc.name] = loc
    return tuple(by_name.values())
