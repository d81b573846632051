"""Shared by the stats / doctor / show / backup tests: a small schema of its own, mappers on the real
server (the session's private redis-server: DB 0 = app, DB 1 = celery), and a stored-form writer.

The stored forms follow TradingBoost's application (research notes /tmp/research/secrets.md):
``"enc_v1:" + Fernet token`` is the encrypted form (``shared/security/encryption.py:45``, ``:101-105``),
a value without the prefix is read as plaintext (``:141-146``), GRID keeps its secrets in plaintext
by policy (``GRID/database/redis_database.py:918-945``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
import redis
from pydantic import ConfigDict, StringConstraints

from keyspace import (
    AsyncMapper,
    Encrypted,
    HashModel,
    JsonModel,
    Keyring,
    Mapper,
    Masked,
    Registry,
    StringModel,
    generate_key,
)
from keyspace.core.crypto import Verdict

Uid = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{17,18}$")]  # an OKX uid: 18-19 digits
UID = "500000000000000001"
UID2 = "500000000000000002"


class Keys(HashModel, key="t:user:{uid}:api:keys", ttl=None, envelope="enc_v1:", register=False):
    uid: Uid
    api_key: Encrypted[str]
    api_secret: Encrypted[str]


class GridUser(HashModel, key="t:{exchange}:user:{user_id}", ttl=None, register=False):
    exchange: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,10}$")]
    user_id: Uid
    api_key: Masked[str] | None = None
    password: Masked[str] | None = None


class Settings(JsonModel, key="t:user:{uid}:settings", ttl=None, register=False):
    model_config = ConfigDict(extra="allow")
    uid: Uid


class Profile(JsonModel, key="t:user:{uid}:profile", ttl=None, envelope="enc_v1:", register=False):
    uid: Uid
    token: Encrypted[str] | None = None
    name: str = ""


class Session(StringModel, key="t:user:{uid}:session", ttl=3600, register=False):
    uid: Uid
    data: str


MODELS = (Keys, GridUser, Settings, Profile, Session)


def registry() -> Registry:
    reg = Registry()
    for model in MODELS:
        reg.add(model.__keyspace__)
    return reg


def seal(keyring: Keyring, text: str) -> bytes:
    """The application's writer: ``enc_v1:`` + Fernet token (``shared/security/encryption.py:101-105``)."""
    return keyring.seal(text.encode(), "enc_v1:")


def deep_json(size: int = 200_000) -> str:
    """A ~200 KB JSON document nested far deeper than any parser's recursion limit."""
    depth = size // 6
    return '{"a":' * depth + "1" + "}" * depth


class CountingKeyring(Keyring):
    """A keyring that counts how often a stored value is classified (each one decrypts)."""

    __slots__ = ("calls",)

    def __init__(self, current: str, old: tuple[str, ...] = ()) -> None:
        super().__init__(current, old)
        self.calls = 0

    def classify(self, stored: bytes, envelope: bytes | str = b"") -> Verdict:
        self.calls += 1
        return super().classify(stored, envelope)


@pytest.fixture
def server_url(redis_url: str) -> Iterator[str]:
    """The real server, both DBs flushed."""
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    yield redis_url


def celery_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/1"


def sync_mapper(url: str, keyring: Keyring | None) -> Mapper:
    return Mapper.from_url(url, celery_url=celery_url(url), keyring=keyring)


def async_mapper(url: str, keyring: Keyring | None) -> AsyncMapper:
    return AsyncMapper.from_url(url, celery_url=celery_url(url), keyring=keyring)


def new_keyring() -> Keyring:
    return Keyring(generate_key())
