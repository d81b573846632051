"""Exit codes and the error boundary every command runs inside.

An error is one line on stderr (``error: …``), with every secret the
configuration knows replaced by ``***``; ``--debug`` (or ``KEYSPACE_DEBUG=1``)
adds the traceback above that line — redacted the same way, never with local
variables.  The exit code says what kind of failure it was:

====  ==========================================================
0     ok
1     a check failed, or items were skipped / could not be read
2     bad arguments or configuration (nothing was changed)
3     another migration runner holds the lock
====  ==========================================================
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import Any

import typer
from typer.core import TyperCommand

from keyspace.errors import (
    ConfigError,
    EncryptionKeyMissing,
    InvalidKeyValue,
    KeyConfigError,
    LockHeld,
    MigrationError,
    ModelDeclarationError,
    TemplateError,
)

OK = 0
FAILED = 1
USAGE = 2
LOCKED = 3

CODES = {
    OK: "ok",
    FAILED: "a check failed / items skipped or unreadable",
    USAGE: "bad arguments or configuration",
    LOCKED: "the migration lock is held",
}

# What each exit code means, per command (the help epilogs and the README table come from here).
CONFIG = "bad configuration (.env, --env-file, the schema or migrations settings)"
EXIT_CODES: dict[str, dict[int, str]] = {
    "demo": {OK: "tour done", USAGE: f"the --url database is not empty, {CONFIG}"},
    "seed": {OK: "dataset written", USAGE: f"database not empty (use --force), no ENCRYPTION_KEY, {CONFIG}"},
    "schema": {OK: "guide printed", USAGE: f"no schema configured, bad KEYSPACE_TTL_OVERRIDES, {CONFIG}"},
    "keygen": {OK: "key printed"},
    "show": {
        OK: "shown (also a key that does not exist)",
        FAILED: "the value cannot be read (wrong type, corrupt, undecryptable), server error",
        USAGE: f"the key belongs to no model, {CONFIG}",
    },
    "get": {
        OK: "shown (also a key that does not exist)",
        FAILED: "the value cannot be read, server error",
        USAGE: f"unknown model, unknown/missing/invalid key field, {CONFIG}",
    },
    "scan": {
        OK: "every match listed",
        FAILED: "keys skipped (named on stderr), server error",
        USAGE: f"unknown model, unknown field, invalid filter value, {CONFIG}",
    },
    "stats": {OK: "printed (problems found are data)", FAILED: "server error", USAGE: CONFIG},
    "doctor": {OK: "no check failed (warnings allowed)", FAILED: "a check failed", USAGE: CONFIG},
    "info": {OK: "printed", FAILED: "server error", USAGE: CONFIG},
    "backup": {OK: "file written", FAILED: "server or file error", USAGE: f"unknown --model, {CONFIG}"},
    "restore": {
        OK: "every key restored",
        FAILED: "damaged file (nothing restored), keys exist (no --replace), server error",
        USAGE: f"no such file, {CONFIG}",
    },
    "ttl apply": {
        OK: "every key of a TTL model has an expiry",
        FAILED: "keys skipped (listed)",
        USAGE: f"unknown model, {CONFIG}",
        LOCKED: "lock held",
    },
    "rotate-keys": {
        OK: "every token under the current key",
        FAILED: "keys skipped (listed)",
        USAGE: f"no ENCRYPTION_KEY, {CONFIG}",
        LOCKED: "lock held",
    },
    "migrate status": {OK: "printed", FAILED: "--check and migrations pending", USAGE: CONFIG},
    "migrate check": {OK: "nothing pending", FAILED: "migrations pending", USAGE: CONFIG},
    "migrate plan": {OK: "plan printed", USAGE: f"unknown --to, {CONFIG}"},
    "migrate up": {
        OK: "applied (or nothing pending)",
        FAILED: "keys skipped (migration not recorded)",
        USAGE: f"unknown --to, no ENCRYPTION_KEY, {CONFIG}",
        LOCKED: "lock held",
    },
    "migrate down": {
        OK: "undone",
        FAILED: "keys skipped",
        USAGE: f"unknown or unapplied id, no down, needed by another, {CONFIG}",
        LOCKED: "lock held",
    },
    "migrate verify": {
        OK: "every value under the current key",
        FAILED: "not verified",
        USAGE: f"no ENCRYPTION_KEY, {CONFIG}",
    },
    "migrate stamp": {
        OK: "stamped (or already applied)",
        USAGE: f"unknown id, {CONFIG}",
        LOCKED: "lock held",
    },
    "migrate history": {OK: "printed", USAGE: f"no migrations configured, {CONFIG}"},
}


def exit_codes_epilog(command: str) -> str:
    """The help epilog listing a command's exit codes."""
    codes = EXIT_CODES.get(command, {})
    rows = "\n".join(f"  {code}  {what}" for code, what in sorted(codes.items()))
    return f"Exit codes:\n{rows}"


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, LockHeld):
        return LOCKED
    if isinstance(exc, typer.BadParameter):  # a command's own argument check
        return USAGE
    usage = (
        ConfigError,
        KeyConfigError,
        EncryptionKeyMissing,
        MigrationError,
        InvalidKeyValue,
        ModelDeclarationError,
        TemplateError,
        KeyError,
    )
    return USAGE if isinstance(exc, usage) else FAILED


def message_of(exc: BaseException) -> str:
    if isinstance(exc, typer.BadParameter):
        return exc.message  # raised by a command's body: the message, without click's prefix
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    text = str(exc)
    return text if text else type(exc).__name__


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first, so no part of one survives)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _secrets_of(ctx: typer.Context) -> list[str]:
    from keyspace.cli.context import state

    found = state(ctx).secrets()
    from urllib.parse import unquote, urlsplit

    node: Any = ctx
    while node is not None:  # passwords inside --url / --celery-url
        for value in node.params.values():
            if isinstance(value, str) and "://" in value:
                try:
                    password = urlsplit(value).password
                except ValueError:
                    password = None
                if password:
                    found += [password, unquote(password)]
        node = node.parent
    return found


def report(ctx: typer.Context, exc: BaseException) -> int:
    """Print ``exc`` as one redacted line (after the traceback with --debug); returns the exit code."""
    from rich.console import Console
    from rich.text import Text

    from keyspace.cli.context import state

    try:
        secrets = _secrets_of(ctx)
    except Exception:  # the configuration itself may be what failed: redact what can be found
        secrets = []
    code = exit_code_for(exc)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if state(ctx).debug:
        trace = "".join(traceback.format_exception(exc))
        console.print(Text(redact(trace, secrets).rstrip("\n"), style="dim"))
    line = redact(" ".join(message_of(exc).split()), secrets)
    console.print(Text.assemble(("error:", "red"), " ", line))
    return code


class KeyspaceCommand(TyperCommand):
    """A command whose body runs inside the error boundary (one line, redacted, exit code)."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, EOFError):
            raise
        except Exception as exc:
            code = report(ctx, exc)
            raise typer.Exit(code) from None


__all__ = [
    "CODES",
    "EXIT_CODES",
    "FAILED",
    "LOCKED",
    "OK",
    "USAGE",
    "KeyspaceCommand",
    "exit_code_for",
    "exit_codes_epilog",
    "redact",
    "report",
]
