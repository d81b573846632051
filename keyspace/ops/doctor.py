"""``keyspace doctor``: the health of a deployment as checks (ok / warn / fail, each with a fix).

Every check says what it looked at: a ``--sample`` run says it sampled, an
unreachable server says what was not checked, and no check says "none" or
"all good" about keys it did not read.  Each fix names a command that exists:
TTL-policy mismatches → ``keyspace ttl apply``; pending migrations and
plaintext or mis-stored secrets → ``keyspace migrate up`` then ``keyspace
migrate verify``; tokens under retired keys → ``keyspace rotate-keys``.

**Per-user checks belong to the schema, not to keyspace.**  A schema module
registers them with the :func:`user_check` decorator; ``run_doctor(mapper,
user=ID)`` runs every registered check with a :class:`UserContext`.  A check is
a program (keyspace.core.programs) returning its :class:`Check` list, so it
runs on Mapper and AsyncMapper alike::

    from keyspace.ops.doctor import Check, UserContext, user_check

    @user_check("API keys")
    def api_keys(ctx: UserContext):
        spec = ctx.model("UserApiKeys")
        if spec is None:
            return [ctx.missing("API keys", "UserApiKeys")]
        read = yield from ctx.read(spec, okx_uid=ctx.user)
        ...

With no check registered, a generic one runs: for every model with a user-id
key field (``okx_uid``, ``user_id``, ``telegram_id``, ``uid``), which keys exist
for that id and which decode.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from keyspace.core.crypto import Keyring
from keyspace.core.model import ModelSpec
from keyspace.core.programs import Call, ErrorReply, Program, ScanBatch, scan_batches
from keyspace.core.registry import Registry, default_registry
from keyspace.errors import KeyspaceError
from keyspace.ops import census as cz
from keyspace.ops.plan import OnServer, Plan, Task, drive, for_each
from keyspace.ops.record import RecordRead, read_record
from keyspace.ops.stats import KeyspaceStats, ModelStats, ScanJob, server_stats, servers_of, specs_for

SLOW_PING_MS = 100.0
SHOWN = 5  # sample keys named in a message


@dataclass
class Check:
    """One line of the doctor's report; ``keys`` names sample keys (never values)."""

    name: str
    status: str  # ok / warn / fail
    message: str
    fix: str = ""
    keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "keys": list(self.keys),
        }


# --- per-user checks: the hook -------------------------------------------------------------

USER_FIELDS = ("okx_uid", "user_id", "telegram_id", "uid")


@dataclass
class UserContext:
    """What a per-user check may use: the id, the schema, the keyring, and small programs."""

    user: str
    registry: Registry
    keyring: Keyring | None
    ttl_of: Callable[[ModelSpec], int | None]

    def model(self, name: str) -> ModelSpec | None:
        """A model of the schema by name, or None when the schema does not declare it."""
        for spec in self.registry:
            if spec.name == name:
                return spec
        return None

    def missing(self, check: str, *names: str) -> Check:
        """The check's result when a model it needs is not declared: said, not skipped silently."""
        return Check(
            check,
            "warn",
            f"not checked: the schema declares no {' / '.join(names)} model",
            "declare the model in the schema (see `keyspace schema`)",
        )

    def accepts(self, spec: ModelSpec, **key_values: str) -> bool:
        """Whether these key values are valid for the model (e.g. an id of the right length)."""
        return all(name in spec.key_adapters and spec.accepts(name, v) for name, v in key_values.items())

    def read(self, spec: ModelSpec, **key_values: Any) -> Program[RecordRead]:
        """Read and decode one key of ``spec`` (missing: ``exists`` False; bad: ``problem``, ``error``)."""
        texts = spec.key_texts(key_values)
        return read_record(spec, spec.render(texts), texts, self.keyring)

    def keys(self, spec: ModelSpec, **partial: str) -> Program[list[cz.KeyPlace]]:
        """Every key of ``spec`` whose given key fields equal ``partial`` (SCAN + MATCH per pattern),
        including keys of its shape that fail its key types (``place == "mistyped"``)."""
        found: dict[str, cz.KeyPlace] = {}
        for pattern, _owned in spec.scan_parts(partial):  # each pattern once (found de-duplicates)

            def keep(batch: ScanBatch) -> Program[bool]:
                for raw in cz.raw_keys(batch):
                    place = cz.place_key(raw, [spec])
                    if place.place == "mistyped" or (
                        place.values is not None and all(place.values.get(k) == v for k, v in partial.items())
                    ):
                        found.setdefault(place.key, place)
                return False
                yield  # pragma: no cover - a program that sends nothing

            yield from for_each(scan_batches(pattern), keep)
        return sorted(found.values(), key=lambda p: p.key)

    def call(self, *commands: tuple[Any, ...]) -> Program[list[Any]]:
        """Send raw commands (one round trip); error replies come back as ``ErrorReply``."""
        replies: list[Any] = yield Call(list(commands))
        return replies


