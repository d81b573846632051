"""``keyspace schema`` and ``keyspace keygen``."""

from __future__ import annotations

import os
from enum import StrEnum

import typer

from keyspace.core.crypto import generate_key


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


def schema(
    format: Format = typer.Option(Format.markdown, "--format", "-f", help="markdown or json"),
    no_overrides: bool = typer.Option(
        False, "--no-overrides", help="show the declared TTLs, ignoring KEYSPACE_TTL_OVERRIDES"
    ),
) -> None:
    """Print the key guide generated from the models: template, type, TTL in force, server, fields."""
    import models
    from keyspace.core.guide import as_json, as_markdown
    from keyspace.core.registry import default_registry
    from keyspace.errors import ConfigError
    from keyspace.io.settings import Settings

    overrides: dict[str, int | None] = {}
    if not no_overrides:
        try:
            overrides = Settings(
                KEYSPACE_TTL_OVERRIDES=os.environ.get("KEYSPACE_TTL_OVERRIDES", "")
            ).ttl_overrides()
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        known = {s.name for s in default_registry}
        for name in overrides:
            if name not in known:
                typer.echo(f"error: KEYSPACE_TTL_OVERRIDES names unknown model {name!r}", err=True)
                raise typer.Exit(2)
    specs = [m.__keyspace__ for m in models.ALL_MODELS]
    render = as_json if format is Format.json else as_markdown
    typer.echo(render(specs, overrides), nl=False)


def keygen() -> None:
    """Print a new Fernet key for ENCRYPTION_KEY (replaces scripts/generate_encryption_key.py)."""
    typer.echo(generate_key())
