"""``redis-remote`` and ``redis-local``: the team's habit, made safe.

    redis-remote PING
    redis-remote HGETALL user:500000000000000001:api:keys
    redis-local 1 LLEN celery
    redis-remote                 # interactive prompt

They read the same settings as keyspace (.env): the password is passed to
the connection in-process — never on a command line, neither ours nor a
child's (no redis-cli is spawned).  On the app server KEYS is refused with a
pointer to ``keyspace scan`` (``--force`` overrides); FLUSHALL, FLUSHDB,
CONFIG, SHUTDOWN and DEBUG need ``--force`` on either server.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any
from urllib.parse import urlsplit

import redis

DANGEROUS = {"FLUSHALL", "FLUSHDB", "CONFIG", "SHUTDOWN", "DEBUG"}
# commands whose string reply is a status (printed without quotes by redis-cli)
STATUS_COMMANDS = {
    "PING",
    "SET",
    "MSET",
    "SELECT",
    "FLUSHDB",
    "FLUSHALL",
    "AUTH",
    "RENAME",
    "TYPE",
    "HMSET",
    "LSET",
    "LTRIM",
    "SAVE",
    "BGSAVE",
    "BGREWRITEAOF",
    "MULTI",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "RESTORE",
    "SWAPDB",
    "READONLY",
    "READWRITE",
    "CLIENT",
    "CONFIG",
    "DEBUG",
    "SETEX",
    "PSETEX",
    "RESET",
}
USAGE = 2


def format_reply(reply: Any, indent: int = 0) -> str:
    """redis-cli's way of printing a reply."""
    pad = " " * indent
    if reply is None:
        return "(nil)"
    if isinstance(reply, bool):
        return "(integer) 1" if reply else "(integer) 0"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, float):
        return f"(double) {reply}"
    if isinstance(reply, redis.ResponseError):
        return f"(error) {reply}"
    if isinstance(reply, bytes):
        return _quote(reply)
    if isinstance(reply, str):
        return _quote(reply.encode())
    if isinstance(reply, dict):
        items: list[Any] = []
        for k, v in reply.items():
            items += [k, v]
        reply = items
    if isinstance(reply, set | frozenset):
        reply = sorted(reply)
    if isinstance(reply, list | tuple):
        if not reply:
            return "(empty array)"
        width = len(str(len(reply)))
        lines = []
        for i, item in enumerate(reply, 1):
            body = format_reply(item, indent + width + 2)
            prefix = f"{i:>{width}}) "
            lines.append((pad if i > 1 else "") + prefix + body)
        return "\n".join(lines)
    return str(reply)


def _quote(data: bytes) -> str:
    out = []
    for byte in data:
        ch = chr(byte)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    return '"' + "".join(out) + '"'


def refusal(args: list[str], *, app_server: bool, force: bool) -> str | None:
    """Why a command is refused (None when it may run)."""
    if not args or force:
        return None
    name = args[0].upper()
    if name == "KEYS" and app_server:
        return (
            "KEYS blocks the app server while it walks every key: use `keyspace scan MODEL` "
            "(or SCAN 0 MATCH pattern COUNT 1000); add --force if you really must"
        )
    if name in DANGEROUS:
        return f"{name} can destroy data or stop the server: add --force if you really mean it"
    return None


def _client(url: str, **options: Any) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, **options)


def _run(client: redis.Redis, args: list[str], *, app_server: bool, force: bool) -> int:
    reason = refusal(args, app_server=app_server, force=force)
    if reason:
        print(f"(refused) {reason}", file=sys.stderr)
        return USAGE
    try:
        reply = raw_command(client, args)
    except redis.ResponseError as exc:
        print(format_reply(exc))
        return 1
    except redis.RedisError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    name = args[0].upper()
    if isinstance(reply, bytes) and name in STATUS_COMMANDS:
        print(reply.decode("utf-8", "replace"))  # status replies print bare, as redis-cli does
    else:
        print(format_reply(reply))
    return 0


def raw_command(client: redis.Redis, args: list[str]) -> Any:
    """Send a command and return the server's reply as is (no redis-py response callbacks)."""
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def _interactive(client: redis.Redis, prompt: str, *, app_server: bool, force: bool) -> int:
    while True:
        try:
            line = input(prompt)
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            continue
        if line.strip().lower() in ("quit", "exit"):
            return 0
        try:
            args = shlex.split(line)
        except ValueError as exc:
            print(f"(error) {exc}")
            continue
        if args:
            _run(client, args, app_server=app_server, force=force)


def _split_flags(argv: list[str]) -> tuple[list[str], bool]:
    force = "--force" in argv
    return [a for a in argv if a != "--force"], force


def remote_main(argv: list[str] | None = None) -> None:
    """redis-remote [--force] [COMMAND ARGS…]: the app server from .env."""
    from keyspace.errors import ConfigError
    from keyspace.io.settings import Settings

    args, force = _split_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        settings = Settings.load()
        url = settings.app_url()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(USAGE) from None
    client = _client(url, **settings.client_options())
    host = urlsplit(url).hostname or "app"
    if not args:
        raise SystemExit(_interactive(client, f"{host} (app)> ", app_server=True, force=force))
    raise SystemExit(_run(client, args, app_server=True, force=force))


def local_main(argv: list[str] | None = None) -> None:
    """redis-local [DB] [--force] [COMMAND ARGS…]: the local (celery) server, DB from the first argument."""
    from keyspace.errors import ConfigError
    from keyspace.io.settings import Settings

    args, force = _split_flags(list(sys.argv[1:] if argv is None else argv))
    db: int | None = None
    if args and args[0].isdigit():
        db = int(args.pop(0))
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(USAGE) from None
    base = (
        settings.CELERY_BROKER_URL_OVERRIDE
        or settings.CELERY_RESULT_BACKEND_OVERRIDE
        or "redis://localhost:6379/1"
    )
    parts = urlsplit(base)
    url = parts._replace(path=f"/{db if db is not None else (parts.path.strip('/') or 0)}").geturl()
    if db == 0 and not args:
        print(
            "note: DB 0 of the local server holds no application data (that is on `redis-remote`)",
            file=sys.stderr,
        )
    client = _client(url)
    if not args:
        raise SystemExit(
            _interactive(client, f"local:{db if db is not None else ''}> ", app_server=False, force=force)
        )
    raise SystemExit(_run(client, args, app_server=False, force=force))