UserCheckFn = Callable[[UserContext], Program[Iterable[Check]]]


@dataclass(frozen=True)
class UserCheck:
    name: str
    run: UserCheckFn
    server: str = "app"


class UserChecks:
    """The per-user checks a schema registers (see the module docstring)."""

    def __init__(self) -> None:
        self._checks: dict[str, UserCheck] = {}

    def __iter__(self) -> Iterator[UserCheck]:
        return iter(list(self._checks.values()))

    def __len__(self) -> int:
        return len(self._checks)

    @overload
    def __call__(self, name: UserCheckFn, *, server: str = "app") -> UserCheckFn: ...

    @overload
    def __call__(
        self, name: str | None = None, *, server: str = "app"
    ) -> Callable[[UserCheckFn], UserCheckFn]: ...

    def __call__(self, name: Any = None, *, server: str = "app") -> Any:
        """``@user_check`` or ``@user_check("API keys", server="app")``: register a check."""
        if callable(name):
            return self(None, server=server)(name)

        def register(fn: UserCheckFn) -> UserCheckFn:
            title = name or fn.__name__.replace("_", " ")
            self._checks[f"{fn.__module__}.{fn.__qualname__}"] = UserCheck(title, fn, server)
            return fn

        return register

    def clear(self) -> None:
        self._checks.clear()


default_user_checks = UserChecks()
user_check = default_user_checks
"""Register a per-user check: ``@user_check`` / ``@user_check("name", server="app")``."""


def generic_user_checks(ctx: UserContext, servers: Sequence[str]) -> Plan[list[Check]]:
    """For every model with a user-id key field: the keys of this id, and whether each decodes."""
    out: list[Check] = []
    empty: list[str] = []
    for spec in ctx.registry:
        names = [n for n in spec.key_fields if n in USER_FIELDS and ctx.accepts(spec, **{n: ctx.user})]
        if not names:
            continue
        server = spec.server if spec.server in servers else "app"
        places: dict[str, cz.KeyPlace] = {}
        for name in names:
            for place in (yield OnServer(server, ctx.keys(spec, **{name: ctx.user}))):
                places[place.key] = place
        if not places:
            empty.append(spec.name)
            continue
        reads: list[RecordRead] = []
        mistyped = [p for p in places.values() if p.place == "mistyped"]
        for place in places.values():
            if place.place == "model" and place.values is not None:
                reads.append(
                    (yield OnServer(server, read_record(spec, place.key, place.values, ctx.keyring)))
                )
        out.append(_generic_line(spec, reads, mistyped))
    if empty:
        out.append(Check("keys of this id", "ok", f"none of {', '.join(empty)}"))
    if not out:
        out.append(
            Check(
                "keys of this id",
                "warn",
                f"no model has a user-id key field ({', '.join(USER_FIELDS)}) that accepts {ctx.user!r}",
                "register per-user checks in the schema (keyspace.ops.doctor.user_check)",
            )
        )
    return out


def _generic_line(spec: ModelSpec, reads: list[RecordRead], mistyped: list[cz.KeyPlace]) -> Check:
    present = [r for r in reads if r.exists]
    bad = [r for r in present if r.problem in ("wrong_type", "corrupt")]
    unread = [r for r in present if r.unread]
    parts = [f"{len(present)} key(s)"]
    if bad:
        parts.append(f"{len(bad)} do not decode ({'; '.join(f'{r.key}: {r.error}' for r in bad[:SHOWN])})")
    if unread:
        parts.append(f"{len(unread)} with secrets that could not be read")
    if mistyped:
        parts.append(
            f"{len(mistyped)} in its shape failing its key types "
            f"({'; '.join(f'{p.key}: {p.reason}' for p in mistyped[:SHOWN])})"
        )
    if not bad and not unread and not mistyped:
        parts.append("all decode")
    forms = Counter(form for r in present for form in r.forms.values())
    if forms:
        parts.append("secrets: " + ", ".join(f"{n} {form}" for form, n in sorted(forms.items())))
    status = "fail" if bad else ("warn" if unread or mistyped else "ok")
    keys = [r.key for r in bad + unread] + [p.key for p in mistyped]
    fix = "inspect with `keyspace show KEY`" if status != "ok" else ""
    return Check(spec.name, status, ", ".join(parts), fix, keys[:SHOWN])


