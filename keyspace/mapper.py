"""Mapper (sync) and AsyncMapper (asyncio): one set of operations, two drivers.

Every public method builds a program from ``keyspace.core.programs`` and hands it
to ``_run`` / ``_stream``.  Mapper's drivers block; AsyncMapper's return
coroutines and async iterators.  Nothing else differs, so the methods are
written once, in ``_Operations``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar

import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from keyspace.core import programs as commands
from keyspace.core.codec import CodecContext, PlaintextPolicy
from keyspace.core.crypto import Keyring
from keyspace.core.model import KeyspaceModel, ModelSpec, TtlPolicy
from keyspace.errors import (
    CircuitOpen,
    KeyspaceError,
    ModelDeclarationError,
    OperationTimeout,
    PoolExhausted,
    ServerUnavailable,
)
from keyspace.io import clients as connection
from keyspace.io import drive
from keyspace.io import executors as driver
from keyspace.io.links import (
    AsyncHealthMonitor,
    ClusterLink,
    HealthMonitor,
    LinkOptions,
    ServerLink,
    async_link,
    sync_link,
)

if TYPE_CHECKING:
    from keyspace.io.settings import Settings

M = TypeVar("M", bound=KeyspaceModel)
T = TypeVar("T")
_UNSET: Any = object()


def _spec(model: type[KeyspaceModel] | KeyspaceModel) -> ModelSpec:
    spec: ModelSpec | None = getattr(model, "__keyspace__", None)
    if spec is None:
        name = getattr(model, "__name__", type(model).__name__)
        raise ModelDeclarationError("not a keyspace model (declare it with key=...)", model=name)
    return spec


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a program runs when no model names it (operator engines): a server."""

    server: str
    name: str | None = None


