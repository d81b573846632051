"""Versioned, locked, resumable data migrations (``keyspace migrate …``)."""

from keyspace.errors import LockHeld, LockLost, MigrationError
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
from keyspace.ops.migrate.runner import Report, Runner, load_migrations

__all__ = [
    "ApplyTtlPolicy",
    "CopyKeys",
    "DecryptFields",
    "EncryptFields",
    "Hook",
    "LockHeld",
    "LockLost",
    "Migration",
    "MigrationError",
    "Operation",
    "Report",
    "RotateKeys",
    "Runner",
    "TransformValues",
    "load_migrations",
]
