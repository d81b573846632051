"""``keyspace ttl apply``: give keys written without an expiry their model's TTL, at any time.

Not a one-shot migration: a model added later, or an old writer that forgot its
EXPIRE, is fixed by running this again (doctor's TTL advice points here).
Persistent models and models whose TTL policy is ``keep`` are never touched.
"""

from __future__ import annotations

from typing import Annotated

import typer

from keyspace.cli.errors import FAILED, OK, KeyspaceCommand, exit_codes_epilog
from keyspace.cli.migrate import Batch, Lease, Quiet, Rate, print_report, progress_runner
from keyspace.cli.options import CeleryUrl, Json, Url
from keyspace.cli.output import emit_json

app = typer.Typer(help="TTL policy: apply it to keys that have no expiry.", no_args_is_help=True)


@app.command("apply", cls=KeyspaceCommand, epilog=exit_codes_epilog("ttl apply"))
def apply(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="only these models (repeatable)", show_default=False)
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would change; write nothing")
    ] = False,
    batch: Batch = 500,
    rate: Rate = None,
    lease: Lease = 30.0,
    quiet: Quiet = False,
    json_: Json = False,
) -> None:
    """EXPIRE … NX every key of a TTL model that has no expiry (locked, checkpointed, resumable)."""
    run, bar = progress_runner(
        ctx, url, celery_url, None, quiet or json_, batch=batch, rate=rate, lease=lease
    )
    try:
        with bar:
            report = run.apply_ttl_policy(model or None, dry_run=dry_run)
    finally:
        run.mapper.close()
    if json_:
        emit_json({"ok": report.ok, "dry_run": dry_run, "report": report.as_dict()})
    else:
        print_report("ttl apply" + (" (dry run)" if dry_run else ""), report)
    raise typer.Exit(OK if report.ok else FAILED)