class _Operations:
    """The public operations, written once for both mappers."""

    ctx: CodecContext
    ttl_overrides: dict[str, int | None]
    chunk: int

    def _run(self, spec: ModelSpec | _Target, program: commands.Program[Any]) -> Any:
        raise NotImplementedError

    def _stream(self, spec: ModelSpec | _Target, program: commands.Program[Any]) -> Any:
        raise NotImplementedError

    # programs: the public way to run anything built on keyspace.core.programs

    def run(self, program: commands.Program[Any], *, server: str = "app") -> Any:
        """Run a program (see keyspace.core.programs) on a server, with the mapper's pool,
        breaker, budgets and error translation; returns (or, on AsyncMapper, awaits to)
        its result.  The operator engines (migrations, stats, doctor, backup) are such
        programs, so they run on either mapper."""
        return self._run(self._target(server), program)

    def stream(self, program: commands.Program[Any], *, server: str = "app") -> Any:
        """Iterate (``async for`` on AsyncMapper) over the items a program emits."""
        return self._stream(self._target(server), program)

    def _target(self, server: str) -> _Target:
        if server not in self._servers():
            raise KeyspaceError(f"unknown server {server!r} (known: {', '.join(self._servers())})")
        return _Target(server)

    def _servers(self) -> tuple[str, ...]:
        raise NotImplementedError

    def ttl_policy(self, model: type[KeyspaceModel] | ModelSpec) -> TtlPolicy:
        """The TTL in force for a model: the deployment's override, else the declared TTL
        (seconds, None = persistent, or "keep" = never changed: see keyspace.core.model)."""
        spec = model if isinstance(model, ModelSpec) else _spec(model)
        found: TtlPolicy = self.ttl_overrides.get(spec.name, spec.ttl)  # type: ignore[arg-type,unused-ignore]
        return found

    # reads
    def get(self, model: type[M], **key_values: Any) -> Any:
        """The instance, or None when the key is missing."""
        spec = _spec(model)
        return self._run(spec, commands.get(spec, self.ctx, key_values))

    def get_or_raise(self, model: type[M], **key_values: Any) -> Any:
        """The instance; NotFound when the key is missing."""
        spec = _spec(model)
        return self._run(spec, commands.get_or_raise(spec, self.ctx, key_values))

    def get_many(self, model: type[M], many: Iterable[Mapping[str, Any]], *, on_error: Any = None) -> Any:
        """Instances (None where missing) aligned with ``many``; see commands.get_many."""
        spec = _spec(model)
        return self._run(
            spec, commands.get_many(spec, self.ctx, list(many), chunk=self.chunk, on_error=on_error)
        )

    def exists(self, model: type[M], **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.exists(spec, key_values))

    def ttl(self, model: type[M], **key_values: Any) -> Any:
        """Seconds to live, None for a persistent key; NotFound when missing."""
        spec = _spec(model)
        return self._run(spec, commands.ttl(spec, key_values))

    def scan(
        self,
        model: type[M],
        *,
        count: int = 1000,
        dedupe: bool = True,
        on_error: Any = None,
        **filters: Any,
    ) -> Any:
        """Stream instances whose fields equal ``filters`` (SCAN + MATCH; never KEYS)."""
        spec = _spec(model)
        return self._stream(
            spec,
            commands.scan(spec, self.ctx, filters, count=count, dedupe=dedupe, on_error=on_error),
        )

    def scan_keys(self, model: type[M], *, count: int = 1000, dedupe: bool = True, **filters: Any) -> Any:
        """Stream the keys (strings) of a model whose key fields equal ``filters``."""
        spec = _spec(model)
        return self._stream(
            spec,
            commands.scan(spec, self.ctx, filters, keys_only=True, count=count, dedupe=dedupe),
        )

    # writes
    def save(self, obj: KeyspaceModel) -> Any:
        """Write the instance (every key it names) with its TTL policy, atomically per key."""
        spec = _spec(obj)
        return self._run(spec, commands.save(obj, self.ctx, self.ttl_policy(spec)))

    def save_many(self, objs: Sequence[KeyspaceModel]) -> Any:
        """Save many instances of one server, pipelined in chunks (one round trip per chunk)."""
        objs = list(objs)
        if not objs:
            return self._noop()
        servers = {_spec(o).server for o in objs}
        if len(servers) != 1:
            raise KeyspaceError("save_many takes models of one server at a time")
        return self._run(
            _spec(objs[0]),
            commands.save_many(objs, self.ctx, self.ttl_policy, chunk=self.chunk),
        )

    def update(self, model: type[M], **values: Any) -> Any:
        """Write some fields of an existing key: key fields name it, the others are written."""
        spec = _spec(model)
        return self._run(spec, commands.update(spec, self.ctx, self.ttl_policy(spec), values))

    def delete(self, model: type[M] | KeyspaceModel, **key_values: Any) -> Any:
        """Delete a key (an instance, or a model and its key fields); True if it existed."""
        spec = _spec(model)
        if isinstance(model, KeyspaceModel):
            key_values = {n: getattr(model, n) for n in spec.key_fields}
        return self._run(spec, commands.delete(spec, key_values, cluster=self.ctx.cluster))

    # counters, sets, lists
    def incr(self, model: type[M], by: int = 1, **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.incr(spec, self.ttl_policy(spec), key_values, by))

    def decr(self, model: type[M], by: int = 1, **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.incr(spec, self.ttl_policy(spec), key_values, -by))

    def add(self, model: type[M], *members: Any, **key_values: Any) -> Any:
        """SADD members to a set model; returns how many were new."""
        spec = _spec(model)
        commands.require_kind(spec, "set", "add")
        return self._run(spec, commands.add(spec, self.ctx, self.ttl_policy(spec), key_values, members))

    def remove(self, model: type[M], *members: Any, **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.remove(spec, self.ctx, self.ttl_policy(spec), key_values, members))

    def members(self, model: type[M], **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.members(spec, self.ctx, key_values))

    def contains(self, model: type[M], member: Any, **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.contains(spec, self.ctx, key_values, member))

    def push(self, model: type[M], *items: Any, **key_values: Any) -> Any:
        """RPUSH items to a list model; returns the new length."""
        spec = _spec(model)
        commands.require_kind(spec, "list", "push")
        return self._run(
            spec,
            commands.add(spec, self.ctx, self.ttl_policy(spec), key_values, items, command="RPUSH"),
        )

    def length(self, model: type[M], **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.length(spec, key_values))

    def range(self, model: type[M], start: int = 0, stop: int = -1, **key_values: Any) -> Any:
        spec = _spec(model)
        return self._run(spec, commands.list_range(spec, self.ctx, key_values, start, stop))

    def count(self, model: type[M], **filters: Any) -> Any:
        """How many keys of the model match the key-field filters (a SCAN, no reads)."""
        spec = _spec(model)
        return self._run(spec, drive.drain(commands.scan(spec, self.ctx, filters, keys_only=True)))

    def _noop(self) -> Any:
        return None


