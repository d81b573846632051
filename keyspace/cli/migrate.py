"""``keyspace migrate …`` (alembic-like) and ``keyspace rotate-keys``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from keyspace.cli.common import FAILED, OK, URL_HELP, emit_json, err, handle_errors, mapper_for, out

app = typer.Typer(help="Versioned, locked, resumable data migrations.", no_args_is_help=True)

UrlOpt = typer.Option(None, "--url", help=URL_HELP)
DirOpt = typer.Option(
    None,
    "--dir",
    help="only this migrations folder (or configured location name); "
    "default: every location of [tool.keyspace.migrations] / KEYSPACE_MIGRATIONS",
)
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
BatchOpt = typer.Option(500, "--batch", min=1, help="keys per SCAN batch / pipeline")
RateOpt = typer.Option(None, "--rate", min=1, help="at most this many keys per second (protects production)")
LeaseOpt = typer.Option(
    30.0, "--lease", min=1, help="seconds the lock survives a runner that stopped renewing it"
)


def _runner(url: str | None, directory: Path | None, **kwargs: Any) -> Any:
    from keyspace.cli.common import load_models
    from keyspace.ops.migrate import Runner

    load_models()

    return Runner(mapper_for(url), directory=directory, **kwargs)


def _progress_runner(
    url: str | None, directory: Path | None, quiet: bool, **kwargs: Any
) -> tuple[Any, Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    return _runner(url, directory, progress=update, **kwargs), progress


def _print_report(migration_id: str, report: Any) -> None:
    data = report.as_dict()
    out.print(
        f"[bold]{migration_id}[/bold]: scanned {data['scanned']}, changed {data['changed']}, "
        f"already done {data['already']}, conflicts re-read {data['conflicts']}, "
        f"skipped {sum(data['skipped'].values())}"
    )
    for name, count in sorted(data["by_field"].items()):
        out.print(f"  {name}: {count}")
    for model, keys in sorted(data["samples"].items()):
        out.print(f"  sample {model}: {', '.join(keys)}")
    for kind, keys in sorted(data["errors"].items()):
        out.print(
            f"  [red]skipped ({kind}, {data['skipped'][kind]})[/red]: {', '.join(keys[:10])}"
            + (" …" if len(keys) > 10 else "")
        )


@app.command()
@handle_errors
def status(
    url: str | None = UrlOpt,
    directory: Path | None = DirOpt,
    json_: bool = JsonOpt,
    check: bool = typer.Option(False, "--check", help="exit 1 while migrations are pending (deploy gate)"),
) -> None:
    """Applied and pending migrations, the lock, checksums."""
    data = _runner(url, directory).status()
    pending = [r["id"] for r in data["migrations"] if r["state"] == "pending"]
    if json_:
        emit_json({**data, "pending": pending})
    else:
        table = Table("id", "state", "applied at", "description", "checksum")
        for row in data["migrations"]:
            state = row["state"] + (" (stamped)" if row["stamped"] else "")
            state += " [yellow](script modified since)[/yellow]" if row["modified"] else ""
            state += " (interrupted: will resume)" if row["checkpoint"] else ""
            table.add_row(row["id"], state, row["applied_at"] or "", row["description"], row["checksum"])
        out.print(table)
        lock = data["lock"]
        out.print(
            f"running: {lock['holder']} ({lock['purpose']}) since {lock['since']}"
            if lock
            else "running: none"
        )
    raise typer.Exit(FAILED if check and pending else OK)


@app.command()
@handle_errors
def check(url: str | None = UrlOpt, directory: Path | None = DirOpt) -> None:
    """Exit 1 while migrations are pending, 0 when none are (for deploy gates)."""
    pending = [m.id for m in _runner(url, directory).pending()]
    if pending:
        err.print(f"pending migrations: {', '.join(pending)}")
        raise typer.Exit(FAILED)
    out.print("no pending migrations")


@app.command()
@handle_errors
def plan(
    url: str | None = UrlOpt,
    directory: Path | None = DirOpt,
    to: str | None = typer.Option(None, "--to", help="plan up to this migration"),
    json_: bool = JsonOpt,
    batch: int = BatchOpt,
) -> None:
    """Dry run: what `up` would change (counts per model and field, sample keys). Writes nothing."""
    reports = _runner(url, directory, batch=batch).plan(to)
    if json_:
        emit_json({mid: r.as_dict() for mid, r in reports.items()})
        return
    if not reports:
        out.print("nothing to do: no pending migrations")
    for mid, report in reports.items():
        _print_report(mid, report)


@app.command()
@handle_errors
def up(
    url: str | None = UrlOpt,
    directory: Path | None = DirOpt,
    to: str | None = typer.Option(None, "--to", help="apply up to (and including) this migration"),
    batch: int = BatchOpt,
    rate: float | None = RateOpt,
    lease: float = LeaseOpt,
    json_: bool = JsonOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Apply pending migrations under the lock, resuming an interrupted run."""
    runner, progress = _progress_runner(url, directory, quiet or json_, batch=batch, rate=rate, lease=lease)
    with progress:
        reports = runner.up(to)
    if json_:
        emit_json({mid: r.as_dict() for mid, r in reports.items()})
    elif not reports:
        out.print("nothing to do: no pending migrations")
    for mid, report in reports.items():
        if not json_:
            _print_report(mid, report)
    if any(not r.ok for r in reports.values()):
        err.print("some keys were skipped (listed above): fix them and run `keyspace migrate up` again")
        raise typer.Exit(FAILED)


