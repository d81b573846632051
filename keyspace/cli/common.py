"""What every CLI command shares: building a mapper, one-line errors, exit codes."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from keyspace.errors import KeyspaceError

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes: every command's code means something.
OK = 0
FAILED = 1  # the check failed / something was skipped for an error / pending migrations with --check
USAGE = 2  # bad arguments or configuration
LOCKED = 3  # another runner holds the migration lock

err = Console(stderr=True)
out = Console()

URL_HELP = (
    "server URL (redis://, rediss://, memory://NAME); "
    "default: REDIS_URL / REDIS_HOST from the environment and .env"
)


def load_models() -> Any:
    """Import the application's schema as configured (see keyspace.io.project); returns the registry.

    ``[tool.keyspace] models`` of the nearest pyproject.toml, plus KEYSPACE_MODELS
    (comma-separated module names, the project's folder importable).
    """
    from keyspace.io.project import Project

    return Project.discover().load_models()


def mapper_for(url: str | None) -> Any:
    """The app/celery mapper for the CLI: ``--url`` or the environment (never a silent fallback)."""
    from keyspace.io.settings import Settings
    from keyspace.mapper import Mapper

    settings = Settings.load()
    if url is None:
        return Mapper.from_env()
    return Mapper.from_url(
        url,
        cluster=settings.cluster,
        link_options=settings.link_options(),
        keyring=settings.keyring(),
        plaintext_reads=settings.KEYSPACE_PLAINTEXT_READS,
        ttl_overrides=settings.ttl_overrides(),
    )


def handle_errors(fn: F) -> F:
    """One clear line on stderr instead of a traceback (``--debug`` or KEYSPACE_DEBUG=1 shows it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:
            if os.environ.get("KEYSPACE_DEBUG") == "1" or "--debug" in sys.argv:
                raise
            from keyspace.errors import LockHeld

            code = LOCKED if isinstance(exc, LockHeld) else (USAGE if _is_usage(exc) else FAILED)
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def _is_usage(exc: Exception) -> bool:
    from keyspace.errors import ConfigError, KeyConfigError

    return isinstance(exc, ConfigError | KeyConfigError | KeyError) or type(exc).__name__ == "MigrationError"


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str))


__all__ = [
    "FAILED",
    "LOCKED",
    "OK",
    "URL_HELP",
    "USAGE",
    "KeyspaceError",
    "emit_json",
    "err",
    "handle_errors",
    "mapper_for",
    "out",
]
