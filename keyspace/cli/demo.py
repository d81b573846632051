"""``keyspace demo``: a short tour of keyspace on the in-memory server (no set-up needed).

The tour is driven by the dataset and the configured schema (it finds the
models through the keys the dataset wrote), so it follows the schema as it
grows instead of naming fields by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog

if TYPE_CHECKING:
    from keyspace.core.model import ModelSpec
    from keyspace.core.registry import Registry
    from keyspace.mapper import Mapper

app = typer.Typer()

DOCTOR_CHECKS = ("ENCRYPTION_KEY", "plaintext secrets", "bad keys", "migrations")


def _first_key(mapper: Mapper, spec: ModelSpec) -> str | None:
    for key in mapper.scan_keys(spec.model):
        return str(key)
    return None


def _encrypted_key(data: Any, registry: Registry) -> tuple[str, ModelSpec, dict[str, str]] | None:
    """An encrypted (not plaintext) key with secrets the dataset wrote, resolved to its model."""
    plain = set(data.plaintext_keys)
    for key in sorted(data.secrets, key=lambda k: (k in plain, k)):
        found = registry.resolve(key)
        if found is not None and found[0].encrypted_fields:
            return key, found[0], found[1]
    return None


@app.command("demo", cls=KeyspaceCommand, epilog=exit_codes_epilog("demo"))
def demo(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option("--url", help="an empty server to run the tour on (default: in-memory)")
    ] = "memory://",
    users: Annotated[int, typer.Option("--users", min=1, help="users in the seeded legacy dataset")] = 20,
) -> None:
    """Seed a legacy dataset and show the models at work (a throwaway key; never touches real data)."""
    from keyspace import Keyring, Mapper, WrongType, generate_key
    from keyspace.core.guide import group_by_module
    from keyspace.io.clients import redact
    from keyspace.ops.inspect import collect_stats, describe_key, run_doctor
    from keyspace.ops.migrate import Runner
    from keyspace.testing.dataset import seed

    st = state(ctx)
    registry = st.registry(require=True)
    specs = [s for _, members in group_by_module(registry, st.project().models) for s in members]
    console = Console(highlight=False, markup=False)  # data is printed as it is
    current, retired = generate_key(), generate_key()  # throwaway keys: the demo never touches real data
    keyring = Keyring(current, [retired])  # the current key, and one being rotated out
    mapper = ctx.with_resource(Mapper.from_url(url, keyring=keyring))
    if not url.startswith("memory:") and mapper.clients["app"].dbsize():
        raise typer.BadParameter(f"refusing to seed {redact(url)}: the database is not empty")

    console.rule("1. a legacy dataset, written the way the old application wrote it")
    data = seed(
        mapper.clients["app"],
        mapper.clients["celery"],
        users=users,
        keyring=Keyring(current),
        old_keyring=Keyring(retired),
        secret_forms="live",  # every stored form the live application leaves behind
    )
    console.print(
        f"{users} users, {sum(data.counts.values())} keys; {len(data.plaintext_keys)} API-key hashes "
        f"still in plaintext; {len(data.bad_keys)} deliberately bad keys"
    )

    console.rule("2. typed models: the key is generated, never formatted by hand")
    found = _encrypted_key(data, registry)
    if found is not None:
        key, spec, values = found
        args = ", ".join(f"{k}={v!r}" for k, v in values.items())
        instance = mapper.get_or_raise(spec.model, **values)  # seeded a moment ago
        console.print(f"mapper.get({spec.name}, {args}) ->")
        console.print(f"  {instance!r}")
        console.print(f"  the key, generated from the key fields: {spec.render(spec.key_texts(values))}")
        field = spec.encrypted_fields[0]
        raw = mapper.clients[spec.server].hget(key, field) or b""
        stored = raw if isinstance(raw, bytes) else str(raw).encode()
        form = keyring.classify(stored, spec.envelope).kind  # never the value: it may be plaintext
        console.print(
            f"  secrets are masked in memory; HGET … {field} holds {len(stored)} bytes, stored form: {form}"
            + (f" ({spec.envelope} + Fernet token)" if form == "current" and spec.envelope else "")
        )
        mapper.save(instance)
        console.print(f"mapper.save(...) wrote {', '.join(instance.redis_keys())} (encrypted)")

    console.rule("3. SCAN, never KEYS: every instance of a model, streamed")
    for spec in specs:
        if spec.read_only or not spec.key_fields:
            continue
        first = _first_key(mapper, spec)
        if first is None:
            continue
        count = mapper.count(spec.model)
        console.print(f"mapper.scan_keys({spec.name}) -> {count} keys, e.g. {first}")
        break
    for spec in specs:
        if spec.kind != "counter" or spec.read_only:
            continue
        first = _first_key(mapper, spec)
        resolved = registry.resolve(first) if first else None
        if resolved is not None:
            counter_key: dict[str, Any] = dict(resolved[1])
            n = mapper.incr(spec.model, **counter_key)
            console.print(f"a counter: mapper.incr({spec.name}, …) on {first} -> {n}")
            break

    console.rule("4. the whole keyspace, counted per model")
    table = Table("model", "keys", "type", "server")
    empty = 0
    for spec in specs:
        count = mapper.count(spec.model)
        if count:
            table.add_row(spec.name, str(count), spec.redis_type, spec.server)
        else:
            empty += 1
    console.print(table)
    if empty:
        console.print(f"(and {empty} more models with no keys in this dataset: `keyspace schema` lists them)")

    console.rule("5. bad data is reported, never guessed at")
    for key, what in data.bad_keys.items():
        resolved = registry.resolve(key)
        if resolved is None:
            console.print(f"{key} ({what})\n  -> belongs to no model")
            continue
        spec, values = resolved
        try:
            mapper.get(spec.model, **values)
            outcome = "read"
        except WrongType as exc:
            outcome = f"{type(exc).__name__}: expected {exc.expected}, found {exc.actual}"
        except Exception as exc:  # the demo shows every kind of refusal
            outcome = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        console.print(f"{key} ({what})\n  -> {outcome}")
    console.print(
        f"plaintext secrets read so far (allowed during the migration window): "
        f"{mapper.ctx.events['plaintext']}"
    )

    if found is not None:
        console.rule("6. keyspace show: one key, decoded, secrets masked")
        shown = describe_key(mapper, found[0], registry=registry)
        console.print(
            f"{shown['key']}: model {shown['model']}, type {shown['redis_type']}, TTL {shown['ttl']}"
        )
        for name, value in shown.get("fields", {}).items():
            console.print(f"  {name} = {value}")

    console.rule("7. keyspace stats: the keyspace per model, with its problems")
    stats = collect_stats(mapper, registry=registry)
    totals = stats.totals()
    console.print(
        f"plaintext secrets: {totals.get('plaintext', 0)} keys, "
        f"undecryptable: {totals.get('undecryptable', 0)}, "
        f"wrong type: {totals.get('wrong_type', 0)}, corrupt: {totals.get('corrupt', 0)}, "
        f"keys of no model: {sum(stats.unowned.values())}"
    )

    console.rule("8. keyspace doctor, then keyspace migrate up, then doctor again")

    def doctor() -> None:
        checks = run_doctor(mapper, project=st.project())
        shown = [c for c in checks if c.name in DOCTOR_CHECKS] or checks
        for check in shown:
            console.print(f"  {check.status:>4}  {check.name}: {check.message}")

    doctor()
    reports = Runner(mapper, project=st.project()).up()
    reported: set[str] = set(data.bad_keys)
    for mid, report in reports.items():
        console.print(f"  migrate up {mid}: changed {report.changed}, skipped {dict(report.skipped)}")
        for kind, keys in report.errors.items():
            console.print(f"    skipped ({kind}): {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}")
            reported.update(keys)
    # The operator's fix for what was reported: these users re-register their API keys (/setapi);
    # here the reported keys are simply deleted, and the migration runs again.
    for bad in sorted(reported):
        resolved = registry.resolve(bad)
        server = resolved[0].server if resolved else "app"
        mapper.clients[server].delete(bad)
    console.print(f"  (the operator has the {len(reported)} reported key(s) re-registered; up again)")
    for mid, report in Runner(mapper, project=st.project()).up().items():
        console.print(f"  migrate up {mid}: changed {report.changed}, skipped {dict(report.skipped)}")
    doctor()
    console.rule("done")