@app.command()
@handle_errors
def down(
    migration_id: str = typer.Argument(..., metavar="ID"),
    url: str | None = UrlOpt,
    directory: Path | None = DirOpt,
    allow_plaintext: bool = typer.Option(
        False, "--allow-plaintext", help="needed to decrypt secrets back to plaintext"
    ),
    batch: int = BatchOpt,
    lease: float = LeaseOpt,
) -> None:
    """Undo one migration (only where it defines a down)."""
    report = _runner(url, directory, batch=batch, lease=lease, allow_plaintext=allow_plaintext).down(
        migration_id
    )
    _print_report(f"{migration_id} (down)", report)
    raise typer.Exit(OK if report.ok else FAILED)


@app.command()
@handle_errors
def verify(url: str | None = UrlOpt, directory: Path | None = DirOpt, json_: bool = JsonOpt) -> None:
    """Prove every encrypted value is a token under the current key (so ENCRYPTION_OLD_KEYS can go)."""
    result = _runner(url, directory).verify()
    if json_:
        emit_json(result)
    else:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(result["counts"].items())) or "no encrypted values"
        out.print(f"encrypted values ({counts}); current key {result['fingerprint']}")
        for kind, keys in sorted(result["problems"].items()):
            out.print(f"  [red]{kind}[/red]: {', '.join(keys[:10])}")
        for mid in result["modified"]:
            out.print(f"  [yellow]migration {mid} was modified after it was applied[/yellow]")
        out.print("[green]verified[/green]" if result["ok"] else "[red]not verified[/red]")
    raise typer.Exit(OK if result["ok"] else FAILED)


@app.command()
@handle_errors
def stamp(
    migration_id: str = typer.Argument(..., metavar="ID"),
    url: str | None = UrlOpt,
    directory: Path | None = DirOpt,
) -> None:
    """Record a migration (and its dependencies) as applied without running it."""
    stamped = _runner(url, directory).stamp(migration_id)
    out.print(f"stamped: {', '.join(stamped)}" if stamped else "already applied")


@app.command()
@handle_errors
def history(url: str | None = UrlOpt, directory: Path | None = DirOpt, json_: bool = JsonOpt) -> None:
    """Every migration with its dependencies and what it does."""
    from keyspace.io.project import Project
    from keyspace.ops.migrate import load_all

    project = Project.discover()
    locations = (project.location(directory),) if directory else project.require_migrations()
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
    for row in rows:
        deps = f" (after {', '.join(row['depends_on'])})" if row["depends_on"] else ""
        out.print(
            f"[bold]{row['id']}[/bold]{deps}: {row['description']}"
            + ("" if row["down"] else " [dim](no down)[/dim]")
        )
        for op in row["operations"]:
            out.print(f"    - {op}")


@handle_errors
def rotate_keys(
    url: str | None = UrlOpt,
    batch: int = BatchOpt,
    rate: float | None = RateOpt,
    lease: float = LeaseOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Re-encrypt every token not under the current ENCRYPTION_KEY (then run `keyspace migrate verify`)."""
    runner, progress = _progress_runner(url, None, quiet, batch=batch, rate=rate, lease=lease)
    with progress:
        report = runner.rotate_keys()
    _print_report("rotate-keys", report)
    raise typer.Exit(OK if report.ok else FAILED)