def _context(
    encryption_key: str | None,
    old_keys: Sequence[str],
    plaintext_reads: PlaintextPolicy,
    keyring: Keyring | None,
) -> CodecContext:
    if keyring is None and encryption_key:
        keyring = Keyring(encryption_key, old_keys)
    if plaintext_reads not in ("allow", "forbid"):
        raise ValueError("plaintext_reads must be 'allow' or 'forbid'")
    return CodecContext(keyring=keyring, plaintext_reads=plaintext_reads)


def _unavailable(spec: ModelSpec | _Target, exc: Exception) -> ServerUnavailable:
    kind = "timed out" if isinstance(exc, RedisTimeoutError) else "is unreachable"
    return ServerUnavailable(f"the {spec.server} Redis server {kind} ({type(exc).__name__})", model=spec.name)


_CONNECTION_ERRORS = (CircuitOpen, OperationTimeout, PoolExhausted)


def _named(spec: ModelSpec | _Target, exc: KeyspaceError) -> KeyspaceError:
    """The same connection-level error, now naming the model it happened for."""
    if exc.model is not None:
        return exc
    return type(exc)(exc.reason, model=spec.name)


def _links_for(
    app: Any, celery: Any, links: Mapping[str, ServerLink] | None, options: LinkOptions | None
) -> dict[str, ServerLink]:
    if links is not None:
        out = dict(links)
        out.setdefault("celery", out["app"])
        return out
    if app is None:
        raise ValueError("give a client (app=...) or links=...")
    app_link = ServerLink("app", lambda: app.connection_pool, options, fixed_pool=app.connection_pool)
    if celery is None or celery is app:
        return {"app": app_link, "celery": app_link}
    celery_link = ServerLink(
        "celery", lambda: celery.connection_pool, options, fixed_pool=celery.connection_pool
    )
    return {"app": app_link, "celery": celery_link}


def cluster_link(
    name: str, url: str, options: LinkOptions, *, asyncio_: bool = False, **client: Any
) -> ClusterLink:
    """A ClusterLink from a URL naming one startup node, or several as host:port,host:port."""
    from urllib.parse import unquote, urlsplit

    from keyspace.core.slots import Node

    parts = urlsplit(url)
    nodes = []
    for item in (parts.netloc.rsplit("@", 1)[-1] or "127.0.0.1:6379").split(","):
        host, _, port = item.partition(":")
        nodes.append(Node(host or "127.0.0.1", int(port or 6379)))
    if parts.password:  # what the URL says wins, as for a single server (see keyspace.io.settings)
        client["password"] = unquote(parts.password)
    if parts.username:
        client["username"] = unquote(parts.username)
    return ClusterLink(
        name, nodes, options, asyncio_=asyncio_, client_options=client, tls=parts.scheme == "rediss"
    )


def _memory_clients(url: str, celery_url: str | None, asyncio_: bool) -> tuple[Any, Any]:
    make = connection.async_client if asyncio_ else connection.sync_client
    server, _ = connection.memory_pair(url)
    app = make(url, server=server)
    celery = make(celery_url or connection.with_db(url, 1), server=None if celery_url else server)
    return app, celery


def _executor(link: ServerLink, asyncio_: bool) -> Any:
    if isinstance(link, ClusterLink):
        return driver.ClusterAsyncExecutor(link) if asyncio_ else driver.ClusterSyncExecutor(link)
    return driver.AsyncExecutor(link) if asyncio_ else driver.SyncExecutor(link)


def _pools(link: ServerLink) -> list[Any]:
    return link.node_pools() if isinstance(link, ClusterLink) else [link.pool]


