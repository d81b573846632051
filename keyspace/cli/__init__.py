"""The ``keyspace`` command line (typer + rich)."""

from __future__ import annotations

import sys

import typer

from keyspace.cli import demo as _demo
from keyspace.cli import migrate as _migrate
from keyspace.cli import ops as _ops
from keyspace.cli import schema as _schema

app = typer.Typer(
    name="keyspace",
    help="Typed, encrypted Redis keyspace for TradingBoost: tour, key guide, keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(_demo.demo)
app.command("schema")(_schema.schema)
app.command("keygen")(_schema.keygen)
app.add_typer(_migrate.app, name="migrate")
app.command("rotate-keys")(_migrate.rotate_keys)
_ops.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
