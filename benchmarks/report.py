"""The report: the machine and the versions measured on, the table, the JSON line, saved runs compared.

A saved run (``--save FILE``) is the JSON object the run prints last; ``--compare
FILE`` shows each figure next to the same figure of that run.  Runs saved before
figures had spreads (plain numbers) compare too.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import Figure


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": load,
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def versions(redis_server: str | None) -> dict[str, str]:
    out = {"python": f"{platform.python_implementation()} {platform.python_version()}"}
    for name in ("redis", "hiredis", "pydantic", "pydantic-core", "cryptography", "redis-om"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if redis_server:
        out["redis-server"] = redis_server
    return out


def document(
    figures: list[Figure], *, mode: str, started: datetime.datetime, seconds: float, info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "mode": mode,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        **info,
        "figures": {f.key: f.as_dict() for f in figures},
    }


def load(path: str) -> dict[str, dict[str, Any]]:
    """The figures of a saved run (its last JSON line), medians under "median"."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip().startswith("{")]
    saved = json.loads(lines[-1])
    figures = saved.get("figures")
    if figures is None:  # a run saved before spreads: flat numbers
        figures = {k: {"median": v} for k, v in saved.items() if isinstance(v, int | float)}
    return figures  # type: ignore[no-any-return]


def _verdict(figure: Figure) -> str:
    return {True: "ok", False: "MISSED", None: ""}[figure.met]


def print_table(
    figures: list[Figure],
    doc: dict[str, Any],
    before: dict[str, dict[str, Any]] | None,
    out: Any = sys.stdout,
) -> None:
    m, v = doc["machine"], doc["versions"]
    print(f"keyspace benchmarks, {doc['mode']} mode, {doc['started']} ({doc['seconds']:.0f} s)", file=out)
    load = " ".join(str(x) for x in m["load_average_at_start"])
    print(f"machine: {m['cpu']}, {m['cores']} cores, load average {load} at start, {m['platform']}", file=out)
    print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items()), file=out)
    for note in doc.get("notes", []):
        print(f"note: {note}", file=out)
    head = f"{'measure':38} {'median':>7} {'min':>7} {'max':>7}  {'target':14}"
    if before is not None:
        head += f" {'before':>7} {'change':>7}"
    print(head, file=out)
    for f in figures:
        row = f"{f.key:38} {f.median:7.3f} {min(f.samples):7.3f} {max(f.samples):7.3f}  {f.target:14}"
        if before is not None:
            old = (before.get(f.key) or {}).get("median")
            row += f" {old:7.3f} {f.median / old - 1:+7.1%}" if old else f" {'-':>7} {'-':>7}"
        row += f" {_verdict(f)}"
        print(row.rstrip(), file=out)


def markdown(doc: dict[str, Any]) -> str:
    """A README table of a run's figures (median, min-max, target)."""
    m, v = doc["machine"], doc["versions"]
    lines = [
        f"{doc['mode'].capitalize()} run of `python -m benchmarks` on {m['cpu']} ({m['cores']} cores, load "
        f"average {' '.join(str(x) for x in m['load_average_at_start'])} at start), "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f", {doc['started'][:10]}.",
        "",
        "| measure | median | min-max | target |",
        "|---|---|---|---|",
    ]
    for f in doc["figures"].values():
        lines.append(
            f"| {f['label']} | {f['median']:.2f} | {f['min']:.2f}-{f['max']:.2f} | {f.get('target', '')} |"
        )
    return "\n".join(lines)
