"""``keyspace show KEY`` and ``keyspace get MODEL --FIELD VALUE …``: one key, decoded, secrets masked."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import (
    CeleryUrl,
    Json,
    ModelFieldsCommand,
    Reveal,
    Url,
    key_texts,
    model_spec,
    parse_field_args,
)
from keyspace.cli.output import emit_json, esc, records, stdout, warn

app = typer.Typer()


class GetCommand(ModelFieldsCommand):
    base_epilog = exit_codes_epilog("get")


def render_key(data: dict[str, Any]) -> None:
    console = stdout()
    console.print(
        f"[bold]{esc(data['key'])}[/bold]  model {esc(data['model'])} ({esc(data['server'])} server)"
    )
    values = ", ".join(f"{k}={v}" for k, v in data["key_values"].items())
    console.print(f"  key values: {esc(values)}")
    ttl = "none (persistent)" if data["ttl"] is None else f"{data['ttl']}s"
    policy = data["ttl_policy"]
    policy = "none" if policy is None else policy if isinstance(policy, str) else f"{policy}s"  # or "keep"
    console.print(f"  type {esc(data['redis_type'])}, TTL {ttl} (policy: {policy})")
    if not data["exists"]:
        console.print("  [yellow](the key does not exist)[/yellow]")
        return
    rows: list[list[str]] = []
    for name, value in data.get("fields", {}).items():
        mark = " 🔒" if name in data.get("encrypted_fields", []) else ""
        rows.append([name + mark, str(value)])
    for name, value in data.get("unknown_fields", {}).items():
        rows.append([f"{name} (undeclared)", str(value)])
    console.print(records(["field", "value"], rows, console=console))


def describe(
    ctx: typer.Context, key: str, url: str | None, celery_url: str | None, reveal: bool, json_: bool
) -> None:
    from keyspace.ops.inspect import describe_key

    st = state(ctx)
    registry = st.registry()
    found = registry.resolve(key)
    if found is None:
        raise typer.BadParameter(f"{key!r} belongs to no model (see `keyspace schema`)")
    st.note_celery_server(found[0], url, celery_url)
    if reveal:
        warn("warning: revealing decrypted secrets on this terminal")
    with st.mapper(url, celery_url) as mapper:
        data = describe_key(mapper, key, reveal=reveal, registry=registry)
    if json_:
        emit_json(data)
    else:
        render_key(data)


@app.command("show", cls=KeyspaceCommand, epilog=exit_codes_epilog("show"))
def show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="a concrete key, e.g. user:500000000000000001:api:keys")],
    url: Url = None,
    celery_url: CeleryUrl = None,
    reveal: Reveal = False,
    json_: Json = False,
) -> None:
    """Model, key values, Redis type, TTL and decoded fields of one key (secrets masked)."""
    describe(ctx, key, url, celery_url, reveal, json_)


@app.command(
    "get",
    cls=GetCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def get(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="a model name, e.g. UserApiKeys (see below)")],
    url: Url = None,
    celery_url: CeleryUrl = None,
    reveal: Reveal = False,
    json_: Json = False,
) -> None:
    """Like show, from the key fields: keyspace get UserApiKeys --user-id 500000000000000001.

    Every key field of the model is an option --FIELD VALUE (listed below).
    """
    spec = model_spec(state(ctx).registry(), model)
    values = parse_field_args(ctx.args, spec, key_fields_only=True)
    key = spec.render(key_texts(spec, values, partial=False))
    describe(ctx, key, url, celery_url, reveal, json_)