def _raw_client(link: ServerLink, asyncio_: bool) -> Any:
    """A plain redis-py client on a link (RedisCluster for a cluster): raw access, no breaker."""
    if isinstance(link, ClusterLink):
        seed = link.seeds()[0]
        module = redis.asyncio if asyncio_ else redis
        tls = {"ssl": True} if link.tls else {}
        return module.RedisCluster(host=seed.host, port=seed.port, **tls, **link.client_options)
    return (redis.asyncio.Redis if asyncio_ else redis.Redis)(connection_pool=link.pool)


class _MapperBase(_Operations):
    """Construction shared by Mapper and AsyncMapper; ``_asyncio`` picks the I/O flavour."""

    _asyncio = False
    links: dict[str, ServerLink]
    _raw: dict[str, Any]

    def __init__(
        self,
        app: Any = None,
        celery: Any = None,
        *,
        links: Mapping[str, ServerLink] | None = None,
        link_options: LinkOptions | None = None,
        keyring: Keyring | None = None,
        encryption_key: str | None = None,
        old_keys: Sequence[str] = (),
        plaintext_reads: PlaintextPolicy = "allow",
        ttl_overrides: Mapping[str, int | None] | None = None,
        chunk: int = commands.DEFAULT_CHUNK,
    ) -> None:
        self.links = _links_for(app, celery, links, link_options)
        self._raw = {"app": app, "celery": celery or app}
        self.ctx = _context(encryption_key, old_keys, plaintext_reads, keyring)
        self.ctx.cluster = isinstance(self.links["app"], ClusterLink)
        self.ttl_overrides = dict(ttl_overrides or {})
        self.chunk = chunk
        self._executors = {name: _executor(link, self._asyncio) for name, link in self.links.items()}
        self._monitors: list[Any] = []

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        celery_url: str | None = None,
        link_options: LinkOptions | None = None,
        cluster: bool = False,
        **options: Any,
    ) -> Self:
        """A mapper on ``url``; Celery's models go to ``celery_url``.

        Without ``celery_url``: DB 1 of the same in-memory server for a
        ``memory://`` URL, else the same server as ``url``.  ``cluster=True``
        treats ``url`` as a startup node (or ``host:port,host:port``) of a Redis Cluster.
        """
        if connection.is_memory(url):
            app, celery = _memory_clients(url, celery_url, cls._asyncio)
            return cls(app, celery, link_options=link_options, **options)
        link_options = link_options or LinkOptions()
        make = async_link if cls._asyncio else sync_link
        app_link = (
            cluster_link("app", url, link_options, asyncio_=cls._asyncio)
            if cluster
            else make("app", url, link_options)
        )
        links = {
            "app": app_link,
            "celery": make("celery", celery_url, link_options) if celery_url else app_link,
        }
        return cls(links=links, **options)._with_health()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> Self:
        """A mapper configured from the environment and ``.env`` (see keyspace.io.settings)."""
        from keyspace.io.settings import Settings

        return cls.from_settings(Settings.load(env), **options)  # None: the environment plus .env

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Self:
        """A mapper for loaded settings (``Settings.load(env_file=...)`` reads another .env)."""
        merged = {**settings.mapper_options(), **options}
        link_options = settings.link_options()
        if connection.is_memory(settings.app_url()):
            app, celery = _memory_clients(settings.app_url(), None, cls._asyncio)
            return cls(app, celery, link_options=link_options, **merged)
        make = async_link if cls._asyncio else sync_link
        client = settings.client_options()
        app_link = (
            cluster_link("app", settings.app_url(), link_options, asyncio_=cls._asyncio, **client)
            if settings.cluster
            else make("app", settings.app_url(), link_options, **client)
        )
        links = {
            "app": app_link,
            "celery": make("celery", settings.celery_url(), link_options, **settings.celery_options()),
        }
        return cls(links=links, **merged)._with_health()

    def _with_health(self) -> Self:
        for link in self._distinct_links():
            executor = _executor(link, self._asyncio)
            interval = link.options.health_check_interval
            if self._asyncio:

                async def ping(ex: Any = executor) -> Any:
                    return await ex([("PING",)])

                self._monitors.append(AsyncHealthMonitor(link, ping, interval))
            else:

                def sync_ping(ex: Any = executor) -> Any:
                    return ex([("PING",)])

                self._monitors.append(HealthMonitor(link, sync_ping, interval).start())
        return self

    def _distinct_links(self) -> list[ServerLink]:
        return list({id(link): link for link in self.links.values()}.values())

    def _servers(self) -> tuple[str, ...]:
        return tuple(self.links)

    def same_server(self, a: str, b: str) -> bool:
        """Whether two server names lead to the same Redis (e.g. memory:// without a Celery URL)."""
        return self.links[a] is self.links[b]

    def breakers(self) -> dict[str, Any]:
        """Each server's breaker state (for diagnostics)."""
        return {name: link.breaker.snapshot() for name, link in self.links.items()}


