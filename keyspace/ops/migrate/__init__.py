"""Versioned, locked, resumable data migrations (``keyspace migrate …``).

Migration scripts import what they need from ``keyspace`` itself
(``from keyspace import Migration, EncryptFields``).
"""

from keyspace.ops.migrate.operations import (
    ApplyTtlPolicy,
    CopyKeys,
    DecryptFields,
    EncryptFields,
    Hook,
    Migration,
    Operation,
    RotateKeys,
    TransformValues,
)
from keyspace.ops.migrate.runner import Report, Runner, load_all, load_migrations

__all__ = [
    "ApplyTtlPolicy",
    "CopyKeys",
    "DecryptFields",
    "EncryptFields",
    "Hook",
    "Migration",
    "Operation",
    "Report",
    "RotateKeys",
    "Runner",
    "TransformValues",
    "load_all",
    "load_migrations",
]
