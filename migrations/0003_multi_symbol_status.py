"""Move users of the legacy single trading status to the per-symbol layout, as the application's script did.

The application's own ``HYPERRSI/scripts/migrate_to_multi_symbol.py`` (status_ids_settings §3):
for every ``user:{id}:trading:status`` that is exactly ``running`` (``:83-115``), unless
``user:{id}:active_symbols`` exists (``:118-125``), read ``preferences.symbol`` /
``preferences.timeframe`` (default ``1m``, ``:156``) and the user-level ``task_id``, then
write the symbol's ``status`` (``running``), ``timeframe``, ``started_at`` (epoch seconds,
``str(float)``, here the server's clock) and ``task_id`` (if any), and add the symbol to
``active_symbols`` (``:193-218``).  Stopped, error and absent statuses get nothing; the
legacy keys are kept.  The id is the legacy key's own (an OKX uid or a Telegram id), as
the script kept it.

``active_symbols`` is written *last*, after every other key of the user was acknowledged:
it is the "done" marker (the keys live in different cluster slots, so no single command
can write them together), and a run stopped half-way redoes the user.  A user without a
preferred symbol (or with one no key can hold) is counted under ``ignored`` and left alone,
as the script did.  Running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from keyspace import Item, ItemWrites, Migration, PerItem, Skip
from models.types import Symbol

DEFAULT_TIMEFRAME = "1m"  # HYPERRSI/scripts/migrate_to_multi_symbol.py:156
_SYMBOL: TypeAdapter[str] = TypeAdapter(Symbol)

Command = tuple[str, ...]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _pairs(reply: Any) -> dict[str, str]:
    items = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
    return {_text(k) or "": _text(v) or "" for k, v in items} if reply else {}


def _user(values: Mapping[str, str]) -> str:
    return values.get("okx_uid") or values["telegram_id"]


def reads(key: str, values: Mapping[str, str]) -> Sequence[Command]:
    user = _user(values)
    return [
        ("GET", key),
        ("EXISTS", f"user:{user}:active_symbols"),
        ("HGETALL", f"user:{user}:preferences"),
        ("GET", f"user:{user}:task_id"),
    ]


def decide(item: Item) -> ItemWrites | Skip | None:
    """Pure: the writes for one legacy status (steps, then the done marker), a skip, or None."""
    status, migrated, preferences, task_id = item.replies
    if _text(status) != "running" or migrated:
        return None  # stopped users get nothing; a user with active_symbols is done
    prefs = _pairs(preferences)
    symbol = prefs.get("symbol")
    if not symbol:
        return Skip("no_symbol", blocking=False)
    try:
        _SYMBOL.validate_python(symbol)
    except ValidationError:
        return Skip("bad_symbol", blocking=False)
    user = _user(item.values)
    base = f"user:{user}:symbol:{symbol}"
    steps: list[Command] = [
        ("SET", f"{base}:status", "running"),
        ("SET", f"{base}:timeframe", prefs.get("timeframe") or DEFAULT_TIMEFRAME),
        ("SET", f"{base}:started_at", str(item.now)),
    ]
    task = _text(task_id)
    if task:
        steps.append(("SET", f"{base}:task_id", task))
    return ItemWrites(
        steps=steps, done=("SADD", f"user:{user}:active_symbols", symbol), fields=("active_symbols",)
    )


migration = Migration(
    id="0003",
    description="move running users of the legacy global status to the per-symbol layout",
    depends_on=("0002",),
    operations=[
        PerItem("TradingStatus", reads=reads, decide=decide, description="legacy status -> per-symbol keys")
    ],
)
