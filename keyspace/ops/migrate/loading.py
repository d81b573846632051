"""Finding migration scripts: ``NNNN_name.py`` files of each configured location, in dependency order.

No I/O with Redis: reading the scripts is all that happens here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from keyspace.errors import MigrationError
from keyspace.io.project import MigrationLocation
from keyspace.ops.migrate.operations import Migration

_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.py$")


def load_migrations(location: MigrationLocation | Path | str) -> list[Migration]:
    """Every ``NNNN_name.py`` of one location, with ids qualified by the location's name.

    A bare folder is a location named after the folder.  Only files named
    ``NNNN_name.py`` are imported, and each must define ``migration = Migration(...)``.
    """
    if not isinstance(location, MigrationLocation):
        path = Path(location)
        location = MigrationLocation(path.resolve().name, path)
    directory = Path(location.path)
    if not directory.is_dir():
        raise MigrationError(f"migrations location {location.name!r}: {directory} is not a folder")
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.py")):
        match = _NAME.match(path.name)
        if not match:
            continue
        source = path.read_text(encoding="utf-8")
        module_name = f"keyspace_migration_{location.name}_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        migration = getattr(module, "migration", None)
        if not isinstance(migration, Migration):
            raise MigrationError(f"{path.name} does not define `migration = Migration(...)`")
        if migration.id != match.group(1):
            raise MigrationError(
                f"{path.name} declares id {migration.id!r}; the file name says {match.group(1)!r}"
            )
        if migration.id in found:
            raise MigrationError(f"two migrations of {location.name!r} have id {migration.id}")
        migration.source = source
        migration.number = migration.id
        migration.location = location.name
        found[migration.id] = migration
    for migration in found.values():
        migration.depends_on = tuple(
            dep if "/" in dep else f"{location.name}/{dep}" for dep in migration.depends_on
        )
        migration.id = f"{location.name}/{migration.number}"
    return list(found.values())


def load_all(locations: Sequence[MigrationLocation]) -> list[Migration]:
    """The migrations of every location, in dependency order (location order, then number)."""
    found: dict[str, Migration] = {}
    for location in locations:
        for migration in load_migrations(location):
            found[migration.id] = migration
    for migration in found.values():
        for dep in migration.depends_on:
            if dep not in found:
                raise MigrationError(f"migration {migration.id} depends on unknown {dep}")
    return _ordered(found)


def _ordered(found: dict[str, Migration]) -> list[Migration]:
    out: list[Migration] = []
    state: dict[str, int] = {}

    def visit(mid: str) -> None:
        if state.get(mid) == 2:
            return
        if state.get(mid) == 1:
            raise MigrationError(f"dependency cycle through migration {mid}")
        state[mid] = 1
        for dep in sorted(found[mid].depends_on):
            visit(dep)
        state[mid] = 2
        out.append(found[mid])

    for mid in found:  # location order, then number (files are read sorted)
        visit(mid)
    return out


def checksum(migration: Migration) -> str:
    return hashlib.sha256(migration.source.encode("utf-8")).hexdigest()[:16]
