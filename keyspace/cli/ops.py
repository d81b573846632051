"""Operator commands: show, get, scan, stats, doctor, backup, restore, info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from keyspace.cli.common import FAILED, OK, URL_HELP, emit_json, err, handle_errors, mapper_for, out

UrlOpt = typer.Option(None, "--url", help=URL_HELP)
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _schema() -> Any:
    from keyspace.cli.common import load_models

    return load_models()


def _field_args(args: list[str], spec: Any) -> dict[str, str]:
    """``--okx-uid 5000… --side long`` -> {"okx_uid": "5000…", "side": "long"}."""
    out_: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise typer.BadParameter(f"unexpected argument {arg!r} (use --FIELD VALUE)")
        name, _, value = arg[2:].partition("=")
        name = name.replace("-", "_")
        if not value:
            if i + 1 >= len(args):
                raise typer.BadParameter(f"--{name.replace('_', '-')} needs a value")
            value = args[i + 1]
            i += 1
        if name not in spec.model.model_fields:
            known = ", ".join("--" + f.replace("_", "-") for f in spec.model.model_fields)
            raise typer.BadParameter(f"{spec.name} has no field {name!r} (fields: {known})")
        out_[name] = value
        i += 1
    return out_


def _render_key(data: dict[str, Any], json_: bool) -> None:
    if json_:
        emit_json(data)
        return
    out.print(f"[bold]{data['key']}[/bold]  model {data['model']} ({data['server']} server)")
    out.print(f"  key values: {data['key_values']}")
    ttl = "none (persistent)" if data["ttl"] is None else f"{data['ttl']}s"
    policy = data["ttl_policy"]
    out.print(
        f"  type {data['redis_type']}, TTL {ttl} (policy: {'none' if policy is None else f'{policy}s'})"
    )
    if not data["exists"]:
        out.print("  [yellow](the key does not exist)[/yellow]")
        return
    table = Table("field", "value", show_header=True)
    for name, value in data.get("fields", {}).items():
        mark = " 🔒" if name in data.get("encrypted_fields", []) else ""
        table.add_row(name + mark, str(value))
    for name, value in data.get("unknown_fields", {}).items():
        table.add_row(f"{name} (undeclared)", str(value))
    out.print(table)


def _describe(url: str | None, key: str, reveal: bool, json_: bool) -> None:
    from keyspace.ops.inspect import describe_key

    registry = _schema()
    if reveal:
        err.print("[yellow]warning: revealing decrypted secrets on this terminal[/yellow]")
    mapper = mapper_for(url)
    try:
        _render_key(describe_key(mapper, key, reveal=reveal, registry=registry), json_)
    finally:
        mapper.close()


@handle_errors
def show(
    key: str = typer.Argument(..., help="a concrete key, e.g. user:500000000000000001:api:keys"),
    url: str | None = UrlOpt,
    reveal: bool = typer.Option(False, "--reveal", help="decrypt encrypted fields (prints a warning)"),
    json_: bool = JsonOpt,
) -> None:
    """Model, key values, Redis type, TTL and decoded fields of one key (secrets masked)."""
    _describe(url, key, reveal, json_)


@handle_errors
def get(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="a model name, e.g. UserApiKeys"),
    url: str | None = UrlOpt,
    reveal: bool = typer.Option(False, "--reveal", help="decrypt encrypted fields (prints a warning)"),
    json_: bool = JsonOpt,
) -> None:
    """Like show, from key values: keyspace get UserApiKeys --okx-uid 500000000000000001."""
    spec = _schema().get(model)
    values = _field_args(ctx.args, spec)
    key = spec.render(spec.key_texts(values))
    _describe(url, key, reveal, json_)


@handle_errors
def scan(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="a model name"),
    url: str | None = UrlOpt,
    limit: int | None = typer.Option(None, "--limit", min=1, help="stop after N instances"),
    json_: bool = typer.Option(False, "--json", help="JSON lines, one instance each"),
) -> None:
    """Stream the instances of a model that match --FIELD VALUE filters (SCAN, never KEYS)."""
    from keyspace.errors import KeyspaceError

    spec = _schema().get(model)
    filters = _field_args(ctx.args, spec)
    mapper = mapper_for(url)
    errors: list[KeyspaceError] = []
    table = Table(*spec.model.model_fields, show_header=True) if not json_ else None
    n = 0
    for item in mapper.scan(spec.model, on_error=errors.append, **filters):
        data = json.loads(item.model_dump_json())  # secrets masked by their type
        data.update(item.unknown_fields)
        if json_:
            typer.echo(json.dumps({"key": item.redis_key, **data}, default=str))
        else:
            assert table is not None
            table.add_row(*(str(data.get(f)) for f in spec.model.model_fields))
        n += 1
        if limit and n >= limit:
            break
    if table is not None:
        out.print(table)
        out.print(f"{n} instance(s)")
    for error in errors:
        err.print(f"[red]skipped[/red] {error.key}: {error.reason}")
    mapper.close()
    raise typer.Exit(FAILED if errors else OK)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


@handle_errors
def stats(
    url: str | None = UrlOpt,
    sample: int | None = typer.Option(None, "--sample", min=1, help="look at N keys only (a quick estimate)"),
    json_: bool = JsonOpt,
) -> None:
    """Per model: keys, memory, TTL mismatches, plaintext/undecryptable secrets, bad values; unowned keys."""
    from keyspace.ops.inspect import collect_stats

    registry = _schema()
    mapper = mapper_for(url)
    progress = _progress()
    tasks: dict[str, Any] = {}

    def update(server: str, done: int, total: int) -> None:
        if server not in tasks:
            tasks[server] = progress.add_task(f"scanning the {server} server", total=total)
        progress.update(tasks[server], completed=min(done, total), total=total)

    with progress:
        result = collect_stats(mapper, sample=sample, registry=registry, progress=update)
    mapper.close()
    if json_:
        emit_json(result.as_dict())
        return
    table = Table(
        "model",
        "server",
        "keys",
        "memory≈",
        "TTL≠policy",
        "plaintext",
        "undecryptable",
        "wrong type",
        "corrupt",
    )
    for m in result.models.values():
        mem = m.memory_estimate
        table.add_row(
            m.model,
            m.server,
            str(m.keys),
            "-" if mem is None else f"{mem / 1024:.1f} KiB",
            str(m.ttl_mismatch),
            str(m.plaintext),
            str(m.undecryptable),
            str(m.wrong_type),
            str(m.corrupt),
        )
    out.print(table)
    for server, count in result.unowned.items():
        out.print(
            f"keys of no model on {server}: {count} (e.g. {', '.join(result.unowned_samples[server][:5])})"
        )
    if result.sampled:
        out.print(f"[dim]sampled {dict(result.scanned)} of {result.total} keys[/dim]")


@handle_errors
def doctor(
    url: str | None = UrlOpt,
    okx_uid: str | None = typer.Option(
        None, "--okx-uid", help="also check one user's keys, status, positions"
    ),
    sample: int | None = typer.Option(None, "--sample", min=1, help="look at N keys only"),
    json_: bool = JsonOpt,
) -> None:
    """The guide's troubleshooting as checks: ok / warn / fail with a one-line fix. Exit 1 on any fail."""
    from keyspace.ops.inspect import run_doctor

    _schema()
    mapper = mapper_for(url)
    checks = run_doctor(mapper, okx_uid=okx_uid, sample=sample)
    mapper.close()
    if json_:
        emit_json([c.as_dict() for c in checks])
    else:
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            fix = f"\n      → {c.fix}" if c.fix and c.status != "ok" else ""
            out.print(
                f"[{colour[c.status]}]{c.status:>4}[/{colour[c.status]}]  {c.name}: {c.message}{fix}",
                highlight=False,
            )
    raise typer.Exit(FAILED if any(c.status == "fail" for c in checks) else OK)


