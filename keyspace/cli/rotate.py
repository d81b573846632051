"""``keyspace rotate-keys``: re-encrypt every token that is not under the current ENCRYPTION_KEY."""

from __future__ import annotations

import typer

from keyspace.cli.errors import FAILED, OK, KeyspaceCommand, exit_codes_epilog
from keyspace.cli.migrate import Batch, Lease, Quiet, Rate, print_report, progress_runner
from keyspace.cli.options import CeleryUrl, Json, Url
from keyspace.cli.output import emit_json

app = typer.Typer()


@app.command("rotate-keys", cls=KeyspaceCommand, epilog=exit_codes_epilog("rotate-keys"))
def rotate_keys(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    batch: Batch = 500,
    rate: Rate = None,
    lease: Lease = 30.0,
    quiet: Quiet = False,
    json_: Json = False,
) -> None:
    """Re-encrypt every token not under the current ENCRYPTION_KEY (then run `keyspace migrate verify`).

    Put the previous key in ENCRYPTION_OLD_KEYS first; the run takes the migration lock, checkpoints
    and resumes like `migrate up`.
    """
    run, bar = progress_runner(
        ctx, url, celery_url, None, quiet or json_, batch=batch, rate=rate, lease=lease
    )
    try:
        with bar:
            report = run.rotate_keys()
    finally:
        run.mapper.close()
    if json_:
        emit_json({"ok": report.ok, "report": report.as_dict()})
    else:
        print_report("rotate-keys", report)
    raise typer.Exit(OK if report.ok else FAILED)
