"""Shared by the tests/test_migrate_*.py files: test models in their own registry, every stored
form of a secret (built from the application's rules, tests/tradingboost_app.py), and a
sync/asyncio flavour so that each engine test runs on Mapper and on AsyncMapper."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import redis
from cryptography.fernet import Fernet
from pydantic import StringConstraints

from keyspace import (
    AsyncMapper,
    Encrypted,
    HashModel,
    ItemWrites,
    JsonModel,
    Keyring,
    Mapper,
    Masked,
    PerItem,
    Registry,
    Runner,
    SetModel,
    Skip,
    StringModel,
)
from tests.tradingboost_app import app_encrypt

Uid = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{14,19}$")]  # like an OKX uid: 15-20 digits
UserId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class MKeys(HashModel, key="mk:{uid}:keys", ttl=None, envelope="enc_v1:", register=False):
    uid: Uid
    api_key: Encrypted[str] | None = None
    api_secret: Encrypted[str] | None = None
    note: str | None = None


class MDoc(JsonModel, key="md:{uid}:doc", ttl=None, envelope="enc_v1:", register=False):
    uid: int
    token: Encrypted[str]


class MGrid(HashModel, key="mg:{uid}:grid", ttl="keep", register=False):
    uid: int
    api_key: Masked[str] | None = None


class MSession(JsonModel, key="ms:{uid}:session", ttl=86400, register=False):
    uid: int


class MKeep(StringModel, key="mkeep:{uid}", ttl="keep", register=False):
    uid: int
    value: str


class MPersist(StringModel, key="mp:{uid}", ttl=None, register=False):
    uid: int
    value: str


class MStatus(StringModel, key="mu:{user_id}:status", ttl=None, register=False):
    user_id: UserId
    status: str


class MPrefs(HashModel, key="mu:{user_id}:prefs", ttl=None, register=False):
    user_id: UserId
    symbol: str | None = None


class MActive(SetModel, key="mu:{user_id}:active", ttl=None, register=False):
    user_id: UserId
    symbols: set[str] = set()


class MIdMap(StringModel, key="mmap:{tid}:uid", ttl=None, register=False):
    tid: UserId
    uid: str


ALL = (MKeys, MDoc, MGrid, MSession, MKeep, MPersist, MStatus, MPrefs, MActive, MIdMap)


def registry(*models: Any) -> Registry:
    reg = Registry()
    for model in models or ALL:
        reg.add(model.__keyspace__)
    return reg


def migrations_dir(tmp_path: Path, *scripts: tuple[str, str]) -> Path:
    """A migrations folder with the given (file name, source) scripts."""
    folder = tmp_path / "mig"
    folder.mkdir(exist_ok=True)
    for name, source in scripts:
        (folder / name).write_text(source, encoding="utf-8")
    return folder


ENCRYPT_0001 = (
    "0001_encrypt.py",
    "from keyspace import DecryptFields, EncryptFields, Migration\n"
    "MODELS = ['MKeys', 'MDoc', 'MGrid']\n"
    "migration = Migration(id='0001', description='encrypt', operations=[EncryptFields(models=MODELS)],\n"
    "                      down=[DecryptFields(models=MODELS)])\n",
)


def move_reads(key: str, values: Any) -> list[tuple[Any, ...]]:
    user = values["user_id"]
    return [("GET", key), ("EXISTS", f"mu:{user}:active"), ("HGETALL", f"mu:{user}:prefs")]


def move_decide(item: Any) -> ItemWrites | Skip | None:
    status, migrated, prefs = item.replies
    if migrated or status != b"running":
        return None
    symbol = prefs.get(b"symbol")  # raw replies: HGETALL gives a dict of bytes
    if not symbol:
        return Skip("no_symbol", blocking=False)
    user, s = item.values["user_id"], symbol.decode()
    return ItemWrites(
        steps=[
            ("SET", f"mu:{user}:sym:{s}:status", "running"),
            ("HSET", f"mu:{user}:sym:{s}:info", "started", repr(item.now)),
        ],
        done=("SADD", f"mu:{user}:active", s),
        fields=("active",),
    )


PER_ITEM = PerItem("MStatus", reads=move_reads, decide=move_decide, description="per-symbol status")


# --- stored forms, built from the application's rules --------------------------------------------


def current(secret: str, key: str) -> str:
    return app_encrypt(secret, key)  # "enc_v1:" + token (shared/security/encryption.py:101-105)


def bare(secret: str, key: str) -> str:
    return Fernet(key.encode()).encrypt(secret.encode()).decode()  # what keyspace wrote before envelope=


def nested(secret: str, key: str) -> str:
    return app_encrypt(app_encrypt(secret, key), key)  # the writer does not check (encryption.py:94-105)


SUSPICIOUS = {
    "bytes_repr": lambda s, k: "b'" + bare(s, k) + "'",  # str(bytes) of a token
    "leading_space": lambda s, k: " " + current(s, k),  # the reader passes it through as plaintext
    "quoted": lambda s, k: '"' + current(s, k) + '"',
    "in_json": lambda s, k: json.dumps({"api_key": current(s, k)}),
}


def token_time(stored: bytes) -> int:
    """The timestamp inside a (possibly enveloped) token."""
    token = stored[len(b"enc_v1:") :] if stored.startswith(b"enc_v1:") else stored
    return int.from_bytes(base64.urlsafe_b64decode(token)[1:9], "big")  # version byte, then the time


def snapshot(client: redis.Redis) -> dict[bytes, Any]:
    """Every key's type, DUMP and whether it expires (the keyspace's state, to prove nothing changed)."""
    return {
        k: (client.type(k), client.dump(k), client.ttl(k) >= 0)
        for k in sorted(client.scan_iter(count=1000))
        if not k.startswith(b"keyspace:")
    }


# --- both flavours ----------------------------------------------------------------------------------


@dataclass
class Flavour:
    """Makes mappers of one flavour on a server and turns results into values (awaiting on asyncio)."""

    name: str
    url: str
    loop: asyncio.AbstractEventLoop | None = None
    made: list[Any] = field(default_factory=list)

    def mapper(self, keyring: Keyring | None = None) -> Any:
        cls = AsyncMapper if self.loop else Mapper
        mapper = cls.from_url(self.url, keyring=keyring)
        self.made.append(mapper)
        return mapper

    def runner(self, keyring: Keyring | None, **options: Any) -> Runner:
        return Runner(self.mapper(keyring), **options)

    def do(self, result: Any) -> Any:
        """The value of a runner call (awaited when the runner wraps an AsyncMapper)."""
        if self.loop is None:
            return result
        assert asyncio.iscoroutine(result), "an AsyncMapper runner returns awaitables"
        return self.loop.run_until_complete(result)

    def call(self, fn: Callable[[], Any]) -> Any:
        return self.do(fn())

    def close(self) -> None:
        for mapper in self.made:
            if self.loop is None:
                mapper.close()
            else:
                self.loop.run_until_complete(mapper.aclose())
        if self.loop is not None:
            self.loop.close()


def raw_client(url: str) -> Iterator[redis.Redis]:
    """A plain client on the test server, flushed before and after (for a ``raw`` fixture)."""
    client = redis.Redis.from_url(url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


def flavours(name: str, url: str) -> Iterator[Flavour]:
    """Sync or asyncio (for a ``flavour`` fixture parametrized over both)."""
    found = Flavour(name, url, asyncio.new_event_loop() if name == "asyncio" else None)
    yield found
    found.close()