# --- the deployment's checks ---------------------------------------------------------------------


def _info_field(info: Any, name: str) -> str | None:
    if isinstance(info, dict):
        value = info.get(name)
        return None if value is None else str(value)
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def server_program(server: str) -> Program[Check]:
    """PING (timed) and INFO server: reachable, version, latency."""
    started = time.perf_counter()
    (pong,) = yield Call([("PING",)])
    latency = (time.perf_counter() - started) * 1000
    if isinstance(pong, ErrorReply):
        return Check(f"{server} server", "fail", f"answers PING with an error: {pong}", _CONNECT_FIX)
    (info,) = yield Call([("INFO", "server")])
    version = "?" if isinstance(info, ErrorReply) else (_info_field(info, "redis_version") or "?")
    slow = latency >= SLOW_PING_MS
    return Check(
        f"{server} server",
        "warn" if slow else "ok",
        f"reachable, Redis {version}, latency {latency:.1f} ms",
        "the server is slow to answer: check network and load" if slow else "",
    )


_CONNECT_FIX = "check REDIS_HOST/REDIS_PORT/REDIS_PASSWORD (or CELERY_*_OVERRIDE) and that the server runs"


def _scope(stats: KeyspaceStats, servers: Sequence[str]) -> str:
    """How much was looked at, in words, for every message that counts something."""
    looked = [s for s in servers if s in stats.complete]
    missing = [s for s in servers if s not in stats.complete]
    partial = [s for s in looked if not stats.complete[s]]
    if not partial and not missing:
        return f"among all {sum(stats.scanned[s] for s in looked)} keys"
    if partial:
        seen = ", ".join(f"{stats.scanned[s]} of {stats.total.get(s, '?')} on {s}" for s in partial)
        text = f"among the keys sampled ({seen}; the rest not looked at)"
    else:
        text = f"among all {sum(stats.scanned[s] for s in looked)} keys of {', '.join(looked)}"
    if missing:
        text += f"; {', '.join(missing)} not looked at"
    return text


def _models_with(stats: KeyspaceStats, pick: Callable[[ModelStats], int]) -> str:
    return ", ".join(f"{m.model} {pick(m)}" for m in stats.models.values() if pick(m))


def _samples(stats: KeyspaceStats, *kinds: str) -> list[str]:
    out: list[str] = []
    for m in stats.models.values():
        for kind in kinds:
            for key in m.problem_keys.get(kind, []):
                if key not in out:
                    out.append(key)
    return out


def _named(keys: list[str]) -> str:
    if not keys:
        return ""
    more = ", …" if len(keys) > SHOWN else ""
    return f" (e.g. {', '.join(keys[:SHOWN])}{more})"


def _key_check(stats: KeyspaceStats, keyring: Keyring | None, scope: str, registry: Registry) -> Check:
    encrypted_models = [s.name for s in registry if s.encrypted_fields]
    forms = stats.forms("encrypted").values
    if keyring is None:
        tokens = forms["enveloped"] + forms["bare"]
        if not encrypted_models:
            return Check("ENCRYPTION_KEY", "ok", "not set, and no model declares Encrypted fields")
        found = (
            f"{tokens} stored token(s) ({forms['enveloped']} enveloped, {forms['bare']} bare) "
            f"could not be verified {scope}"
            if tokens
            else f"no stored token found {scope}"
        )
        return Check(
            "ENCRYPTION_KEY",
            "fail",
            f"not set: encrypted fields can be neither read nor written; {found}",
            "put the application's ENCRYPTION_KEY in .env (a new deployment: `keyspace keygen`)",
        )
    tried = f"fingerprints tried: {keyring.current_fingerprint} (current)" + "".join(
        f", {fp} (old)" for fp in keyring.old_fingerprints
    )
    verified = forms["current"] + forms["old"] + forms["bare"] + forms["nested"]
    failed = forms["undecryptable"]
    tokens = verified + failed
    if not tokens:
        return Check(
            "ENCRYPTION_KEY",
            "ok",
            f"set ({tried}); no stored token to check it against {scope}",
        )
    if not verified:
        return Check(
            "ENCRYPTION_KEY",
            "fail",
            f"none of the {tokens} stored token(s) {scope} verifies under the configured keys ({tried})",
            "set the ENCRYPTION_KEY the application uses (a retired one goes in ENCRYPTION_OLD_KEYS)",
            _samples(stats, "encrypted:undecryptable")[:SHOWN],
        )
    if failed:
        return Check(
            "ENCRYPTION_KEY",
            "warn",
            f"{verified} of {tokens} stored token(s) {scope} verify; {failed} verify under no configured "
            f"key ({tried})",
            "find the key they were written with and add it to ENCRYPTION_OLD_KEYS; keyspace never "
            "guesses (see `keyspace show KEY`)",
            _samples(stats, "encrypted:undecryptable")[:SHOWN],
        )
    return Check("ENCRYPTION_KEY", "ok", f"decrypts all {tokens} stored token(s) {scope} ({tried})")


