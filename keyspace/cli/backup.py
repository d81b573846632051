"""``keyspace backup FILE`` and ``keyspace restore FILE``: SCAN + DUMP into one sealed file, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import CeleryUrl, Json, Url, model_spec
from keyspace.cli.output import emit_json, progress, stdout, warn

app = typer.Typer()

Celery = Annotated[
    bool, typer.Option("--celery", help="the celery server instead of the app server (see --celery-url)")
]


def _server(ctx: typer.Context, celery: bool, url: str | None, celery_url: str | None) -> tuple[str, str]:
    """(server name, printable address) and a note when --url alone decides where --celery goes."""
    server = "celery" if celery else "app"
    where = state(ctx).servers(url, celery_url)[server]
    if celery and url is not None and celery_url is None:
        warn(f"note: --celery with only --url uses {where}; add --celery-url URL to choose the celery server")
    return server, where


@app.command("backup", cls=KeyspaceCommand, epilog=exit_codes_epilog("backup"))
def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="the file to write (0600, encrypted, authenticated)")],
    url: Url = None,
    celery_url: CeleryUrl = None,
    match: Annotated[
        str | None, typer.Option("--match", help="only keys matching this SCAN pattern", show_default=False)
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="only keys of this model (repeatable)")
    ] = None,
    celery: Celery = False,
    force: Annotated[bool, typer.Option("--force", help="overwrite FILE if it exists")] = False,
    json_: Json = False,
) -> None:
    """SCAN + DUMP + PTTL into one file sealed with KEYSPACE_BACKUP_KEY (else ENCRYPTION_KEY)."""
    from keyspace.ops.backup import BackupKeys
    from keyspace.ops.backup import backup as run_backup

    st = state(ctx)
    registry = st.registry()
    models = [model_spec(registry, name).name for name in model or []]
    server, where = _server(ctx, celery, url, celery_url)
    bar = progress(counted=False, disable=json_)
    with st.mapper(url, celery_url) as mapper, bar:
        task = bar.add_task("backing up", total=None)
        header = run_backup(
            mapper,
            file,
            server=server,
            keys=BackupKeys.from_env(st.environment()),
            force=force,
            match=match,
            models=models,
            registry=registry,
            progress=lambda n: bar.update(task, completed=n),
        )
    if json_:
        emit_json({"file": str(file), "server": server, "address": where, "header": header})
        return
    stdout().print(
        Text(
            f"wrote {header['records']} keys of the {server} server to {file} "
            f"(Redis {header['server_version']}, {header['created']})"
        )
    )


@app.command("restore", cls=KeyspaceCommand, epilog=exit_codes_epilog("restore"))
def restore(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="a file written by `keyspace backup`", exists=True, dir_okay=False)
    ],
    url: Url = None,
    celery_url: CeleryUrl = None,
    replace: Annotated[bool, typer.Option("--replace", help="overwrite keys that already exist")] = False,
    celery: Celery = False,
    json_: Json = False,
) -> None:
    """Verify the whole sealed file, then RESTORE each key with its remaining TTL (nothing if it is bad)."""
    from keyspace.ops.backup import BackupKeys
    from keyspace.ops.backup import restore as run_restore

    st = state(ctx)
    st.registry()
    server, where = _server(ctx, celery, url, celery_url)
    with st.mapper(url, celery_url) as mapper:
        keys = BackupKeys.from_env(st.environment())
        result = run_restore(mapper, file, server=server, keys=keys, replace=replace)
    if json_:
        emit_json(
            {
                "file": str(file),
                "server": server,
                "address": where,
                "restored": result["restored"],
                "header": result["header"],
            }
        )
        return
    stdout().print(Text(f"restored {result['restored']} keys from {file} into the {server} server"))