class Mapper(_MapperBase):
    """The synchronous mapper.  ``Mapper.from_url("memory://")`` needs no server."""

    if TYPE_CHECKING:
        # Exact types for type checkers (httpx/redis-py style twins): the methods are written
        # once in _Operations and return what the driver returns; these say what that is.
        def run(self, program: commands.Program[T], *, server: str = "app") -> T: ...
        def stream(self, program: commands.Program[Any], *, server: str = "app") -> Iterator[Any]: ...
        def get(self, model: type[M], **key_values: Any) -> M | None: ...
        def get_or_raise(self, model: type[M], **key_values: Any) -> M: ...
        def get_many(
            self, model: type[M], many: Iterable[Mapping[str, Any]], *, on_error: Any = None
        ) -> list[M | None]: ...
        def exists(self, model: type[KeyspaceModel], **key_values: Any) -> bool: ...
        def ttl(self, model: type[KeyspaceModel], **key_values: Any) -> int | None: ...
        def scan(
            self,
            model: type[M],
            *,
            count: int = 1000,
            dedupe: bool = True,
            on_error: Any = None,
            **filters: Any,
        ) -> Iterator[M]: ...
        def scan_keys(
            self, model: type[KeyspaceModel], *, count: int = 1000, dedupe: bool = True, **filters: Any
        ) -> Iterator[str]: ...
        def save(self, obj: KeyspaceModel) -> None: ...
        def save_many(self, objs: Sequence[KeyspaceModel]) -> None: ...
        def update(self, model: type[KeyspaceModel], **values: Any) -> None: ...
        def delete(self, model: type[KeyspaceModel] | KeyspaceModel, **key_values: Any) -> bool: ...
        def incr(self, model: type[KeyspaceModel], by: int = 1, **key_values: Any) -> int: ...
        def decr(self, model: type[KeyspaceModel], by: int = 1, **key_values: Any) -> int: ...
        def add(self, model: type[KeyspaceModel], *members: Any, **key_values: Any) -> int: ...
        def remove(self, model: type[KeyspaceModel], *members: Any, **key_values: Any) -> int: ...
        def members(self, model: type[KeyspaceModel], **key_values: Any) -> set[Any]: ...
        def contains(self, model: type[KeyspaceModel], member: Any, **key_values: Any) -> bool: ...
        def push(self, model: type[KeyspaceModel], *items: Any, **key_values: Any) -> int: ...
        def length(self, model: type[KeyspaceModel], **key_values: Any) -> int: ...
        def range(
            self, model: type[KeyspaceModel], start: int = 0, stop: int = -1, **key_values: Any
        ) -> list[Any]: ...
        def count(self, model: type[KeyspaceModel], **filters: Any) -> int: ...

    @property
    def clients(self) -> dict[str, redis.Redis]:
        """Plain redis-py clients on the mapper's pools (raw access; no breaker or budgets)."""
        return {name: self._raw.get(name) or _raw_client(link, False) for name, link in self.links.items()}

    def _run(self, spec: ModelSpec | _Target, program: commands.Program[Any]) -> Any:
        try:
            return drive.run(self._executors[spec.server], program)
        except _CONNECTION_ERRORS as exc:
            raise _named(spec, exc) from None
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise _unavailable(spec, exc) from exc

    def _stream(self, spec: ModelSpec | _Target, program: commands.Program[Any]) -> Any:
        try:
            yield from drive.stream(self._executors[spec.server], program)
        except _CONNECTION_ERRORS as exc:
            raise _named(spec, exc) from None
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise _unavailable(spec, exc) from exc

    def close(self) -> None:
        for monitor in self._monitors:
            monitor.stop()
        for link in self._distinct_links():
            for pool in _pools(link):
                pool.disconnect()

    def __enter__(self) -> Mapper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMapper(_MapperBase):
    """The asyncio mapper: the same methods as Mapper, awaited (scan is ``async for``)."""

    _asyncio = True

    if TYPE_CHECKING:
        # Exact types for type checkers (httpx/redis-py style twins): the methods are written
        # once in _Operations and return what the driver returns; these say what that is.
        async def run(self, program: commands.Program[T], *, server: str = "app") -> T: ...
        def stream(self, program: commands.Program[Any], *, server: str = "app") -> AsyncIterator[Any]: ...
        async def get(self, model: type[M], **key_values: Any) -> M | None: ...
        async def get_or_raise(self, model: type[M], **key_values: Any) -> M: ...
        async def get_many(
            self, model: type[M], many: Iterable[Mapping[str, Any]], *, on_error: Any = None
        ) -> list[M | None]: ...
        async def exists(self, model: type[KeyspaceModel], **key_values: Any) -> bool: ...
        async def ttl(self, model: type[KeyspaceModel], **key_values: Any) -> int | None: ...
        def scan(
            self,
            model: type[M],
            *,
            count: int = 1000,
            dedupe: bool = True,
            on_error: Any = None,
            **filters: Any,
        ) -> AsyncIterator[M]: ...
        def scan_keys(
            self, model: type[KeyspaceModel], *, count: int = 1000, dedupe: bool = True, **filters: Any
        ) -> AsyncIterator[str]: ...
        async def save(self, obj: KeyspaceModel) -> None: ...
        async def save_many(self, objs: Sequence[KeyspaceModel]) -> None: ...
        async def update(self, model: type[KeyspaceModel], **values: Any) -> None: ...
        async def delete(self, model: type[KeyspaceModel] | KeyspaceModel, **key_values: Any) -> bool: ...
        async def incr(self, model: type[KeyspaceModel], by: int = 1, **key_values: Any) -> int: ...
        async def decr(self, model: type[KeyspaceModel], by: int = 1, **key_values: Any) -> int: ...
        async def add(self, model: type[KeyspaceModel], *members: Any, **key_values: Any) -> int: ...
        async def remove(self, model: type[KeyspaceModel], *members: Any, **key_values: Any) -> int: ...
        async def members(self, model: type[KeyspaceModel], **key_values: Any) -> set[Any]: ...
        async def contains(self, model: type[KeyspaceModel], member: Any, **key_values: Any) -> bool: ...
        async def push(self, model: type[KeyspaceModel], *items: Any, **key_values: Any) -> int: ...
        async def length(self, model: type[KeyspaceModel], **key_values: Any) -> int: ...
        async def range(
            self, model: type[KeyspaceModel], start: int = 0, stop: int = -1, **key_values: Any
        ) -> list[Any]: ...
        async def count(self, model: type[KeyspaceModel], **filters: Any) -> int: ...

    @property
    def clients(self) -> dict[str, redis.asyncio.Redis]:
        """Plain redis-py asyncio clients on the mapper's pools (raw access)."""
        return {name: self._raw.get(name) or _raw_client(link, True) for name, link in self.links.items()}

    async def _run(self, spec: ModelSpec | _Target, program: commands.Program[Any]) -> Any:
        for monitor in self._monitors:
            monitor.ensure_started()
        try:
            return await drive.arun(self._executors[spec.server], program)
        except _CONNECTION_ERRORS as exc:
            raise _named(spec, exc) from None
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise _unavailable(spec, exc) from exc

    async def _stream(self, spec: ModelSpec | _Target, program: commands.Program[Any]) -> Any:
        try:
            async for item in drive.astream(self._executors[spec.server], program):
                yield item
        except _CONNECTION_ERRORS as exc:
            raise _named(spec, exc) from None
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise _unavailable(spec, exc) from exc

    async def _noop(self) -> Any:
        return None

    async def aclose(self) -> None:
        for monitor in self._monitors:
            await monitor.stop()
        for link in self._distinct_links():
            for pool in _pools(link):
                await pool.disconnect()

    async def __aenter__(self) -> AsyncMapper:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
