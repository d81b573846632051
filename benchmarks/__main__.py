"""keyspace vs hand-written redis-py (and redis-om, and a raw migration script), same server, same run.

    python -m benchmarks                      # full run, ~10 minutes (its own redis-server, cluster)
    python -m benchmarks --quick              # a short run
    python -m benchmarks --save run.json      # ... and keep it
    python -m benchmarks --compare run.json   # ... next to a kept run
    python -m benchmarks --only singles,concurrent

Every figure is a ratio against a baseline measured in the same run and process,
round by round with the baseline and keyspace alternating (benchmarks.common);
each is reported as the median of its rounds with their min and max, next to
its target.  The report starts with the machine (CPU, cores, load average at
start) and the versions measured; the last line printed is one JSON object with
everything (what ``--save`` writes).  Speed is measured here, never asserted in
the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.common import Figure

GROUPS = ("singles", "concurrent", "encryption", "memory", "redis_om", "migration", "cluster", "startup")


def run(
    quick: bool, groups: tuple[str, ...] = GROUPS, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    from keyspace.testing.server import running_server

    say = progress or (lambda _: None)
    started = datetime.datetime.now(datetime.UTC)
    clock = time.perf_counter()
    info: dict[str, Any] = {"machine": report.machine(), "notes": []}
    figures: list[Figure] = []
    server_version = None
    with running_server() as server:
        import redis

        admin = redis.Redis(port=server.port)
        server_version = str(admin.info("server").get("redis_version"))

        def group(name: str, fn: Callable[[], list[Figure]]) -> None:
            if name in groups:
                say(name)
                admin.flushall()
                figures.extend(fn())

        from benchmarks import concurrent, encryption, memory, migration, redis_om, singles

        group("singles", lambda: singles.run(server.url, server.port, quick))
        group("concurrent", lambda: concurrent.run(server.url, server.port, quick))
        group("encryption", lambda: encryption.run(quick))
        group("memory", lambda: memory.run(server.url, server.port, quick))
        if "redis_om" in groups and not redis_om.available():
            info["notes"].append(
                "redis-om not installed (pip install -e '.[bench]'): its figures are left out"
            )
        elif "redis_om" in groups:
            group("redis_om", lambda: redis_om.run(server.url, quick))
        group("migration", lambda: migration.figures(server.url, server.port, quick))
        admin.flushall()
        admin.close()
    if "cluster" in groups:
        from benchmarks import cluster

        say("cluster")
        figures.extend(cluster.run(quick))
    if "startup" in groups:
        from benchmarks import startup

        say("startup")
        figures.extend(startup.run(quick))
    info["versions"] = report.versions(server_version)
    doc = report.document(
        figures,
        mode="quick" if quick else "full",
        started=started,
        seconds=time.perf_counter() - clock,
        info=info,
    )
    doc["_figures"] = figures
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--save", metavar="FILE", help="write the run's JSON to FILE")
    parser.add_argument("--compare", metavar="FILE", help="show each figure next to a saved run's")
    parser.add_argument("--only", metavar="GROUPS", help=f"comma-separated, of: {', '.join(GROUPS)}")
    parser.add_argument("--markdown", action="store_true", help="also print the figures as a README table")
    parser.add_argument("--no-migration", action="store_true", help="skip the migration benchmark")
    parser.add_argument("--no-cluster", action="store_true", help="skip the cluster benchmark")
    args = parser.parse_args()
    groups = tuple(g.strip() for g in args.only.split(",")) if args.only else GROUPS
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s): {', '.join(unknown)} (known: {', '.join(GROUPS)})")
    groups = tuple(
        g
        for g in groups
        if not (g == "migration" and args.no_migration) and not (g == "cluster" and args.no_cluster)
    )
    before = report.load(args.compare) if args.compare else None
    doc = run(args.quick, groups, progress=lambda name: print(f"... {name}", file=sys.stderr, flush=True))
    figures = doc.pop("_figures")
    report.print_table(figures, doc, before)
    if args.markdown:
        print()
        print(report.markdown(doc))
    line = json.dumps(doc)
    if args.save:
        Path(args.save).write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
