"""The root ``keyspace`` app: global options, --version, and every command group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keyspace.cli import backup, demo, doctor, info, migrate, rotate, scan, schema, seed, show, stats, ttl
from keyspace.cli.context import CliState
from keyspace.cli.errors import CODES

EPILOG = (
    "Exit codes: "
    + ", ".join(f"{code} {what}" for code, what in CODES.items())
    + (". `keyspace COMMAND -h` lists a command's own.")
)

app = typer.Typer(
    name="keyspace",
    help="Typed, encrypted Redis keyspace for TradingBoost: inspect, migrate, back up, seed.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for group in (demo, seed, schema, show, scan, stats, doctor, info, backup, rotate):
    app.add_typer(group.app)
app.add_typer(migrate.app, name="migrate")
app.add_typer(ttl.app, name="ttl")


def version_callback(value: bool) -> None:
    if value:
        from keyspace import __version__

        typer.echo(f"keyspace {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="print the version and exit"
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="KEYSPACE_DEBUG",
            help="show the traceback above an error (secrets redacted, no local variables)",
        ),
    ] = False,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            metavar="PATH",
            help="read the settings from this file instead of ./.env (the environment still wins)",
            show_default=False,
        ),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            metavar="MODULE",
            help="also import this schema module (repeatable; adds to pyproject.toml and KEYSPACE_MODELS)",
            show_default=False,
        ),
    ] = None,
    migrations: Annotated[
        list[str] | None,
        typer.Option(
            "--migrations",
            metavar="NAME=FOLDER",
            help="also use this migrations folder (repeatable; adds to KEYSPACE_MIGRATIONS)",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            metavar="PATH",
            help="the application's pyproject.toml (or its folder) instead of the nearest one "
            "(like KEYSPACE_PROJECT)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Typed, encrypted Redis keyspace for TradingBoost: inspect, migrate, back up, seed."""
    ctx.obj = CliState(
        debug=debug,
        env_file=env_file,
        models=tuple(models or ()),
        migrations=tuple(migrations or ()),
        project_path=project,
    )


def main() -> None:
    """The ``keyspace`` console script (and ``python -m keyspace``)."""
    app(prog_name="keyspace")
