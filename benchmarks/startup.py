"""Start-up: ``import keyspace`` and ``keyspace --help`` vs ``import redis, pydantic, cryptography``.

Each is a fresh interpreter (``python -c``, or the console script), timed from
spawn to exit; rounds alternate the three so that drift hits them alike, and
each figure is the median of per-round ratios.  Bytecode caching is on (as in
an installed package) and warmed by one run of each first, so the figures count
imports, not compilation.  ``python -c pass`` and the dependencies with one
pydantic model defined (pydantic builds its model machinery lazily, on the first
model) are timed too, to show what any pydantic-based library pays.  The times
include the interpreter's exit.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import Figure

ROOT = Path(__file__).resolve().parent.parent


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("keyspace")
    if script.exists():
        return [str(script)]
    found = shutil.which("keyspace")
    return [found] if found else [sys.executable, "-m", "keyspace"]


def run(quick: bool) -> list[Figure]:
    rounds = 7 if quick else 15
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "deps": [sys.executable, "-c", "import redis, pydantic, cryptography"],
        "deps_model": [
            sys.executable,
            "-c",
            "import redis, pydantic, cryptography\nclass A(pydantic.BaseModel):\n    x: int",
        ],
        "import": [sys.executable, "-c", "import keyspace"],
        "help": [*_cli(), "--help"],
    }
    for argv in commands.values():  # warm: bytecode written, files in the page cache
        _timed(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    order = list(commands)
    for i in range(rounds):
        for name in order if i % 2 == 0 else reversed(order):
            times[name].append(_timed(commands[name], env))
    medians = {name: round(statistics.median(values) * 1000, 1) for name, values in times.items()}
    extra = {"median_ms": medians}
    note = "reported, no target: import keyspace loads the core and the mapper by design (keyspace/__init__)"
    return [
        Figure(
            "import_vs_deps_time_ratio",
            "import keyspace, time / import redis, pydantic, cryptography (fresh interpreters)",
            [a / b for a, b in zip(times["import"], times["deps"], strict=True)],
            "(reported)",
            note=note,
            extra=extra,
        ),
        Figure(
            "import_vs_deps_and_a_model_time_ratio",
            "import keyspace, time / the same plus one pydantic model defined (what using pydantic costs)",
            [a / b for a, b in zip(times["import"], times["deps_model"], strict=True)],
            "(reported)",
        ),
        Figure(
            "cli_help_vs_deps_time_ratio",
            "keyspace --help, time / import redis, pydantic, cryptography (fresh interpreters)",
            [a / b for a, b in zip(times["help"], times["deps"], strict=True)],
            "(reported)",
            note="typer and rich on top of import keyspace",
        ),
    ]
