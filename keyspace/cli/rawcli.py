"""``redis-remote`` and ``redis-local``: the team's habit, made safe.

    redis-remote PING
    redis-remote HGETALL user:500000000000000001:api:keys
    redis-local 1 LLEN celery
    redis-remote                 # interactive prompt (line editing, history)
    redis-remote --force DEL a b # anything outside the allowlist needs --force

They read the same settings as keyspace (.env): the password is passed to the
connection in-process — never on a command line, neither ours nor a child's
(no redis-cli is spawned).

Only an **allowlist** runs without ``--force``: reads, single-key writes,
SCAN, INFO, PING and a few read-only subcommands (CLIENT LIST, MEMORY USAGE,
…).  Everything else — scripts (EVAL, FCALL), FLUSH*, SWAPDB, CONFIG, ACL,
REPLICAOF, MIGRATE, CLIENT KILL/PAUSE, multi-key writes, … — needs
``--force``, which is accepted only as the tool's own option *before* the
command (``SET k --force`` stores the text ``--force``).  On the app server
KEYS is refused with a pointer to ``keyspace scan`` (``--force`` overrides).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

USAGE = 2
HISTORY_LENGTH = 1000

# fmt: off
# Commands that run without --force (any arguments).
READS = {
    # strings
    "GET", "MGET", "STRLEN", "GETRANGE", "SUBSTR", "LCS", "GETBIT", "BITCOUNT", "BITPOS", "BITFIELD_RO",
    # keys
    "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "DUMP", "TOUCH", "RANDOMKEY", "SCAN",
    # hashes
    "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HSCAN", "HRANDFIELD",
    "HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME",
    # lists
    "LRANGE", "LLEN", "LINDEX", "LPOS",
    # sets
    "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN", "SRANDMEMBER", "SINTER", "SUNION", "SDIFF",
    "SINTERCARD",
    # sorted sets
    "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZCARD",
    "ZSCORE", "ZMSCORE", "ZRANK", "ZREVRANK", "ZCOUNT", "ZLEXCOUNT", "ZSCAN", "ZRANDMEMBER", "ZINTER",
    "ZUNION", "ZDIFF", "ZINTERCARD",
    # streams, hyperloglog, geo
    "XRANGE", "XREVRANGE", "XLEN", "XINFO", "XPENDING", "PFCOUNT", "GEOPOS", "GEODIST", "GEOHASH",
    "GEOSEARCH", "GEORADIUS_RO", "GEORADIUSBYMEMBER_RO",
    # server (read-only)
    "PING", "ECHO", "INFO", "DBSIZE", "TIME", "LASTSAVE", "ROLE", "LOLWUT",
}
SINGLE_KEY_WRITES = {
    "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "APPEND", "SETRANGE", "SETBIT",
    "INCR", "INCRBY", "INCRBYFLOAT", "DECR", "DECRBY",
    "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "RESTORE",
    "HSET", "HSETNX", "HMSET", "HDEL", "HINCRBY", "HINCRBYFLOAT", "HEXPIRE", "HPEXPIRE", "HPERSIST",
    "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LSET", "LREM", "LTRIM", "LINSERT",
    "SADD", "SREM", "SPOP",
    "ZADD", "ZREM", "ZINCRBY", "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYLEX",
    "XADD", "XDEL", "XTRIM", "PFADD", "GEOADD",
}
ONE_KEY = {"DEL", "UNLINK"}  # allowed with exactly one key
# Container commands: the subcommands that only read.
SUBCOMMANDS = {
    "CLIENT": {"LIST", "INFO", "GETNAME", "ID"},
    "COMMAND": {"COUNT", "DOCS", "INFO", "LIST", "GETKEYS", "HELP"},
    "OBJECT": {"ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP"},
    "MEMORY": {"USAGE", "STATS", "DOCTOR", "HELP"},
    "SLOWLOG": {"GET", "LEN", "HELP"},
    "LATENCY": {"LATEST", "HISTORY", "DOCTOR", "HELP"},
    "PUBSUB": {"CHANNELS", "NUMSUB", "NUMPAT", "SHARDCHANNELS", "SHARDNUMSUB", "HELP"},
    "SCRIPT": {"EXISTS"},
    "FUNCTION": {"LIST", "STATS"},
    "CLUSTER": {"INFO", "NODES", "SLOTS", "SHARDS", "KEYSLOT", "MYID", "COUNTKEYSINSLOT"},
}
ALLOWED = READS | SINGLE_KEY_WRITES

# commands whose string reply is a status (printed without quotes by redis-cli)
STATUS_COMMANDS = {
    "PING", "SET", "MSET", "SELECT", "FLUSHDB", "FLUSHALL", "AUTH", "RENAME", "TYPE", "HMSET", "LSET",
    "LTRIM", "SAVE", "BGSAVE", "BGREWRITEAOF", "MULTI", "DISCARD", "WATCH", "UNWATCH", "RESTORE", "SWAPDB",
    "READONLY", "READWRITE", "CLIENT", "CONFIG", "DEBUG", "SETEX", "PSETEX", "RESET", "SCRIPT", "FUNCTION",
    "ACL", "REPLICAOF", "SLAVEOF", "MIGRATE",
}
# fmt: on

USAGE_TEXT = {
    "redis-remote": "usage: redis-remote [--force] [COMMAND [ARG …]]\n"
    "The app server of .env (REDIS_URL / REDIS_HOST, REDIS_PASSWORD); no COMMAND: an interactive prompt.",
    "redis-local": "usage: redis-local [DB] [--force] [COMMAND [ARG …]]\n"
    "The local (celery) server of .env (CELERY_*_OVERRIDE), database DB; no COMMAND: an interactive prompt.",
}
OPTIONS_TEXT = """
options (before the command only; after it they are data):
  --force        run a command outside the allowlist (or KEYS on the app server)
  -h, --help     this help
  --version      the keyspace version

