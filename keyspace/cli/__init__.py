"""The ``keyspace`` command line (typer + rich): one command group per module.

main.py (root app, global options), context.py (settings, project, servers),
errors.py (exit codes, the error boundary), output.py (JSON, tables),
options.py (shared options), then one module per command group; rawcli.py
is the ``redis-remote`` / ``redis-local`` console scripts.
"""

from __future__ import annotations

from keyspace.cli.main import app, main

__all__ = ["app", "main"]