MIGRATE = "run `keyspace migrate up`, then `keyspace migrate verify`"


def _encrypted_checks(stats: KeyspaceStats, keyring: Keyring | None, scope: str) -> list[Check]:
    """Legacy plaintext, mis-stored forms, retired keys, undecryptable values of Encrypted fields."""
    enc = stats.forms("encrypted")
    values, keys_with = enc.values, enc.keys
    out: list[Check] = []
    if values["plaintext"]:
        keys = _samples(stats, "encrypted:plaintext")
        where = _models_with(stats, lambda m: m.plaintext)
        out.append(
            Check(
                "plaintext secrets",
                "warn",
                f"{values['plaintext']} legacy plaintext value(s) in Encrypted fields, in "
                f"{keys_with['plaintext']} key(s) {scope} ({where}){_named(keys)}",
                f"{MIGRATE} (the migration encrypts them in place)",
                keys[:SHOWN],
            )
        )
    else:
        total = sum(values.values())
        out.append(
            Check("plaintext secrets", "ok", f"no legacy plaintext among {total} secret value(s) {scope}")
        )
    if values["bare"] + values["nested"]:
        keys = _samples(stats, "encrypted:bare", "encrypted:nested")
        out.append(
            Check(
                "stored form",
                "warn",
                f"{values['bare']} bare token(s) (no envelope) and {values['nested']} nested (encrypted "
                f"more than once) {scope}{_named(keys)}"
                + ("; by shape, not verified (no key)" if keyring is None else ""),
                f"{MIGRATE} (stores them in the declared form)",
                keys[:SHOWN],
            )
        )
    if values["old"]:
        keys = _samples(stats, "encrypted:old")
        out.append(
            Check(
                "retired keys",
                "warn",
                f"{values['old']} token(s) in {keys_with['old']} key(s) are under ENCRYPTION_OLD_KEYS "
                f"{scope}{_named(keys)}",
                "run `keyspace rotate-keys`, then `keyspace migrate verify`",
                keys[:SHOWN],
            )
        )
    verified = sum(values[k] for k in ("current", "old", "bare", "nested"))
    if values["undecryptable"] and keyring is not None and verified:  # none verify: the key check failed
        keys = _samples(stats, "encrypted:undecryptable")
        out.append(
            Check(
                "undecryptable secrets",
                "fail",
                f"{values['undecryptable']} value(s) in {keys_with['undecryptable']} key(s) verify under "
                f"no configured key {scope}{_named(keys)}",
                "find their key (ENCRYPTION_OLD_KEYS) or have the secret entered again in the "
                "application; keyspace leaves them untouched",
                keys[:SHOWN],
            )
        )
    return out


def _masked_checks(stats: KeyspaceStats, scope: str) -> list[Check]:
    """Plaintext by policy (Masked fields), reported as plaintext; tokens where readers expect plaintext."""
    masked = stats.forms("masked")
    out: list[Check] = []
    if masked.values["plaintext"]:
        keys = _samples(stats, "masked:plaintext")
        where = _models_with(stats, lambda m: m.policy_plaintext)
        out.append(
            Check(
                "plaintext by policy",
                "warn",
                f"{masked.values['plaintext']} secret value(s) in {masked.keys['plaintext']} key(s) are "
                f"stored in plaintext by policy {scope} ({where}): the application's readers of these "
                "keys do not decrypt",
                "their readers must decrypt before these fields can be encrypted (then declare them "
                "Encrypted and run `keyspace migrate up`); until then keep the server private",
                keys[:SHOWN],
            )
        )
    else:
        out.append(Check("plaintext by policy", "ok", f"no plaintext-by-policy secret {scope}"))
    if masked.values["token"]:
        keys = _samples(stats, "masked:token")
        out.append(
            Check(
                "tokens in plaintext fields",
                "fail",
                f"{masked.values['token']} value(s) of plaintext-by-policy fields hold tokens {scope}"
                f"{_named(keys)}: their readers would use the token itself as the secret",
                "have the application write the plaintext again, or declare the field Encrypted",
                keys[:SHOWN],
            )
        )
    return out


