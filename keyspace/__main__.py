"""``python -m keyspace`` = the ``keyspace`` command."""

from keyspace.cli import main

main()