Without --force only reads, single-key writes, DEL/UNLINK of one key, SCAN, INFO, PING and
read-only subcommands (CLIENT LIST, MEMORY USAGE, SLOWLOG GET, …) run.  The prompt keeps a
history in ~/.keyspace_redis_history (lines with AUTH, HELLO … AUTH, CONFIG SET requirepass,
ACL or MIGRATE … AUTH are never recorded); `--force COMMAND` forces one line.
"""


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
    """Why a command is refused without --force (None when it may run)."""
    if not args or force:
        return None
    name = args[0].upper()
    if name == "KEYS":
        if not app_server:
            return None
        return (
            "KEYS blocks the app server while it walks every key: use `keyspace scan MODEL` "
            "(or SCAN 0 MATCH pattern COUNT 1000); add --force before the command if you really must"
        )
    if name in ALLOWED:
        return None
    if name in ONE_KEY and len(args) == 2:
        return None
    sub = args[1].upper() if len(args) > 1 else ""
    if name in SUBCOMMANDS and sub in SUBCOMMANDS[name]:
        return None
    what = f"{name} {sub}".strip() if name in SUBCOMMANDS else name
    if name in ONE_KEY:
        what = f"{name} of {len(args) - 1} keys"
    return (
        f"{what} is not on the allowlist (reads, single-key writes, SCAN, INFO): it can change or "
        f"destroy data, run scripts or reconfigure the server; put --force before the command "
        f"if you really mean it"
    )


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


# --- the interactive prompt ------------------------------------------------------------


def history_file() -> Path | None:
    """The prompt's history, in the user's home (KEYSPACE_REDIS_HISTORY overrides; empty: none)."""
    override = os.environ.get("KEYSPACE_REDIS_HISTORY")
    if override is not None:
        # empty: no history file (Path("") would be ".", the working directory itself)
        return Path(override) if override.strip() else None
    return Path.home() / ".keyspace_redis_history"


def recordable(line: str) -> bool:
    """False for lines with credentials: AUTH, HELLO … AUTH, CONFIG SET requirepass, ACL, MIGRATE … AUTH."""
    try:
        words = [w.upper() for w in shlex.split(line)]
    except ValueError:
        words = [w.upper() for w in line.split()]
    while words and words[0] == "--FORCE":
        words.pop(0)
    if not words:
        return False
    name = words[0]
    if name in ("AUTH", "ACL"):
        return False
    if name == "HELLO" and "AUTH" in words:
        return False
    if name == "MIGRATE" and ("AUTH" in words or "AUTH2" in words):
        return False
    if name == "CONFIG" and any(w in ("REQUIREPASS", "MASTERAUTH", "MASTERUSER") for w in words):
        return False
    upper = line.upper()
    return not any(word in upper for word in ("REQUIREPASS", "MASTERAUTH"))


class History:
    """readline line editing and a persistent history that never records credentials."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.readline: Any = None
        try:
            import readline
        except ImportError:  # pragma: no cover - platforms without readline
            return
        self.readline = readline
        readline.set_auto_history(False)  # we choose which lines are recorded
        readline.set_history_length(HISTORY_LENGTH)
        if path is not None and path.is_file():
            with contextlib.suppress(OSError):
                readline.read_history_file(str(path))

    def add(self, line: str) -> None:
        if self.readline is not None and line.strip() and recordable(line):
            self.readline.add_history(line)

    def save(self) -> None:
        if self.readline is None or self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.touch(mode=0o600, exist_ok=True)
            os.chmod(self.path, 0o600)
            self.readline.write_history_file(str(self.path))