def _secret_checks(
    stats: KeyspaceStats, keyring: Keyring | None, scope: str, registry: Registry
) -> list[Check]:
    out: list[Check] = []
    if any(s.encrypted_fields for s in registry):
        out.extend(_encrypted_checks(stats, keyring, scope))
    suspicious = stats.forms("encrypted").values["suspicious"] + stats.forms("masked").values["suspicious"]
    if suspicious:
        keys = _samples(stats, "encrypted:suspicious", "masked:suspicious")
        out.append(
            Check(
                "suspicious secrets",
                "fail",
                f"{suspicious} value(s) look like mangled tokens (a token inside another value, stray "
                f"characters, a foreign envelope) {scope}{_named(keys)}: left untouched",
                "inspect with `keyspace show KEY` and repair by hand (encrypting would double-encrypt)",
                keys[:SHOWN],
            )
        )
    if any(s.masked_fields for s in registry):
        out.extend(_masked_checks(stats, scope))
    return out


def _key_health(stats: KeyspaceStats, scope: str) -> list[Check]:
    out: list[Check] = []
    totals = stats.totals()
    bad = {k: totals.get(k, 0) for k in ("wrong_type", "corrupt") if totals.get(k, 0)}
    if bad:
        keys = _samples(stats, *bad)
        reasons = {k: r for m in stats.models.values() for k, r in m.reasons.items()}
        named = "; ".join(f"{k}: {reasons[k]}" if k in reasons else k for k in keys[:SHOWN])
        out.append(
            Check(
                "bad keys",
                "fail",
                ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in bad.items()) + f" {scope}: {named}",
                "inspect with `keyspace show KEY`; repair or delete the key",
                keys[:SHOWN],
            )
        )
    else:
        read = sum(m.keys for m in stats.models.values())
        out.append(Check("bad keys", "ok", f"all {read} key(s) of the models decode {scope}"))
    if totals.get("mistyped"):
        keys = _samples(stats, "mistyped")
        reasons = {k: r for m in stats.models.values() for k, r in m.reasons.items()}
        out.append(
            Check(
                "keys failing key types",
                "warn",
                f"{totals['mistyped']} key(s) have the shape of a model's keys but fail its key types "
                f"{scope} ({_models_with(stats, lambda m: m.mistyped)}): "
                + "; ".join(f"{k}: {reasons.get(k, '?')}" for k in keys[:SHOWN])
                + ". No model reads them; migrations skip them",
                "find the writer that used a wrong id; rename or delete the keys (redis-remote)",
                keys[:SHOWN],
            )
        )
    unowned = sum(stats.unowned.values())
    if unowned:
        samples = [k for keys in stats.unowned_samples.values() for k in keys]
        out.append(
            Check(
                "keys of no model",
                "ok",
                f"{unowned} key(s) belong to no model {scope}{_named(samples)}: not checked",
                keys=samples[:SHOWN],
            )
        )
    if totals.get("ttl_mismatch"):
        keys = _samples(stats, "ttl_mismatch")
        out.append(
            Check(
                "TTL policy",
                "warn",
                f"{totals['ttl_mismatch']} key(s) disagree with their model's TTL policy {scope} "
                f"({_models_with(stats, lambda m: m.ttl_mismatch)}){_named(keys)}",
                "run `keyspace ttl apply` (gives keys of TTL models their policy TTL)",
                keys[:SHOWN],
            )
        )
    else:
        out.append(Check("TTL policy", "ok", f"every key matches its TTL policy {scope}"))
    return out


