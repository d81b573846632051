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
EXIT_CODES: dict[str, dict[int, str]] = {
    "demo": {OK: "tour done", USAGE: "the --url database is not empty / bad configuration"},
    "seed": {
        OK: "dataset written",
        USAGE: "the database is not empty (use --force), no ENCRYPTION_KEY, or bad configuration",
    },
    "schema": {OK: "guide printed", USAGE: "no schema configured, bad KEYSPACE_TTL_OVERRIDES"},
    "keygen": {OK: "key printed"},
    "show": {
        OK: "shown (also when the key does not exist)",
        FAILED: "the value cannot be read (wrong type, corrupt, undecryptable) or a server error",
        USAGE: "the key belongs to no model, bad configuration",
    },
    "get": {
        OK: "shown (also when the key does not exist)",
        FAILED: "the value cannot be read or a server error",
        USAGE: "unknown model, unknown/missing/invalid key field, bad configuration",
    },
    "scan": {
        OK: "every matching instance listed",
        FAILED: "some keys were skipped (listed on stderr) or a server error",
        USAGE: "unknown model, unknown field, invalid key value, bad configuration",
    },
    "stats": {OK: "stats printed (problems are data, not failures)", FAILED: "server error", USAGE: "config"},
    "doctor": {OK: "no check failed (warnings allowed)", FAILED: "a check failed", USAGE: "config"},
    "info": {OK: "printed", FAILED: "server error", USAGE: "bad configuration"},
    "backup": {OK: "file written", FAILED: "server or file error", USAGE: "unknown model, config"},
    "restore": {
        OK: "every key restored",
        FAILED: "damaged file (nothing restored), keys already exist without --replace, server error",
        USAGE: "no such file, bad configuration",
    },
    "rotate-keys": {
        OK: "every token re-encrypted",
        FAILED: "keys skipped (listed)",
        USAGE: "no ENCRYPTION_KEY, config",
        LOCKED: "lock held",
    },
    "migrate status": {
        OK: "printed",
        FAILED: "--check and migrations are pending",
        USAGE: "no migrations configured, config",
    },
    "migrate check": {OK: "nothing pending", FAILED: "migrations are pending", USAGE: "config"},
    "migrate plan": {OK: "plan printed", USAGE: "unknown --to, config"},
    "migrate up": {
        OK: "applied",
        FAILED: "keys skipped (migration not recorded)",
        USAGE: "unknown --to, config",
        LOCKED: "lock held",
    },
    "migrate down": {
        OK: "undone",
        FAILED: "keys skipped",
        USAGE: "unknown/unapplied id, no down, needed by another, config",
        LOCKED: "lock held",
    },
    "migrate verify": {
        OK: "every value under the current key",
        FAILED: "not verified",
        USAGE: "no ENCRYPTION_KEY, config",
    },
    "migrate stamp": {OK: "stamped (or already applied)", USAGE: "unknown id, config", LOCKED: "lock held"},
    "migrate history": {OK: "printed", USAGE: "no migrations configured, config"},
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
