"""Versioned, locked, resumable data migrations (``keyspace migrate …``).

Migration scripts import what they need from ``keyspace`` itself
(``from keyspace import Migration, EncryptFields``).  The engine runs on a
Mapper or an AsyncMapper alike (``await runner.up()`` on the latter).
"""

from keyspace.ops.migrate.operations import (
    ApplyTtlPolicy,
    CopyKeys,
    Decision,
    DecryptFields,
    EncryptFields,
    Hook,
    Item,
    ItemWrites,
    Migration,
    Operation,
    PerItem,
    Rekey,
    RotateKeys,
    Skip,
    TransformValues,
)
from keyspace.ops.migrate.report import Report
from keyspace.ops.migrate.runner import Runner, load_all, load_migrations

__all__ = [
    "ApplyTtlPolicy",
    "CopyKeys",
    "Decision",
    "DecryptFields",
    "EncryptFields",
    "Hook",
    "Item",
    "ItemWrites",
    "Migration",
    "Operation",
    "PerItem",
    "Rekey",
    "Report",
    "RotateKeys",
    "Runner",
    "Skip",
    "TransformValues",
    "load_all",
    "load_migrations",
]