def _interactive(
    client: redis.Redis, prompt: str, *, app_server: bool, force: bool, read: Callable[[str], str] = input
) -> int:
    history = History(history_file())
    try:
        while True:
            try:
                line = read(prompt)
            except EOFError:
                print()
                return 0
            except KeyboardInterrupt:
                print()
                continue
            if line.strip().lower() in ("quit", "exit"):
                return 0
            history.add(line)
            try:
                args = shlex.split(line)
            except ValueError as exc:
                print(f"(error) {exc}")
                continue
            line_force = force
            if args and args[0] == "--force":
                args, line_force = args[1:], True
            if args:
                _run(client, args, app_server=app_server, force=line_force)
    finally:
        history.save()


# --- the console scripts -------------------------------------------------------------


def parse_options(argv: list[str], tool: str, *, db_argument: bool) -> tuple[list[str], bool, int | None]:
    """The tool's own leading options: ``[DB] [--force] [-h] [--version] [--]``, then the command.

    Prints help/version and exits; an unknown leading option is a usage error (exit 2).
    """
    force = False
    db: int | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg == "--force":
            force = True
        elif arg in ("-h", "--help"):
            print(USAGE_TEXT[tool] + "\n" + OPTIONS_TEXT.strip("\n"))
            raise SystemExit(0)
        elif arg == "--version":
            from keyspace import __version__

            print(f"{tool} (keyspace {__version__})")
            raise SystemExit(0)
        elif db_argument and db is None and arg.isdigit():
            db = int(arg)
        elif arg.startswith("-") and len(arg) > 1:
            print(f"error: unknown option {arg!r} (see {tool} --help)", file=sys.stderr)
            raise SystemExit(USAGE)
        else:
            break
        i += 1
    return argv[i:], force, db


def remote_main(argv: list[str] | None = None) -> None:
    """redis-remote [--force] [COMMAND ARGS…]: the app server from .env."""
    from keyspace.errors import ConfigError
    from keyspace.io.settings import Settings

    args, force, _ = parse_options(
        list(sys.argv[1:] if argv is None else argv), "redis-remote", db_argument=False
    )
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

    args, force, db = parse_options(
        list(sys.argv[1:] if argv is None else argv), "redis-local", db_argument=True
    )
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
