"""Versioned, locked, resumable data migrations (``keyspace migrate …``)."""

from keyspace.migrate.operations import (
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
from keyspace.migrate.runner import MigrationError, Report, Runner, load_migrations
from keyspace.migrate.state import LockHeld, LockLost

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