def _migrations(mapper: Any, registry: Registry, project: Any) -> Plan[Check]:
    """Pending migrations, as ``keyspace migrate status`` sees them (the runner's own rules)."""
    from keyspace.ops.migrate import Runner

    runner = Runner(mapper, project=project, registry=registry)
    pending = [m.id for m in (yield Task(runner.pending))]
    if pending:
        return Check("migrations", "warn", f"pending: {', '.join(pending)}", "run `keyspace migrate up`")
    return Check("migrations", "ok", f"none pending ({len(runner.migrations)} known)")


def doctor_plan(
    mapper: Any,
    *,
    user: str | None,
    sample: int | None,
    registry: Registry,
    project: Any,
    checks: UserChecks,
    generic: bool,
) -> Plan[list[Check]]:
    out: list[Check] = []
    servers = servers_of(mapper)
    up: list[str] = []
    for server in servers:
        try:
            check = yield OnServer(server, server_program(server))
        except KeyspaceError as exc:
            check = Check(f"{server} server", "fail", f"unreachable: {exc.reason}", _CONNECT_FIX)
        else:
            up.append(server)
        out.append(check)
    if "app" not in up:
        out.append(Check("everything else", "fail", "not checked: the app server is unreachable"))
        return out
    keyring: Keyring | None = mapper.ctx.keyring
    stats = KeyspaceStats(
        sampled=sample is not None,
        verified=keyring is not None,
        fingerprints=keyring.fingerprints if keyring is not None else (),
    )
    for server in up:
        job = ScanJob(
            server,
            specs_for(registry, server, len(servers) == 1),
            keyring,
            mapper.ttl_policy,
            sample,
            0,
            1000,
            None,
        )
        try:
            yield OnServer(server, server_stats(stats, job))
        except KeyspaceError as exc:
            stats.complete.pop(server, None)
            out.append(Check(f"{server} keys", "fail", f"scan stopped: {exc.reason}", _CONNECT_FIX))
    scope = _scope(stats, servers)
    out.append(_key_check(stats, keyring, scope, registry))
    out.extend(_secret_checks(stats, keyring, scope, registry))
    out.extend(_key_health(stats, scope))
    try:
        out.append((yield from _migrations(mapper, registry, project)))
    except Exception as exc:  # no migration location configured, a broken script, ...
        out.append(Check("migrations", "warn", f"not checked: {exc}", "see `keyspace migrate status`"))
    for server, snap in mapper.breakers().items():
        if server in servers:
            out.append(
                Check(
                    f"{server} breaker",
                    "ok" if snap.state == "closed" else "warn",
                    snap.state,
                    "" if snap.state == "closed" else "the server failed recently; see the logs",
                )
            )
    if user is not None:
        out.extend((yield from _user_plan(mapper, user, registry, checks, generic, servers)))
    return out


def _user_plan(
    mapper: Any, user: str, registry: Registry, checks: UserChecks, generic: bool, servers: Sequence[str]
) -> Plan[list[Check]]:
    ctx = UserContext(user, registry, mapper.ctx.keyring, mapper.ttl_policy)
    out: list[Check] = []
    registered = list(checks)
    for check in registered:
        server = check.server if check.server in servers else "app"
        try:
            found = yield OnServer(server, check.run(ctx))
        except KeyspaceError as exc:
            found = [Check(check.name, "fail", f"could not be checked: {exc}")]
        out.extend(found)
    if generic or not registered:
        out.extend((yield from generic_user_checks(ctx, servers)))
    return out


def run_doctor(
    mapper: Any,
    *,
    user: str | None = None,
    okx_uid: str | None = None,
    sample: int | None = None,
    registry: Registry | None = None,
    project: Any = None,
    checks: UserChecks | None = None,
    generic: bool = False,
) -> Any:
    """Check both servers, ENCRYPTION_KEY, secrets by form, bad and mistyped keys, TTLs, migrations,
    breakers, and with ``user`` one user's keys (the schema's registered checks, else the generic one).

    ``okx_uid`` is the older name of ``user``.  ``project`` (keyspace.io.project.Project) says where the
    migrations are (default: discovered).  Returns ``list[Check]`` on a Mapper, an awaitable of it on an
    AsyncMapper.
    """
    return drive(
        mapper,
        doctor_plan(
            mapper,
            user=user if user is not None else okx_uid,
            sample=sample,
            registry=registry or default_registry,
            project=project,
            checks=default_user_checks if checks is None else checks,
            generic=generic,
        ),
    )


__all__ = [
    "Check",
    "UserCheck",
    "UserChecks",
    "UserContext",
    "default_user_checks",
    "generic_user_checks",
    "run_doctor",
    "user_check",
]
