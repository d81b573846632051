"""``keyspace stats``: the keyspace per model, with its problems, and the keys of no model."""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import CeleryUrl, Json, Sample, Url
from keyspace.cli.output import emit_json, progress, records, stdout

app = typer.Typer()

HEADERS = [
    "model",
    "server",
    "keys",
    "memory≈",
    "TTL≠policy",
    "plaintext",  # legacy plaintext in Encrypted fields: awaiting `keyspace migrate up`
    "by policy",  # plaintext in Masked fields: stored so because their readers do not decrypt
    "old key",
    "undecryptable",
    "suspicious",
    "wrong type",
    "corrupt",
    "key types",  # keys in the model's shape that fail its key types
]


def memory(size: int | None) -> str:
    if size is None:
        return "-"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


@app.command("stats", cls=KeyspaceCommand, epilog=exit_codes_epilog("stats"))
def stats(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    sample: Sample = None,
    json_: Json = False,
) -> None:
    """Per model: keys, memory, TTL mismatches, plaintext/undecryptable secrets, bad values; unowned keys."""
    from keyspace.ops.inspect import collect_stats

    st = state(ctx)
    registry = st.registry()
    bar = progress(disable=json_)
    tasks: dict[str, Any] = {}

    def update(server: str, done: int, total: int) -> None:
        if server not in tasks:
            tasks[server] = bar.add_task(f"scanning the {server} server", total=total)
        bar.update(tasks[server], completed=min(done, total), total=total)

    with st.mapper(url, celery_url) as mapper, bar:
        result = collect_stats(mapper, sample=sample, registry=registry, progress=update)
    if json_:
        emit_json(result.as_dict())
        return
    rows = [
        [
            m.model,
            m.server,
            str(m.keys),
            memory(m.memory_estimate),
            str(m.ttl_mismatch),
            str(m.plaintext),
            str(m.policy_plaintext),
            str(m.old_key),
            str(m.undecryptable),
            str(m.suspicious),
            str(m.wrong_type),
            str(m.corrupt),
            str(m.mistyped),
        ]
        for m in result.models.values()
    ]
    console = stdout()
    console.print(records(HEADERS, rows, console=console))
    console.print(
        Text(
            "secrets are counted in keys: plaintext = legacy plaintext awaiting `keyspace migrate up`; "
            "by policy = plaintext its readers need (Masked: see docs/secrets.md)",
            style="dim",
        )
    )
    for server, count in result.unowned.items():
        samples = ", ".join(result.unowned_samples[server][:5])
        console.print(Text(f"keys of no model on {server}: {count} (e.g. {samples})"))
    if result.sampled:
        console.print(Text(f"sampled {dict(result.scanned)} of {result.total} keys", style="dim"))
