"""TradingBoost's per-user checks for ``keyspace doctor --okx-uid ID`` (an OKX uid or a Telegram id).

What the live application needs for one user to trade (HEAD e61934e):

* **the id maps** ``user:{telegram_id}:okx_uid`` and ``okx_uid_to_telegram:{okx_uid}``: how every
  route turns a Telegram id into the OKX uid its keys live under
  (``shared/helpers/user_id_resolver.py:193-233``, reverse lookup ``:63-162``);
* **API keys** under the OKX uid, or under the Telegram id when no map exists
  (``HYPERRSI/src/api/dependencies.py:57-85``, ``:397``): present, decryptable, in which stored form;
* **per-symbol state**: the beat scheduler starts a cycle for every member of
  ``user:{okx_uid}:active_symbols`` that has a ``…:symbol:{symbol}:timeframe``; it never reads
  ``…:status``, and each cycle writes ``running`` again (``HYPERRSI/src/tasks/trading_tasks.py:541-620``,
  ``HYPERRSI/src/trading/execute_trading_logic.py:166-169``).
  The global ``user:{okx_uid}:trading:status`` is legacy (replaced per symbol in d0acc17) and not checked;
* **positions** ``user:{okx_uid}:position:{symbol}:{side}``.

Models are looked up by name in the registry, so a family the schema does not declare is reported
as not checked rather than breaking the doctor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from keyspace.core.programs import Program
from keyspace.ops.doctor import Check, UserContext, user_check
from keyspace.ops.record import RecordRead

SETAPI = "register the API keys again in the Telegram bot (/setapi)"


@dataclass
class Ids:
    """The ids of one user as the application would resolve them, and what the maps say."""

    okx_uid: str | None = None
    telegram_id: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def keyed(self) -> list[str]:
        """The ids ``user:{id}:…`` keys may live under: the OKX uid first, then the Telegram id."""
        return [i for i in (self.okx_uid, self.telegram_id) if i]


def _value(read: RecordRead, name: str) -> str | None:
    if read.instance is None:
        return None
    value = getattr(read.instance, name, None)
    return None if value is None else str(value)


def resolve_ids(ctx: UserContext) -> Program[Ids]:
    """Follow both id maps from the given id and report whether they agree."""
    forward, reverse = ctx.model("TelegramOkxUid"), ctx.model("OkxUidToTelegram")
    ids = Ids()
    if forward is None or reverse is None:
        ids.checks.append(ctx.missing("id map", "TelegramOkxUid", "OkxUidToTelegram"))
        ids.okx_uid = ctx.user if reverse is not None and ctx.accepts(reverse, okx_uid=ctx.user) else None
        ids.telegram_id = None if ids.okx_uid else ctx.user
        return ids
    user = ctx.user
    if ctx.accepts(reverse, okx_uid=user):
        ids.okx_uid = user
        back = yield from ctx.read(reverse, okx_uid=user)
        ids.telegram_id = _value(back, "telegram_id")
        if ids.telegram_id is None:
            ids.checks.append(
                Check(
                    "id map",
                    "warn",
                    f"okx_uid_to_telegram:{user} is missing: no Telegram id is mapped to this OKX uid "
                    "(the application then SCANs user:*:okx_uid to find one)",
                    "have the user run /register in the bot, or store both maps",
                )
            )
            return ids
        if not ctx.accepts(forward, telegram_id=ids.telegram_id):
            ids.checks.append(
                Check(
                    "id map",
                    "fail",
                    f"okx_uid_to_telegram:{user} holds {ids.telegram_id!r}, not a Telegram id",
                    "store the user's Telegram id there (the application deletes an invalid one)",
                )
            )
            ids.telegram_id = None
            return ids
        there = yield from ctx.read(forward, telegram_id=ids.telegram_id)
        ids.checks.append(_agree(ids.telegram_id, user, _value(there, "okx_uid")))
        return ids
    if ctx.accepts(forward, telegram_id=user):
        ids.telegram_id = user
        there = yield from ctx.read(forward, telegram_id=user)
        ids.okx_uid = _value(there, "okx_uid")
        if ids.okx_uid is None:
            ids.checks.append(
                Check(
                    "id map",
                    "warn",
                    f"user:{user}:okx_uid is missing: this Telegram id resolves to no OKX uid, so the "
                    f"application keeps using user:{user}:… keys",
                    "have the user register the API keys in the bot (it stores the map)",
                )
            )
            return ids
        if not ctx.accepts(reverse, okx_uid=ids.okx_uid):
            ids.checks.append(
                Check(
                    "id map",
                    "fail",
                    f"user:{user}:okx_uid holds {ids.okx_uid!r}, not an OKX uid (18-19 digits)",
                    "store the user's OKX uid there (the bot's /start accepts any number)",
                )
            )
            ids.okx_uid = None
            return ids
        back = yield from ctx.read(reverse, okx_uid=ids.okx_uid)
        ids.checks.append(_agree(user, ids.okx_uid, _value(back, "telegram_id"), reverse_missing_ok=True))
        return ids
    ids.checks.append(
        Check(
            "id map",
            "fail",
            f"{user!r} is neither an OKX uid (18-19 digits) nor a Telegram id (9-15 digits)",
            "give the user's OKX uid or Telegram id",
        )
    )
    return ids


def _agree(telegram_id: str, okx_uid: str, other: str | None, *, reverse_missing_ok: bool = False) -> Check:
    if other is None and reverse_missing_ok:
        return Check(
            "id map",
            "warn",
            f"user:{telegram_id}:okx_uid → {okx_uid}, but okx_uid_to_telegram:{okx_uid} is missing",
            "store the reverse map too (the application falls back to a SCAN of user:*:okx_uid)",
        )
    if other in (okx_uid, telegram_id):
        return Check("id map", "ok", f"Telegram id {telegram_id} ↔ OKX uid {okx_uid} (both maps agree)")
    return Check(
        "id map",
        "fail",
        f"the maps disagree: user:{telegram_id}:okx_uid and okx_uid_to_telegram:{okx_uid} do not "
        f"point at each other (found {other!r})",
        "store both maps for the account the user trades with",
    )


@user_check("id map")
def id_map(ctx: UserContext) -> Program[Iterable[Check]]:
    ids = yield from resolve_ids(ctx)
    return ids.checks


def _forms_text(read: RecordRead) -> str:
    return ", ".join(f"{name} {form.split(':', 1)[1]}" for name, form in sorted(read.forms.items()))


@user_check("API keys")
def api_keys(ctx: UserContext) -> Program[Iterable[Check]]:
    spec = ctx.model("UserApiKeys")
    if spec is None:
        return [ctx.missing("API keys", "UserApiKeys")]
    ids = yield from resolve_ids(ctx)
    reads = []
    for user_id in ids.keyed:
        if ctx.accepts(spec, user_id=user_id):
            reads.append((yield from ctx.read(spec, user_id=user_id)))
    present = [r for r in reads if r.exists]
    where = " or ".join(f"user:{i}:api:keys" for i in ids.keyed) or f"user:{ctx.user}:api:keys"
    if not present:
        return [Check("API keys", "fail", f"not found under {where}", SETAPI)]
    out = []
    for read in present:
        forms = {f.split(":", 1)[1] for f in read.forms.values()}
        detail = f"{read.key}: {_forms_text(read)}" + (f"; {read.error}" if read.error else "")
        if forms & {"undecryptable", "suspicious"}:
            out.append(
                Check(
                    "API keys",
                    "fail",
                    f"present but not readable ({detail})",
                    f"{SETAPI}, or add the key they were written with to ENCRYPTION_OLD_KEYS",
                    [read.key],
                )
            )
        elif read.problem:
            out.append(
                Check("API keys", "fail", f"present but cannot be read ({detail})", SETAPI, [read.key])
            )
        elif ctx.keyring is None:
            out.append(
                Check(
                    "API keys",
                    "warn",
                    f"present ({detail}); tokens not verified: ENCRYPTION_KEY is not set",
                    "run the doctor with the application's ENCRYPTION_KEY",
                    [read.key],
                )
            )
        elif forms & {"plaintext", "bare", "nested", "old"}:
            out.append(
                Check(
                    "API keys",
                    "warn",
                    f"present and readable, not yet in the declared form ({detail})",
                    "`keyspace migrate up` (`keyspace rotate-keys` for old), then `keyspace migrate verify`",
                    [read.key],
                )
            )
        else:
            out.append(Check("API keys", "ok", f"present and decryptable ({detail})"))
    return out


@user_check("trading")
def trading(ctx: UserContext) -> Program[Iterable[Check]]:
    active_spec, status_spec = ctx.model("ActiveSymbols"), ctx.model("SymbolStatus")
    timeframe_spec = ctx.model("SymbolTimeframe")
    if active_spec is None or status_spec is None or timeframe_spec is None:
        return [ctx.missing("trading", "ActiveSymbols", "SymbolStatus", "SymbolTimeframe")]
    ids = yield from resolve_ids(ctx)
    out: list[Check] = []
    for user_id in ids.keyed:
        if not ctx.accepts(active_spec, user_id=user_id):
            continue
        active = yield from ctx.read(active_spec, user_id=user_id)
        if active.problem in ("wrong_type", "corrupt"):
            out.append(
                Check("trading", "fail", f"{active.key} cannot be read: {active.error}", keys=[active.key])
            )
            continue
        symbols = sorted(getattr(active.instance, "symbols", None) or []) if active.instance else []
        statuses = yield from ctx.keys(status_spec, user_id=user_id)
        with_status = {p.values["symbol"] for p in statuses if p.values}
        for symbol in symbols:
            out.append((yield from _symbol_check(ctx, user_id, symbol)))
        stale = sorted(with_status - set(symbols))
        for symbol in stale:
            status = yield from ctx.read(status_spec, user_id=user_id, symbol=symbol)
            value = _value(status, "status")
            if value == "running":
                out.append(
                    Check(
                        f"trading {symbol}",
                        "warn",
                        f"user:{user_id}:symbol:{symbol}:status says running, but {symbol} is not in "
                        f"user:{user_id}:active_symbols: nothing schedules it (a stale status)",
                        "start the symbol again in the bot, or delete the stale status key",
                        [status.key],
                    )
                )
        if not symbols and user_id == ids.keyed[0]:
            out.append(
                Check(
                    "trading",
                    "ok",
                    f"not trading: user:{user_id}:active_symbols is "
                    + ("empty" if active.exists else "missing"),
                )
            )
    if not out:
        out.append(Check("trading", "warn", f"not checked: no usable id for {ctx.user!r}"))
    return out


def _symbol_check(ctx: UserContext, user_id: str, symbol: str) -> Program[Check]:
    status_spec, timeframe_spec = ctx.model("SymbolStatus"), ctx.model("SymbolTimeframe")
    assert status_spec is not None and timeframe_spec is not None
    name = f"trading {symbol}"
    if not ctx.accepts(status_spec, user_id=user_id, symbol=symbol):
        return Check(
            name,
            "fail",
            f"user:{user_id}:active_symbols holds {symbol!r}, which is not a symbol a key can hold",
            "remove it from the set (SREM) and start the symbol again",
        )
    timeframe = yield from ctx.read(timeframe_spec, user_id=user_id, symbol=symbol)
    status = yield from ctx.read(status_spec, user_id=user_id, symbol=symbol)
    keys = [timeframe.key, status.key]
    if timeframe.problem in ("wrong_type", "corrupt") or status.problem in ("wrong_type", "corrupt"):
        bad = timeframe if timeframe.problem else status
        return Check(
            name, "fail", f"{bad.key} cannot be read: {bad.error}", "inspect with `keyspace show`", keys
        )
    tf, state = _value(timeframe, "timeframe"), _value(status, "status")
    if tf is None:
        return Check(
            name,
            "fail",
            f"active, but user:{user_id}:symbol:{symbol}:timeframe is missing: the scheduler skips it",
            "start the symbol again in the bot (it stores the timeframe)",
            keys,
        )
    if state == "running":
        return Check(name, "ok", f"active, timeframe {tf}, status running")
    return Check(
        name,
        "warn",
        f"active, timeframe {tf}, status {state or 'missing'}: the scheduler still runs it (each cycle "
        "writes running); a recent error or stop left this status",
        "check the worker's log for this symbol; stop it in the bot if it should not trade",
        keys,
    )


@user_check("positions")
def positions(ctx: UserContext) -> Program[Iterable[Check]]:
    spec = ctx.model("Position")
    if spec is None:
        return [ctx.missing("positions", "Position")]
    ids = yield from resolve_ids(ctx)
    out: list[Check] = []
    for user_id in ids.keyed:
        if not ctx.accepts(spec, user_id=user_id):
            continue
        places = yield from ctx.keys(spec, user_id=user_id)
        reads = []
        for place in places:
            if place.place == "model" and place.values is not None:
                reads.append((yield from ctx.read(spec, **place.values)))
        bad = [r for r in reads if r.problem in ("wrong_type", "corrupt")]
        held = [f"{r.values['symbol']} {r.values['side']}" for r in reads if r.exists]
        if bad:
            out.append(
                Check(
                    "positions",
                    "fail",
                    f"{len(bad)} of {len(held)} position key(s) of {user_id} cannot be read: "
                    + "; ".join(f"{r.key}: {r.error}" for r in bad[:5]),
                    "inspect with `keyspace show KEY`",
                    [r.key for r in bad[:5]],
                )
            )
        elif held or user_id == ids.keyed[0]:
            listed = f": {', '.join(held[:10])}" if held else ""
            out.append(Check("positions", "ok", f"{len(held)} position key(s) under {user_id}{listed}"))
    if not out:
        out.append(Check("positions", "warn", f"not checked: no usable id for {ctx.user!r}"))
    return out
