"""Shared by the examples: ``--url`` (default: the in-memory server) and a throwaway key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing


def parse(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--url",
        default="memory://",
        help="Redis URL (default: the in-memory server); use a development server: examples write keys",
    )
    return parser.parse_args()


def require_empty(mapper: object, url: str) -> None:
    """Examples that seed data refuse a server that already holds keys."""
    client = mapper.clients["app"]  # type: ignore[attr-defined]
    if not url.startswith("memory:") and client.dbsize():
        from keyspace.io.clients import redact  # a URL may carry a password: never print it

        raise SystemExit(f"refusing to write example data to {redact(url)}: the database is not empty")
