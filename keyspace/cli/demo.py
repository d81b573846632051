"""``keyspace demo``: a short tour of keyspace on the in-memory server (no set-up needed)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog

app = typer.Typer()

TOUR_MODELS = (
    "UserApiKeys",
    "TradingStatus",
    "Position",
    "DcaCount",
    "EntryPrice",
)


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
    from keyspace.testing.dataset import okx_uid, seed

    st = state(ctx)
    registry = st.registry(require=True)
    ctx.with_resource(st.exported())  # the tour's doctor and runner find the same project
    m = SimpleNamespace(**{name: registry.get(name).model for name in TOUR_MODELS})
    console = Console(highlight=False, markup=False)  # data is printed as it is
    keyring = Keyring(generate_key())  # a throwaway key: the demo never touches real data
    mapper = Mapper.from_url(url, keyring=keyring)
    if not url.startswith("memory:") and mapper.clients["app"].dbsize():
        mapper.close()
        raise typer.BadParameter(f"refusing to seed {url}: the database is not empty")

    console.rule("1. a legacy dataset, written the way the old application wrote it")
    data = seed(mapper.clients["app"], mapper.clients["celery"], users=users, keyring=keyring)
    console.print(
        f"{users} users, {sum(data.counts.values())} keys; {len(data.plaintext_keys)} API-key hashes "
        f"still in plaintext; {len(data.bad_keys)} deliberately bad keys"
    )

    console.rule("2. typed models: the key is generated, never formatted by hand")
    uid = okx_uid(1)
    keys = mapper.get(m.UserApiKeys, okx_uid=uid)
    console.print(f"mapper.get(UserApiKeys, okx_uid={uid!r}) ->")
    console.print(f"  {keys!r}")
    console.print("  secrets are masked in memory; stored as Fernet tokens:")
    raw = mapper.clients["app"].hget(f"user:{uid}:api:keys", "api_key") or b""
    preview = raw[:12].decode(errors="replace") if isinstance(raw, bytes) else raw[:12]
    console.print(f"  HGET ... api_key -> {preview}… ({len(raw)} bytes)")
    fresh = m.UserApiKeys(okx_uid=okx_uid(999), api_key="k-demo", api_secret="s-demo", passphrase="p-demo")
    mapper.save(fresh)
    console.print(f"mapper.save(UserApiKeys(...)) wrote {fresh.redis_key} (encrypted)")

    console.rule("3. trading status: every running trader, with SCAN (never KEYS)")
    running = list(mapper.scan(m.TradingStatus, status="running"))
    console.print(f"mapper.scan(TradingStatus, status='running') -> {len(running)} keys, e.g. {running[0]!r}")
    mapper.save(m.TradingStatus(okx_uid=uid, telegram_id="100000001", status="stopped"))
    console.print("a save with both ids wrote both keys in one atomic script call")

    console.rule("4. positions, DCA counter, entry price")
    pos = next(iter(mapper.scan(m.Position, user_id=uid)))
    console.print(f"{pos!r}")
    console.print(f"  fields the model does not declare are kept: {pos.unknown_fields}")
    n = mapper.incr(m.DcaCount, user_id=uid, symbol=pos.symbol, side=pos.side)
    console.print(f"mapper.incr(DcaCount, ...) -> {n}")
    mapper.save(m.EntryPrice(user_id=uid, symbol=pos.symbol, side=pos.side, price=Decimal("64250.5")))
    console.print(
        f"EntryPrice -> {mapper.get(m.EntryPrice, user_id=uid, symbol=pos.symbol, side=pos.side).price}"
    )

    console.rule("5. the whole keyspace, counted per model")
    table = Table("model", "keys", "type", "server")
    from keyspace.cli.schema import grouped

    for spec in (s for _, members in grouped(registry, st.project().models) for s in members):
        table.add_row(spec.name, str(mapper.count(spec.model)), spec.redis_type, spec.server)
    console.print(table)

    console.rule("6. bad data is reported, never guessed at")
    for key, what in data.bad_keys.items():
        found = registry.resolve(key)
        assert found is not None
        spec, values = found
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
    console.rule("7. keyspace show: one key, decoded, secrets masked")
    from keyspace.ops.inspect import collect_stats, describe_key, run_doctor

    shown = describe_key(mapper, f"user:{uid}:api:keys")
    console.print(f"{shown['key']}: model {shown['model']}, type {shown['redis_type']}, TTL {shown['ttl']}")
    for name, value in shown["fields"].items():
        console.print(f"  {name} = {value}")

    console.rule("8. keyspace stats: the keyspace per model, with its problems")
    stats = collect_stats(mapper)
    totals = stats.totals()
    console.print(
        f"plaintext secrets: {totals.get('plaintext', 0)} keys, "
        f"undecryptable: {totals.get('undecryptable', 0)}, "
        f"wrong type: {totals.get('wrong_type', 0)}, corrupt: {totals.get('corrupt', 0)}, "
        f"keys of no model: {sum(stats.unowned.values())}"
    )

    console.rule("9. keyspace doctor, then keyspace migrate up, then doctor again")
    from keyspace.ops.migrate import Runner

    def doctor() -> None:
        for check in run_doctor(mapper):
            if check.name in ("plaintext secrets", "bad keys", "migrations", "ENCRYPTION_KEY"):
                console.print(f"  {check.status:>4}  {check.name}: {check.message}", highlight=False)

    doctor()
    reports = Runner(mapper).up()
    for mid, report in reports.items():
        console.print(f"  migrate up {mid}: changed {report.changed}, skipped {dict(report.skipped)}")
    for bad in data.bad_keys:  # an operator's fix for what the migration reported
        mapper.clients["app"].delete(bad)
    console.print("  (the operator deletes the reported bad keys and runs up again)")
    Runner(mapper).up()
    doctor()
    console.rule("done")
    mapper.close()