@handle_errors
def backup(
    file: Path = typer.Argument(..., help="the backup file to write (gzip)"),
    url: str | None = UrlOpt,
    match: str | None = typer.Option(None, "--match", help="only keys matching this SCAN pattern"),
    model: list[str] = typer.Option([], "--model", help="only keys of these models (repeatable)"),
    celery: bool = typer.Option(
        False, "--celery", help="back up the celery server instead of the app server"
    ),
) -> None:
    """SCAN + DUMP + PTTL into one compressed file with a header and a checksum per record."""
    from keyspace.ops.backup import backup as run_backup

    registry = _schema()
    mapper = mapper_for(url)
    execute = mapper._executors["celery" if celery else "app"]
    progress = Progress(
        TextColumn("{task.description}"), TextColumn("{task.completed} keys"), console=err, transient=True
    )
    with progress:
        task = progress.add_task("backing up", total=None)
        header = run_backup(
            execute,
            file,
            match=match,
            models=model,
            registry=registry,
            progress=lambda n: progress.update(task, completed=n),
        )
    mapper.close()
    out.print(
        f"wrote {header['records']} keys to {file} (Redis {header['server_version']}, {header['created']})"
    )


@handle_errors
def restore(
    file: Path = typer.Argument(..., help="a file written by `keyspace backup`"),
    url: str | None = UrlOpt,
    replace: bool = typer.Option(False, "--replace", help="overwrite keys that already exist"),
    celery: bool = typer.Option(False, "--celery", help="restore into the celery server"),
) -> None:
    """Verify every checksum, then RESTORE each key with its remaining TTL (nothing from a damaged file)."""
    from keyspace.ops.backup import restore as run_restore

    _schema()
    mapper = mapper_for(url)
    result = run_restore(mapper._executors["celery" if celery else "app"], file, replace=replace)
    mapper.close()
    out.print(f"restored {result['restored']} keys from {file}")


@handle_errors
def info(url: str | None = UrlOpt, json_: bool = JsonOpt) -> None:
    """The useful parts of INFO (server, keyspace, memory, clients) for both servers."""
    mapper = mapper_for(url)
    servers = {"app": mapper._executors["app"]}
    if mapper.links["celery"] is not mapper.links["app"]:
        servers["celery"] = mapper._executors["celery"]
    wanted = {
        "server": ("redis_version", "uptime_in_days"),
        "memory": (
            "used_memory_human",
            "used_memory_peak_human",
            "maxmemory_human",
            "mem_fragmentation_ratio",
        ),
        "clients": ("connected_clients", "blocked_clients"),
    }
    result: dict[str, Any] = {}
    for name, execute in servers.items():
        section: dict[str, Any] = {}
        for part, fields in wanted.items():
            (raw,) = execute([("INFO", part)])
            parsed = _parse_info(raw)
            section.update({f: parsed.get(f) for f in fields})
        (raw,) = execute([("INFO", "keyspace")])
        section["keyspace"] = {k: v for k, v in _parse_info(raw).items() if k.startswith("db")}
        result[name] = section
    mapper.close()
    if json_:
        emit_json(result)
        return
    for name, section in result.items():
        out.print(f"[bold]{name} server[/bold]")
        for k, v in section.items():
            out.print(f"  {k}: {v}")


def _parse_info(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    out_: dict[str, Any] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out_[k] = v.strip()
    return out_


def register(app: typer.Typer) -> None:
    app.command("show")(show)
    app.command("get", context_settings=EXTRA)(get)
    app.command("scan", context_settings=EXTRA)(scan)
    app.command("stats")(stats)
    app.command("doctor")(doctor)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("info")(info)
