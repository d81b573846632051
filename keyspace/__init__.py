"""keyspace: a schema-driven, typed, encrypted object mapper for Redis.

Everything a user needs is importable from here; the modules behind these
names (``keyspace.core``, ``keyspace.io``, ``keyspace.ops``) are private.
The operator engines (migrations, inspection, backup) load on first use, so
``import keyspace`` costs only the core and the mapper.
"""

from __future__ import annotations

import importlib
import logging as _logging
from typing import TYPE_CHECKING, Any

from keyspace.core.codec import CodecContext
from keyspace.core.crypto import Keyring, generate_key
from keyspace.core.encodings import BoolText, EpochSeconds, NoneText
from keyspace.core.model import (
    TTL_KEEP,
    AnyModel,
    CounterModel,
    HashModel,
    JsonModel,
    KeyspaceModel,
    ListModel,
    SetModel,
    StringModel,
)
from keyspace.core.registry import Registry, default_registry
from keyspace.core.secret import Encrypted, Masked
from keyspace.core.template import KeyTemplate
from keyspace.errors import (
    BackupError,
    BulkReadError,
    CircuitOpen,
    ConfigError,
    CorruptValue,
    EncryptionError,
    EncryptionKeyMissing,
    InvalidKeyValue,
    KeyConfigError,
    KeyspaceError,
    LockHeld,
    LockLost,
    MigrationError,
    ModelDeclarationError,
    NotFound,
    OperationTimeout,
    PlaintextSecret,
    PoolExhausted,
    ReadOnlyModel,
    ScanError,
    ServerError,
    ServerUnavailable,
    SuspiciousValue,
    TemplateError,
    UndecryptableValue,
    ValidationFailed,
    WrongType,
)
from keyspace.io.links import LinkOptions
from keyspace.mapper import AsyncMapper, Mapper

__version__ = "0.2.0"

# name -> module, imported on first access (PEP 562)
_LAZY = {
    "redis_context": "keyspace.io.context",
    "redis_context_sync": "keyspace.io.context",
    "celery_settings": "keyspace.io.celery",
    "Settings": "keyspace.io.settings",
    "Migration": "keyspace.ops.migrate",
    "Operation": "keyspace.ops.migrate",
    "EncryptFields": "keyspace.ops.migrate",
    "DecryptFields": "keyspace.ops.migrate",
    "RotateKeys": "keyspace.ops.migrate",
    "ApplyTtlPolicy": "keyspace.ops.migrate",
    "CopyKeys": "keyspace.ops.migrate",
    "TransformValues": "keyspace.ops.migrate",
    "Hook": "keyspace.ops.migrate",
    "PerItem": "keyspace.ops.migrate",
    "Item": "keyspace.ops.migrate",
    "ItemWrites": "keyspace.ops.migrate",
    "Skip": "keyspace.ops.migrate",
    "Rekey": "keyspace.ops.migrate",
    "Runner": "keyspace.ops.migrate",
    "Report": "keyspace.ops.migrate",
    "load_migrations": "keyspace.ops.migrate",
    "collect_stats": "keyspace.ops.stats",
    "describe_key": "keyspace.ops.show",
    "run_doctor": "keyspace.ops.doctor",
    "user_check": "keyspace.ops.doctor",
    "Check": "keyspace.ops.doctor",
    "UserContext": "keyspace.ops.doctor",
    "backup": "keyspace.ops.backup",
    "restore": "keyspace.ops.backup",
    "BackupKeys": "keyspace.ops.backup",
}

if TYPE_CHECKING:
    from keyspace.io.celery import celery_settings
    from keyspace.io.context import redis_context, redis_context_sync
    from keyspace.io.settings import Settings
    from keyspace.ops.backup import BackupKeys, backup, restore
    from keyspace.ops.doctor import Check, UserContext, run_doctor, user_check
    from keyspace.ops.migrate import (
        ApplyTtlPolicy,
        CopyKeys,
        DecryptFields,
        EncryptFields,
        Hook,
        Item,
        ItemWrites,
        Migration,
        Operation,
        PerItem,
        Rekey,
        Report,
        RotateKeys,
        Runner,
        Skip,
        TransformValues,
        load_migrations,
    )
    from keyspace.ops.show import describe_key
    from keyspace.ops.stats import collect_stats


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'keyspace' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "TTL_KEEP",
    "AnyModel",
    "ApplyTtlPolicy",
    "AsyncMapper",
    "BackupError",
    "BackupKeys",
    "BoolText",
    "BulkReadError",
    "Check",
    "CircuitOpen",
    "CodecContext",
    "ConfigError",
    "CopyKeys",
    "CorruptValue",
    "CounterModel",
    "DecryptFields",
    "EncryptFields",
    "Encrypted",
    "EncryptionError",
    "EncryptionKeyMissing",
    "EpochSeconds",
    "HashModel",
    "Hook",
    "InvalidKeyValue",
    "Item",
    "ItemWrites",
    "JsonModel",
    "KeyConfigError",
    "KeyTemplate",
    "Keyring",
    "KeyspaceError",
    "KeyspaceModel",
    "LinkOptions",
    "ListModel",
    "LockHeld",
    "LockLost",
    "Mapper",
    "Masked",
    "Migration",
    "MigrationError",
    "ModelDeclarationError",
    "NoneText",
    "NotFound",
    "Operation",
    "OperationTimeout",
    "PerItem",
    "PlaintextSecret",
    "PoolExhausted",
    "ReadOnlyModel",
    "Registry",
    "Rekey",
    "Report",
    "RotateKeys",
    "Runner",
    "ScanError",
    "ServerError",
    "ServerUnavailable",
    "SetModel",
    "Settings",
    "Skip",
    "StringModel",
    "SuspiciousValue",
    "TemplateError",
    "TransformValues",
    "UndecryptableValue",
    "UserContext",
    "ValidationFailed",
    "WrongType",
    "__version__",
    "backup",
    "celery_settings",
    "collect_stats",
    "default_registry",
    "describe_key",
    "generate_key",
    "load_migrations",
    "redis_context",
    "redis_context_sync",
    "restore",
    "run_doctor",
    "user_check",
]

# A library never decides where log records go (the application does).
_logging.getLogger("keyspace").addHandler(_logging.NullHandler())
