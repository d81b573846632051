"""``keyspace info``: the useful parts of INFO (server, memory, clients, keyspace) of both servers."""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import CeleryUrl, Json, Url
from keyspace.cli.output import emit_json, stdout
from keyspace.core.programs import Call, ErrorReply, Program
from keyspace.errors import ServerError

app = typer.Typer()

WANTED = {
    "server": ("redis_version", "uptime_in_days"),
    "memory": ("used_memory_human", "used_memory_peak_human", "maxmemory_human", "mem_fragmentation_ratio"),
    "clients": ("connected_clients", "blocked_clients"),
}


def parse_info(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def _info_program() -> Program[list[Any]]:
    """INFO of each wanted section, then the keyspace section, in one round trip."""
    replies = yield Call([("INFO", part) for part in WANTED] + [("INFO", "keyspace")])
    for reply in replies:
        if isinstance(reply, ErrorReply):
            raise ServerError(f"INFO failed: {reply}")
    return list(replies)


@app.command("info", cls=KeyspaceCommand, epilog=exit_codes_epilog("info"))
def info(ctx: typer.Context, url: Url = None, celery_url: CeleryUrl = None, json_: Json = False) -> None:
    """Server, memory, clients and keyspace of the app and the celery server."""
    st = state(ctx)
    result: dict[str, Any] = {}
    with st.mapper(url, celery_url) as mapper:
        servers = ["app"] if mapper.same_server("app", "celery") else ["app", "celery"]
        for name in servers:
            replies = mapper.run(_info_program(), server=name)
            section: dict[str, Any] = {}
            for (_part, fields), raw in zip(WANTED.items(), replies, strict=False):
                parsed = parse_info(raw)
                section.update({f: parsed.get(f) for f in fields})
            section["keyspace"] = {k: v for k, v in parse_info(replies[-1]).items() if k.startswith("db")}
            result[name] = section
    if json_:
        emit_json(result)
        return
    console = stdout()
    where = st.servers(url, celery_url)
    for name, section in result.items():
        console.print(Text(f"{name} server ({where[name]})", style="bold"))
        for k, v in section.items():
            console.print(Text(f"  {k}: {v}"))
