"""Options shared by several commands (``typing.Annotated`` aliases)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from keyspace.cli.errors import KeyspaceCommand

if TYPE_CHECKING:
    from keyspace.core.model import ModelSpec
    from keyspace.core.registry import Registry

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="the app server (redis://, rediss://, memory://NAME); default: REDIS_URL / REDIS_HOST "
        "of the environment and .env. Celery's models go to --celery-url.",
        show_default=False,
    ),
]
CeleryUrl = Annotated[
    str | None,
    typer.Option(
        "--celery-url",
        help="the celery server; default: CELERY_RESULT_BACKEND_OVERRIDE / CELERY_BROKER_URL_OVERRIDE, "
        "or with --url only: the --url server",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output (JSON on stdout)")]
Reveal = Annotated[
    bool, typer.Option("--reveal", help="decrypt encrypted fields (prints a warning on stderr)")
]
Sample = Annotated[
    int | None,
    typer.Option("--sample", min=1, help="look at N keys only (a quick estimate)", show_default=False),
]


def field_option(name: str) -> str:
    """``okx_uid`` -> ``--okx-uid``."""
    return "--" + name.replace("_", "-")


class ModelFieldsCommand(KeyspaceCommand):
    """A command taking ``MODEL --FIELD VALUE …``: its help lists every model and its key fields."""

    base_epilog = ""
    value_filters = False

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self.epilog = f"{models_epilog(ctx, value_filters=self.value_filters)}\n\n{self.base_epilog}"
        super().format_help(ctx, formatter)


def models_epilog(ctx: typer.Context, *, value_filters: bool) -> str:
    """The configured models and their key fields, for --help (loaded only when help is asked for)."""
    from rich.markup import escape

    from keyspace.cli.context import state
    from keyspace.core.guide import group_by_module

    st = state(ctx)
    try:
        specs = [
            s
            for _, members in group_by_module(st.registry(require=True), st.project().models)
            for s in members
        ]
    except Exception as exc:  # help must print anyway
        return escape(f"Models: the schema cannot be loaded ({exc}).")
    lines = [
        "Models and their key fields: give each as --FIELD VALUE "
        "(e.g. --user-id 500000000000000001); | separates alternative keys."
    ]
    if value_filters:
        lines.append("scan also filters on any value field (e.g. --status running).")
    width = max((len(s.name) for s in specs), default=0)
    for spec in specs:
        keys = " | ".join(
            " ".join(field_option(f) for f in template.fields) or "(no key fields)"
            for template in spec.templates
        )
        lines.append(f"  {spec.name:<{width}}  {keys}")
    return escape("\n".join(lines))


def parse_field_args(args: list[str], spec: ModelSpec, *, key_fields_only: bool) -> dict[str, str]:
    """``--okx-uid 5000… --side=long`` -> {"okx_uid": "5000…", "side": "long"} (BadParameter otherwise)."""
    allowed = list(spec.key_fields) if key_fields_only else list(spec.model.model_fields)
    known = ", ".join(field_option(f) for f in allowed) or "none"
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise typer.BadParameter(f"unexpected argument {arg!r}: give fields as --FIELD VALUE ({known})")
        name, eq, value = arg[2:].partition("=")
        name = name.replace("-", "_")
        if name not in allowed:
            what = "key field" if key_fields_only else "field"
            raise typer.BadParameter(f"{spec.name} has no {what} {field_option(name)} (its {what}s: {known})")
        if not eq:
            if i + 1 >= len(args):
                raise typer.BadParameter(f"{field_option(name)} needs a value")
            value = args[i + 1]
            i += 1
        if name in values:
            raise typer.BadParameter(f"{field_option(name)} is given twice")
        values[name] = value
        i += 1
    return values


def model_spec(registry: Registry, name: str) -> ModelSpec:
    """A model by name; an unknown name is a bad argument."""
    try:
        return registry.get(name)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None


def key_texts(spec: ModelSpec, values: dict[str, str], *, partial: bool) -> dict[str, str]:
    """Validated key texts; an invalid or missing key field is a bad argument."""
    from keyspace.errors import KeyspaceError

    try:
        return spec.key_texts(values, partial=partial)
    except KeyspaceError as exc:
        raise typer.BadParameter(str(exc)) from None


__all__ = [
    "CeleryUrl",
    "Json",
    "ModelFieldsCommand",
    "Reveal",
    "Sample",
    "Url",
    "field_option",
    "key_texts",
    "model_spec",
    "models_epilog",
    "parse_field_args",
]
