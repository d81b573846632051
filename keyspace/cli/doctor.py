"""``keyspace doctor``: the operations guide's troubleshooting as checks (ok / warn / fail + a fix)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import FAILED, OK, KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import CeleryUrl, Json, Sample, Url
from keyspace.cli.output import emit_json, stdout

app = typer.Typer()

COLOUR = {"ok": "green", "warn": "yellow", "fail": "red"}


@app.command("doctor", cls=KeyspaceCommand, epilog=exit_codes_epilog("doctor"))
def doctor(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    okx_uid: Annotated[
        str | None,
        typer.Option("--okx-uid", help="also check one user's keys, status, positions", show_default=False),
    ] = None,
    sample: Sample = None,
    json_: Json = False,
) -> None:
    """Check both servers, ENCRYPTION_KEY, plaintext and bad keys, TTLs, migrations, breakers."""
    from keyspace.ops.inspect import run_doctor

    st = state(ctx)
    st.registry()
    with st.mapper(url, celery_url) as mapper:
        checks = run_doctor(mapper, user=okx_uid, sample=sample, project=st.project())
    if json_:
        emit_json([c.as_dict() for c in checks])
    else:
        console = stdout()
        for c in checks:
            line = Text.assemble((f"{c.status:>4}", COLOUR.get(c.status, "")), f"  {c.name}: {c.message}")
            if c.fix and c.status != "ok":
                line.append(f"\n      → {c.fix}")
            console.print(line)
    raise typer.Exit(FAILED if any(c.status == "fail" for c in checks) else OK)
