"""``keyspace schema`` (the key guide of the configured schema) and ``keyspace keygen``."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import Json
from keyspace.core.guide import group_by_module

if TYPE_CHECKING:
    pass

app = typer.Typer()


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


@app.command(
    "schema",
    cls=KeyspaceCommand,
    epilog=exit_codes_epilog("schema"),
)
def schema(
    ctx: typer.Context,
    format: Annotated[Format, typer.Option("--format", "-f", help="markdown or json")] = Format.markdown,
    json_: Json = False,
    no_overrides: Annotated[
        bool,
        typer.Option("--no-overrides", help="show the declared TTLs, ignoring KEYSPACE_TTL_OVERRIDES"),
    ] = False,
) -> None:
    """Print the key guide of every model of the configured schema (grouped by module).

    The schema: `models` of tool.keyspace in pyproject.toml, KEYSPACE_MODELS and --models.
    Shows template, Redis type, TTL in force, server and fields.
    """
    from keyspace.core.guide import as_markdown, describe
    from keyspace.errors import ConfigError
    from keyspace.io.settings import Settings

    st = state(ctx)
    registry = st.registry(require=True)
    groups = group_by_module(registry, st.project().models)
    overrides: dict[str, int | None] = {}
    if not no_overrides:
        env = st.environment()
        overrides = Settings.load(
            {"KEYSPACE_TTL_OVERRIDES": env.get("KEYSPACE_TTL_OVERRIDES", "")}
        ).ttl_overrides()
        known = {s.name for _, members in groups for s in members}
        for name in overrides:
            if name not in known:
                raise ConfigError(f"KEYSPACE_TTL_OVERRIDES names unknown model {name!r}")
    if json_ or format is Format.json:
        rows = [{**describe(s, overrides), "module": module} for module, members in groups for s in members]
        typer.echo(json.dumps(rows, indent=2))
        return
    if len(groups) == 1:
        typer.echo(as_markdown(groups[0][1], overrides), nl=False)
        return
    parts: list[str] = []
    for n, (module, members) in enumerate(groups):
        rendered = as_markdown(members, overrides)
        head, _, body = rendered.partition("\n|")
        if n == 0:
            parts.append(head.rstrip("\n") + "\n")
        parts.append(f"\n## `{module}`\n\n|{body}")
    typer.echo("".join(parts), nl=False)


@app.command("keygen", cls=KeyspaceCommand, epilog=exit_codes_epilog("keygen"))
def keygen(json_: Json = False) -> None:
    """Print a new random Fernet key (44 characters, URL-safe base64) on stdout.

    Put it in the application's .env as ENCRYPTION_KEY=<key> (keyspace and the
    application read the same variable). To rotate: move the current key to
    ENCRYPTION_OLD_KEYS, set the new one, then run `keyspace rotate-keys` and
    `keyspace migrate verify`.
    """
    from keyspace.core.crypto import generate_key

    key = generate_key()
    if json_:
        typer.echo(json.dumps({"ENCRYPTION_KEY": key}))
    else:
        typer.echo(key)
