"""``keyspace scan MODEL --FIELD VALUE …``: stream a model's instances (SCAN, never KEYS)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import FAILED, OK, exit_codes_epilog
from keyspace.cli.options import (
    CeleryUrl,
    ModelFieldsCommand,
    Url,
    key_texts,
    model_spec,
    parse_field_args,
)
from keyspace.cli.output import emit_json_line, records, stderr, stdout

app = typer.Typer()


class ScanCommand(ModelFieldsCommand):
    base_epilog = exit_codes_epilog("scan")
    value_filters = True


@app.command(
    "scan",
    cls=ScanCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def scan(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="a model name, e.g. TradingStatus (see below)")],
    url: Url = None,
    celery_url: CeleryUrl = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="stop after N instances", show_default=False)
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="JSON lines on stdout, one instance each")] = False,
) -> None:
    """Stream the instances of a model that match --FIELD VALUE filters (SCAN + MATCH, never KEYS).

    Filters on key fields narrow the SCAN pattern; filters on value fields are compared after
    decoding. Keys that cannot be decoded are skipped and listed on stderr (exit 1).
    """
    from keyspace.errors import InvalidKeyValue, KeyspaceError, ValidationFailed

    st = state(ctx)
    spec = model_spec(st.registry(), model)
    filters: dict[str, Any] = parse_field_args(ctx.args, spec, key_fields_only=False)
    key_texts(spec, {k: v for k, v in filters.items() if k in spec.key_fields}, partial=True)
    st.note_celery_server(spec, url, celery_url)
    fields = list(spec.model.model_fields)
    errors: list[KeyspaceError] = []
    rows: list[list[str]] = []
    titles: list[str] = []
    n = 0
    with st.mapper(url, celery_url) as mapper:
        try:
            for item in mapper.scan(spec.model, on_error=errors.append, **filters):
                data: dict[str, Any] = json.loads(item.model_dump_json())  # secrets masked by their type
                data.update(item.unknown_fields)
                if json_:
                    emit_json_line({"key": item.redis_key, **data})
                else:
                    titles.append(item.redis_key)
                    rows.append([str(data.get(f)) for f in fields])
                n += 1
                if limit and n >= limit:
                    break
        except (InvalidKeyValue, ValidationFailed) as exc:
            if n:
                raise
            raise typer.BadParameter(str(exc)) from None
    if not json_:
        console = stdout()
        if rows:
            console.print(records(fields, rows, titles=titles, console=console))
        console.print(f"{n} instance(s)")
    err = stderr()
    for error in errors:
        err.print(Text.assemble(("skipped", "red"), f" {error.key}: {error.reason}"))
    raise typer.Exit(FAILED if errors else OK)
