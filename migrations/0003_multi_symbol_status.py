"""Move users of the legacy single trading status to the per-symbol layout, as the application's script did.

The application's own ``HYPERRSI/scripts/migrate_to_multi_symbol.py`` (status_ids_settings §3):
for every ``user:{id}:trading:status`` that is exactly ``running`` (``:83-115``), unless
``user:{id}:active_symbols`` exists (``:118-125``), read ``preferences.symbol`` /
``preferences.timeframe`` (default ``1m``, ``:156``) and the user-level ``task_id``, then
write the symbol's ``status`` (``running``), ``timeframe``, ``started_at`` (epoch seconds,
``str(float)``) and ``task_id`` (if any), and add the symbol to ``active_symbols``
(``:193-218``).  Stopped, error and absent statuses get nothing; the legacy keys are kept.

Here ``active_symbols`` is written *last*, after every other key of the user was
acknowledged: it is the "done" marker (the keys live in different cluster slots, so no
single command can write them together), and a run stopped half-way redoes the user.
A user without a preferred symbol is counted (``ignored: no_symbol``) and left alone,
as the script did.  Running it again changes nothing.

It uses the engine's per-item operation when the installed keyspace has it, else a
``Hook`` over the public mapper API (same decisions, one user at a time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from keyspace import Hook, Migration

DEFAULT_TIMEFRAME = "1m"  # HYPERRSI/scripts/migrate_to_multi_symbol.py:156
_SYMBOL = re.compile(r"[A-Z0-9]{1,20}(-[A-Z0-9]{1,20}){0,3}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _user(values: Mapping[str, str]) -> str:
    return values.get("okx_uid") or values["telegram_id"]


def plan(
    user: str, status: str | None, migrated: bool, prefs: Mapping[str, str], task_id: str | None, now: float
) -> tuple[list[tuple[str, ...]], tuple[str, ...]] | str | None:
    """Pure: the writes for one legacy status (steps, then the done marker), a reason to skip, or None."""
    if status != "running" or migrated:
        return None
    symbol = prefs.get("symbol")
    if not symbol:
        return "no_symbol"
    if not _SYMBOL.fullmatch(symbol):  # models.types.Symbol: what a key segment can hold
        return "bad_symbol"
    base = f"user:{user}:symbol:{symbol}"
    steps: list[tuple[str, ...]] = [
        ("SET", f"{base}:status", "running"),
        ("SET", f"{base}:timeframe", prefs.get("timeframe") or DEFAULT_TIMEFRAME),
        ("SET", f"{base}:started_at", str(now)),
    ]
    if task_id:
        steps.append(("SET", f"{base}:task_id", task_id))
    return steps, ("SADD", f"user:{user}:active_symbols", symbol)


def _reads(key: str, values: Mapping[str, str]) -> Sequence[tuple[str, ...]]:
    user = _user(values)
    return [
        ("GET", key),
        ("EXISTS", f"user:{user}:active_symbols"),
        ("HGETALL", f"user:{user}:preferences"),
        ("GET", f"user:{user}:task_id"),
    ]


def _pairs(reply: Any) -> dict[str, str]:
    if isinstance(reply, dict):
        items = reply.items()
    else:
        items = zip(reply[::2], reply[1::2], strict=True) if reply else ()
    return {_text(k) or "": _text(v) or "" for k, v in items}


def _operations() -> list[Any]:
    try:
        from keyspace.ops.migrate.operations import ItemWrites, PerItem, Skip
    except ImportError:
        return [Hook(_hook, "move running legacy statuses to per-symbol keys (mapper API)")]

    def decide(item: Any) -> Any:
        status, migrated, prefs, task_id = item.replies
        found = plan(
            _user(item.values), _text(status), bool(migrated), _pairs(prefs), _text(task_id), item.now
        )
        if found is None:
            return None
        if isinstance(found, str):
            return Skip(found, blocking=False)
        steps, done = found
        return ItemWrites(steps=steps, done=done, fields=("active_symbols",))

    return [
        PerItem(
            "TradingStatus",
            reads=_reads,
            decide=decide,
            description="move running legacy statuses to per-symbol keys",
        )
    ]


def _hook(mapper: Any, report: Any) -> None:
    """The same decisions through the public mapper API, one legacy status at a time."""
    import time
    from datetime import UTC, datetime

    import models as m

    for legacy in mapper.scan(m.TradingStatus):
        user = legacy.okx_uid or legacy.telegram_id
        prefs = mapper.get(m.UserPreferences, user_id=user)
        task = mapper.get(m.UserTaskId, user_id=user)
        now = time.time()
        wanted = {"symbol": prefs.symbol or "", "timeframe": prefs.timeframe or ""} if prefs else {}
        found = plan(
            user,
            legacy.status,
            bool(mapper.exists(m.ActiveSymbols, user_id=user)),
            wanted,
            task.task_id if task else None,
            now,
        )
        if found is None:
            report.already += 1
            continue
        if isinstance(found, str):
            report.ignored[found] += 1
            continue
        steps, done = found
        symbol, keys = done[2], {"user_id": user, "symbol": done[2]}
        mapper.save(m.SymbolStatus(**keys, status="running"))
        mapper.save(m.SymbolTimeframe(**keys, timeframe=steps[1][2]))
        mapper.save(m.SymbolStartedAt(**keys, started_at=datetime.fromtimestamp(now, UTC)))
        if task:
            mapper.save(m.SymbolTaskId(**keys, task_id=task.task_id))
        mapper.add(m.ActiveSymbols, symbol, user_id=user)  # the done marker, last
        report.changed += 1


migration = Migration(
    id="0003",
    description="move running users of the legacy global status to the per-symbol layout",
    depends_on=("0002",),
    operations=_operations(),
)
