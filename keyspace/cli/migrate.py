"""``keyspace migrate …``: versioned, locked, resumable data migrations (alembic-like)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import FAILED, OK, KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import CeleryUrl, Json, Url
from keyspace.cli.output import emit_json, esc, progress, records, stderr, stdout

if TYPE_CHECKING:
    from rich.progress import Progress

    from keyspace.ops.migrate import Runner

app = typer.Typer(
    help="Versioned, locked, resumable data migrations (status, check, plan, up, down, verify, stamp, "
    "history).",
    no_args_is_help=True,
)

Dir = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="only this migrations folder (or configured location name); default: every configured "
        "location (pyproject.toml tool.keyspace.migrations, KEYSPACE_MIGRATIONS, --migrations)",
        show_default=False,
    ),
]
Batch = Annotated[int, typer.Option("--batch", min=1, help="keys per SCAN batch / pipeline")]
Rate = Annotated[
    float | None,
    typer.Option("--rate", min=1, help="at most this many keys per second (protects production)"),
]
Lease = Annotated[
    float, typer.Option("--lease", min=1, help="seconds the lock survives a runner that stopped renewing it")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
MigrationId = Annotated[
    str, typer.Argument(metavar="ID", help="a migration id, e.g. tradingboost/0001 or 0001")
]


def runner(
    ctx: typer.Context,
    url: str | None,
    celery_url: str | None,
    directory: Path | None,
    **kwargs: Any,
) -> Runner:
    """A Runner on the configured (or given) servers, schema and migration locations."""
    from keyspace.ops.migrate import Runner

    st = state(ctx)
    project = st.project()
    project.load_models()
    return Runner(st.mapper(url, celery_url), directory=directory, project=project, **kwargs)


def progress_runner(
    ctx: typer.Context,
    url: str | None,
    celery_url: str | None,
    directory: Path | None,
    quiet: bool,
    **kwargs: Any,
) -> tuple[Runner, Progress]:
    bar = progress(disable=quiet, transient=False)
    tasks: dict[str, Any] = {}

    def update(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done, total=total)

    return runner(ctx, url, celery_url, directory, progress=update, **kwargs), bar


def print_report(migration_id: str, report: Any) -> None:
    data = report.as_dict()
    console = stdout()
    console.print(
        f"[bold]{esc(migration_id)}[/bold]: scanned {data['scanned']}, changed {data['changed']}, "
        f"already done {data['already']}, conflicts re-read {data['conflicts']}, "
        f"skipped {sum(data['skipped'].values())}"
    )
    for model, forms in sorted(data.get("forms", {}).items()):  # what each family holds, by stored form
        shown = ", ".join(f"{form} {count}" for form, count in sorted(forms.items()))
        console.print(Text(f"  {model}: {shown}"))
    for name, count in sorted(data["by_field"].items()):
        console.print(Text(f"  changed {name}: {count}"))
    for model, keys in sorted(data["samples"].items()):
        console.print(Text(f"  sample {model}: {', '.join(keys)}"))
    for model, count in sorted(data.get("key_types", {}).items()):
        keys = data.get("key_type_samples", {}).get(model, [])
        console.print(
            Text.assemble(
                (f"  {model}: {count} key(s) fail the model's key types", "yellow"),
                f" (e.g. {', '.join(keys[:5])})" if keys else "",
            )
        )
    for what, count in sorted(data.get("ignored", {}).items()):
        console.print(Text(f"  ignored ({what}): {count}"))
    for note in data.get("notes", []):
        console.print(Text(f"  note: {note}", style="yellow"))
    for kind, keys in sorted(data["errors"].items()):
        more = " …" if len(keys) > 10 else ""
        console.print(
            Text.assemble(
                (f"  skipped ({kind}, {data['skipped'][kind]})", "red"), f": {', '.join(keys[:10])}{more}"
            )
        )


@app.command("status", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate status"))
def status(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    json_: Json = False,
    check: Annotated[
        bool, typer.Option("--check", help="exit 1 while migrations are pending (deploy gate)")
    ] = False,
) -> None:
    """Applied and pending migrations, the lock, checksums."""
    run = runner(ctx, url, celery_url, directory)
    try:
        data = run.status()
    finally:
        run.mapper.close()
    pending = [r["id"] for r in data["migrations"] if r["state"] == "pending"]
    if json_:
        emit_json({**data, "pending": pending})
    else:
        rows = []
        for row in data["migrations"]:
            state_ = row["state"] + (" (stamped)" if row["stamped"] else "")
            state_ += " (script modified since)" if row["modified"] else ""
            state_ += " (interrupted: will resume)" if row["checkpoint"] else ""
            rows.append([row["id"], state_, row["applied_at"] or "", row["description"], row["checksum"]])
        console = stdout()
        console.print(
            records(["id", "state", "applied at", "description", "checksum"], rows, console=console)
        )
        lock = data["lock"]
        console.print(
            Text(
                f"running: {lock['holder']} ({lock['purpose']}) since {lock['since']}"
                if lock
                else "running: none"
            )
        )
    raise typer.Exit(FAILED if check and pending else OK)


@app.command("check", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate check"))
def check(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    json_: Json = False,
) -> None:
    """Exit 1 while migrations are pending, 0 when none are (for deploy gates)."""
    run = runner(ctx, url, celery_url, directory)
    try:
        pending = [m.id for m in run.pending()]
    finally:
        run.mapper.close()
    if json_:
        emit_json({"ok": not pending, "pending": pending})
    elif pending:
        stderr().print(Text(f"pending migrations: {', '.join(pending)}"))
    else:
        stdout().print("no pending migrations")
    raise typer.Exit(FAILED if pending else OK)


@app.command("plan", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate plan"))
def plan(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    to: Annotated[
        str | None, typer.Option("--to", help="plan up to this migration", show_default=False)
    ] = None,
    json_: Json = False,
    batch: Batch = 500,
) -> None:
    """Dry run: what `up` would change (counts per model and field, sample keys). Writes nothing."""
    run = runner(ctx, url, celery_url, directory, batch=batch)
    try:
        reports = run.plan(to)
    finally:
        run.mapper.close()
    if json_:
        emit_json({mid: r.as_dict() for mid, r in reports.items()})
        return
    if not reports:
        stdout().print("nothing to do: no pending migrations")
    for mid, report in reports.items():
        print_report(mid, report)


@app.command("up", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate up"))
def up(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="apply up to (and including) this migration", show_default=False),
    ] = None,
    batch: Batch = 500,
    rate: Rate = None,
    lease: Lease = 30.0,
    json_: Json = False,
    quiet: Quiet = False,
) -> None:
    """Apply pending migrations under the lock, resuming an interrupted run."""
    run, bar = progress_runner(
        ctx, url, celery_url, directory, quiet or json_, batch=batch, rate=rate, lease=lease
    )
    try:
        with bar:
            reports = run.up(to)
    finally:
        run.mapper.close()
    if json_:
        emit_json({mid: r.as_dict() for mid, r in reports.items()})
    elif not reports:
        stdout().print("nothing to do: no pending migrations")
    else:
        for mid, report in reports.items():
            print_report(mid, report)
    if any(not r.ok for r in reports.values()):
        stderr().print("some keys were skipped (listed above): fix them and run `keyspace migrate up` again")
        raise typer.Exit(FAILED)


@app.command("down", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate down"))
def down(
    ctx: typer.Context,
    migration_id: MigrationId,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    allow_plaintext: Annotated[
        bool, typer.Option("--allow-plaintext", help="needed to decrypt secrets back to plaintext")
    ] = False,
    batch: Batch = 500,
    lease: Lease = 30.0,
    json_: Json = False,
) -> None:
    """Undo one migration (only where it defines a down)."""
    run = runner(ctx, url, celery_url, directory, batch=batch, lease=lease, allow_plaintext=allow_plaintext)
    try:
        report = run.down(migration_id)
    finally:
        run.mapper.close()
    if json_:
        emit_json({"id": migration_id, "ok": report.ok, "report": report.as_dict()})
    else:
        print_report(f"{migration_id} (down)", report)
    raise typer.Exit(OK if report.ok else FAILED)


@app.command("verify", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate verify"))
def verify(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    json_: Json = False,
) -> None:
    """Prove every encrypted value is a token under the current key (so ENCRYPTION_OLD_KEYS can go)."""
    run = runner(ctx, url, celery_url, directory)
    try:
        result = run.verify()
    finally:
        run.mapper.close()
    if json_:
        emit_json(result)
    else:
        console = stdout()
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(result["counts"].items())) or "no encrypted values"
        console.print(Text(f"encrypted values ({counts}); current key {result['fingerprint']}"))
        for kind, keys in sorted(result["problems"].items()):
            console.print(Text.assemble((f"  {kind}", "red"), f": {', '.join(keys[:10])}"))
        masked = result["counts"].get("masked")
        if masked:
            console.print(
                Text(f"  {masked} value(s) in plaintext by policy (Masked): their readers do not decrypt")
            )
        canary = result.get("canary")
        if canary:
            console.print(Text(f"  key canary: {canary}"))
        for mid in result["modified"]:
            console.print(Text(f"  migration {mid} was modified after it was applied", style="yellow"))
        console.print("[green]verified[/green]" if result["ok"] else "[red]not verified[/red]")
    raise typer.Exit(OK if result["ok"] else FAILED)


@app.command("stamp", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate stamp"))
def stamp(
    ctx: typer.Context,
    migration_id: MigrationId,
    url: Url = None,
    celery_url: CeleryUrl = None,
    directory: Dir = None,
    json_: Json = False,
) -> None:
    """Record a migration (and its dependencies) as applied without running it."""
    run = runner(ctx, url, celery_url, directory)
    try:
        stamped = run.stamp(migration_id)
    finally:
        run.mapper.close()
    if json_:
        emit_json({"id": migration_id, "stamped": stamped})
    else:
        stdout().print(Text(f"stamped: {', '.join(stamped)}" if stamped else "already applied"))


@app.command("history", cls=KeyspaceCommand, epilog=exit_codes_epilog("migrate history"))
def history(ctx: typer.Context, directory: Dir = None, json_: Json = False) -> None:
    """Every migration with its dependencies and what it does (reads no server)."""
    from keyspace.ops.migrate import load_all

    project = state(ctx).project()
    locations = (project.location(directory),) if directory else project.require_migrations()
    state(ctx).registry()  # the schema first: migration scripts import the application's modules
    rows: list[dict[str, Any]] = [
        {
            "id": m.id,
            "depends_on": list(m.depends_on),
            "description": m.description,
            "operations": [op.describe() for op in m.operations],
            "down": m.down is not None,
        }
        for m in load_all(locations)
    ]
    if json_:
        emit_json(rows)
        return
    console = stdout()
    for row in rows:
        deps = f" (after {', '.join(row['depends_on'])})" if row["depends_on"] else ""
        console.print(
            f"[bold]{esc(row['id'])}[/bold]{esc(deps)}: {esc(row['description'])}"
            + ("" if row["down"] else " [dim](no down)[/dim]")
        )
        for op in row["operations"]:
            console.print(Text(f"    - {op}"))
