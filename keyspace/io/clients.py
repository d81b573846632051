"""Clients for a URL: ``redis://``, ``rediss://``, ``unix://`` or ``memory://``.

``memory://`` is the embedded in-memory default (fakeredis): ``memory://`` alone
is a new private server; ``memory://NAME`` is shared by every client of this
process that names it (so a sync and an async mapper can see the same data).
A trailing ``/N`` selects database N, as with Redis URLs.

fakeredis is imported only when a ``memory://`` URL is used: production
processes never load it (nor lupa, its Lua engine).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis
import redis.asyncio

if TYPE_CHECKING:
    import fakeredis

_MEMORY: dict[str, fakeredis.FakeServer] = {}
_LOCK = threading.Lock()


def _fakeredis() -> Any:
    import fakeredis

    return fakeredis


def _memory(url: str) -> tuple[fakeredis.FakeServer, int]:
    fakeredis = _fakeredis()
    parts = urlsplit(url)
    name = parts.netloc
    db = int(parts.path.strip("/") or 0)
    if not name:
        return fakeredis.FakeServer(), db
    with _LOCK:
        server = _MEMORY.get(name)
        if server is None:
            server = _MEMORY[name] = fakeredis.FakeServer()
    return server, db


def is_memory(url: str) -> bool:
    return url.startswith("memory:")


def with_db(url: str, db: int) -> str:
    """The same server as ``url`` with database ``db``."""
    parts = urlsplit(url)
    return parts._replace(path=f"/{db}").geturl()


def sync_client(url: str, *, server: fakeredis.FakeServer | None = None, **options: Any) -> redis.Redis:
    if is_memory(url):
        fake, db = _memory(url)
        client: redis.Redis = _fakeredis().FakeRedis(server=server or fake, db=db)
        return client
    return redis.Redis.from_url(url, **options)


def async_client(
    url: str, *, server: fakeredis.FakeServer | None = None, **options: Any
) -> redis.asyncio.Redis:
    if is_memory(url):
        fake, db = _memory(url)
        aclient: redis.asyncio.Redis = _fakeredis().FakeAsyncRedis(server=server or fake, db=db)
        return aclient
    return redis.asyncio.Redis.from_url(url, **options)


def memory_pair(url: str) -> tuple[fakeredis.FakeServer, int]:
    """The fake server and db a memory URL names (a new one for plain ``memory://``)."""
    return _memory(url)


def redact(url: str) -> str:
    """A URL safe to print: the password is replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}:***@{host}{port}").geturl()
