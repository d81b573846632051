"""Fixtures: a private redis-server (never the machine's own), and mappers on both backends.

Every contract test runs twice: on the in-memory server (fakeredis) and on a
real redis-server started for this test session on a free port.  Set
KEYSPACE_TEST_REDIS_URL to run against a server of your own instead (it is
flushed between tests, so never point it at data you need).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from keyspace import AsyncMapper, Keyring, Mapper, generate_key
from keyspace.io.clients import sync_client
from keyspace.testing.server import running_cluster, running_server
from tests.async_facade import SyncFacade

TEST_KEY = generate_key()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The TradingBoost schema and migrations of this repository, wherever a test runs from
# (keyspace finds an application by configuration: see keyspace/io/project.py).
os.environ.setdefault("KEYSPACE_PROJECT", ROOT)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    external = os.environ.get("KEYSPACE_TEST_REDIS_URL")
    if external:
        yield external
        return
    with running_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A real 3-primary, 3-replica cluster, started once for the session."""
    with running_cluster() as cluster:
        yield cluster.url


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring(TEST_KEY)


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "cluster":
        url: str = request.getfixturevalue("cluster_url")
        client = redis.RedisCluster.from_url(url)
        client.flushall()
        client.close()
        return "cluster+" + url
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        client = redis.Redis.from_url(url)
        client.flushall()
        client.close()
        return url
    return "memory://"


@pytest.fixture(params=["sync", "asyncio"])
def mapper(request: pytest.FixtureRequest, backend: str, keyring: Keyring) -> Iterator[Mapper]:
    """Mapper, and AsyncMapper behind a blocking facade: the whole contract suite runs on both."""
    if request.param == "asyncio":
        yield from _async_facade(backend, keyring)  # type: ignore[misc]
        return
    if backend.startswith("cluster+"):
        with Mapper.from_url(backend[8:], cluster=True, keyring=keyring) as m:
            yield m
        return
    celery = None if backend.startswith("memory") else backend.rsplit("/", 1)[0] + "/1"
    with Mapper.from_url(backend, celery_url=celery, keyring=keyring) as m:
        yield m


def _async_facade(backend: str, keyring: Keyring) -> Iterator[SyncFacade]:
    loop = asyncio.new_event_loop()
    if backend.startswith("cluster+"):
        url = backend[8:]
        amapper = AsyncMapper.from_url(url, cluster=True, keyring=keyring)
        raw: redis.Redis = redis.RedisCluster.from_url(url)  # type: ignore[assignment]
        clients = {"app": raw, "celery": raw}
    elif backend.startswith("memory"):
        name = f"memory://facade-{uuid.uuid4().hex}"  # shared by name: the sync raw client sees it
        amapper = AsyncMapper.from_url(name, keyring=keyring)
        clients = {"app": sync_client(name), "celery": sync_client(name + "/1")}
    else:
        celery = backend.rsplit("/", 1)[0] + "/1"
        amapper = AsyncMapper.from_url(backend, celery_url=celery, keyring=keyring)
        clients = {"app": redis.Redis.from_url(backend), "celery": redis.Redis.from_url(celery)}
    with SyncFacade(amapper, loop, clients) as facade:
        yield facade


@pytest.fixture
def raw(mapper: Mapper) -> redis.Redis:
    """A plain redis-py client on the mapper's app server, to check what is really stored."""
    return mapper.clients["app"]


@pytest.fixture
async def amapper(backend: str, keyring: Keyring) -> AsyncIterator[AsyncMapper]:
    if backend.startswith("cluster+"):
        async with AsyncMapper.from_url(backend[8:], cluster=True, keyring=keyring) as m:
            yield m
        return
    celery = None if backend.startswith("memory") else backend.rsplit("/", 1)[0] + "/1"
    async with AsyncMapper.from_url(backend, celery_url=celery, keyring=keyring) as m:
        yield m
