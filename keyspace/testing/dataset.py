"""A realistic legacy TradingBoost dataset, for the demo, the examples, tests and benchmarks.

It writes what production looks like today: N users with API keys (a chosen
share still in plaintext, the rest Fernet tokens), trading statuses (some
under the Telegram alternate key), positions with DCA counters and entry
prices, preferences, settings, stats, sessions with a 1-day TTL, grid
settings and user-id sets, a Celery queue and task results on the Celery
server — and a few deliberately bad keys.  Values are written with raw
commands, as the old application wrote them (the mapper would encrypt).
All ids are made up; the generator is deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from keyspace.core.crypto import Keyring, generate_key

SYMBOLS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP")
EXCHANGES = ("okx", "binance")
OKX_BASE = 500_000_000_000_000_000
TELEGRAM_BASE = 100_000_000


def okx_uid(i: int) -> str:
    return str(OKX_BASE + i)


def telegram_id(i: int) -> str:
    return str(TELEGRAM_BASE + i)


@dataclass
class Dataset:
    """What was written: counts per model, the plaintext secrets, the bad keys."""

    users: int
    counts: dict[str, int] = field(default_factory=dict)
    plaintext_keys: list[str] = field(default_factory=list)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> field -> plaintext
    bad_keys: dict[str, str] = field(default_factory=dict)  # key -> what is wrong

    def add(self, model: str, n: int = 1) -> None:
        self.counts[model] = self.counts.get(model, 0) + n


def seed(
    app: Any,
    celery: Any | None = None,
    *,
    users: int = 20,
    plaintext_share: float = 0.3,
    keyring: Keyring | None = None,
    bad_keys: bool = True,
    seed_value: int = 7,
    batch: int = 2000,
) -> Dataset:
    """Write the dataset with redis-py clients ``app`` and ``celery`` (pipelined)."""
    rng = random.Random(seed_value)
    data = Dataset(users=users)
    pipe = app.pipeline(transaction=False)
    pending = 0

    def flush(force: bool = False) -> None:
        nonlocal pending
        if pending and (force or pending >= batch):
            pipe.execute()
            pending = 0

    for i in range(1, users + 1):
        uid = okx_uid(i)
        key = f"user:{uid}:api:keys"
        secrets = {
            "api_key": f"{rng.getrandbits(128):032x}",
            "api_secret": f"{rng.getrandbits(128):032X}",
            "passphrase": f"Pass-{rng.getrandbits(32):08x}",
        }
        plain = keyring is None or rng.random() < plaintext_share
        stored = (
            secrets
            if keyring is None or plain
            else {f: keyring.encrypt(v.encode()).decode() for f, v in secrets.items()}
        )
        pipe.hset(key, mapping=stored)
        data.secrets[key] = secrets
        if plain:
            data.plaintext_keys.append(key)
        data.add("UserApiKeys")

        status = rng.choice(("running", "running", "stopped", "error"))
        pipe.set(f"user:{uid}:trading:status", status)
        data.add("TradingStatus")
        if i % 5 == 0:
            pipe.set(f"user:{telegram_id(i)}:trading:status", status)
            data.add("TradingStatus")

        for symbol in SYMBOLS[: 1 + i % 2]:
            side = rng.choice(("long", "short"))
            base = f"user:{uid}:position:{symbol}"
            price = round(rng.uniform(10, 70000), 2)
            pipe.hset(
                f"{base}:{side}",
                mapping={
                    "size": str(round(rng.uniform(0.01, 5), 3)),
                    "entry_price": str(price),
                    "leverage": str(rng.choice((3, 5, 10, 20))),
                    "created_by": "bot-v1",  # a field the model does not declare
                },
            )
            pipe.set(f"{base}:{side}:dca_count", rng.randint(0, 5))
            pipe.set(f"{base}:{side}:entry_price", str(price))
            pipe.set(f"{base}:position_state", rng.choice(("open", "closing")))
            data.add("Position")
            data.add("DcaCount")
            data.add("EntryPrice")
            data.add("PositionState")

        pipe.hset(f"user:{uid}:preferences", mapping={"language": rng.choice(("ko", "en")), "alerts": "on"})
        pipe.set(
            f"user:{uid}:settings",
            json.dumps({"leverage": 10, "symbols": list(SYMBOLS[:2]), "risk": {"max_dca": 5}}),
        )
        pipe.hset(f"user:{uid}:stats", mapping={"total_trades": rng.randint(0, 900), "win_rate": "0.54"})
        pipe.set(f"user:{uid}:session", json.dumps({"chat": telegram_id(i), "step": "idle"}), ex=86400)
        data.add("UserPreferences")
        data.add("UserSettings")
        data.add("UserStats")
        data.add("UserSession")
        pending += 12
        flush()

    for exchange in EXCHANGES:
        pipe.hset(f"{exchange}:default_settings", mapping={"grid_num": "20", "leverage": "5"})
        ids = [okx_uid(i) for i in range(1, users + 1) if i % len(EXCHANGES) == EXCHANGES.index(exchange)]
        if ids:
            pipe.sadd(f"{exchange}:user_ids", *ids)
            data.add("GridUserIds")
            for uid in ids[:10]:
                pipe.hset(f"{exchange}:user:{uid}:grid_levels", mapping={"1": "100.5", "2": "101.0"})
                data.add("GridUserData")
        data.add("GridDefaultSettings")
    flush(force=True)

    if celery is not None:
        cpipe = celery.pipeline(transaction=False)
        for n in range(3):
            cpipe.rpush(
                "celery", json.dumps({"headers": {"task": "tasks.check", "id": f"queued-{n}"}, "body": ""})
            )
        data.add("CeleryQueue")
        for n in range(5):
            task = f"{rng.getrandbits(64):016x}-{n}"
            doc = {
                "status": "SUCCESS",
                "result": n,
                "traceback": None,
                "children": [],
                "task_id": task,
                "date_done": "2025-11-01T00:00:00",
            }
            cpipe.set(f"celery-task-meta-{task}", json.dumps(doc), ex=3600)
            data.add("CeleryTaskMeta")
        cpipe.execute()

    if bad_keys:
        wrong = f"user:{okx_uid(users + 1)}:api:keys"
        app.set(wrong, "not-a-hash")
        data.bad_keys[wrong] = "wrong type (string instead of hash)"
        corrupt = f"user:{okx_uid(users + 2)}:settings"
        app.set(corrupt, '{"leverage": 10,')
        data.bad_keys[corrupt] = "corrupt JSON"
        foreign = f"user:{okx_uid(users + 3)}:api:keys"
        other = Keyring(generate_key())
        token = other.encrypt(b"secret-under-a-key-we-do-not-have").decode()
        app.hset(foreign, mapping={"api_key": token, "api_secret": token, "passphrase": token})
        data.bad_keys[foreign] = "token under an unknown key"
    return data
