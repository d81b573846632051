"""Versioned, locked, resumable data migrations (``keyspace migrate …``)."""

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
from keyspace.ops.migrate.runner import MigrationError, Report, Runner, load_migrations
from keyspace.ops.migrate.state import LockHeld, LockLost

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
