"""keyspace: a schema-driven, typed, encrypted object mapper for Redis."""

from keyspace.core.codec import CodecContext
from keyspace.core.programs import ScanError
from keyspace.core.crypto import Keyring, generate_key
from keyspace.errors import (
    BulkReadError,
    CorruptValue,
    EncryptionError,
    EncryptionKeyMissing,
    InvalidKeyValue,
    KeyConfigError,
    KeyspaceError,
    ModelDeclarationError,
    NotFound,
    PlaintextSecret,
    ReadOnlyModel,
    ServerError,
    TemplateError,
    UndecryptableValue,
    ValidationFailed,
    WrongType,
)
from keyspace.mapper import AsyncMapper, Mapper, ServerUnavailable
from keyspace.core.model import (
    CounterModel,
    HashModel,
    JsonModel,
    KeyspaceModel,
    ListModel,
    SetModel,
    StringModel,
)
from keyspace.core.registry import Registry, default_registry
from keyspace.core.secret import Encrypted
from keyspace.core.template import KeyTemplate

__all__ = [
    "AsyncMapper",
    "BulkReadError",
    "CodecContext",
    "CorruptValue",
    "CounterModel",
    "Encrypted",
    "EncryptionError",
    "EncryptionKeyMissing",
    "HashModel",
    "InvalidKeyValue",
    "JsonModel",
    "KeyConfigError",
    "KeyTemplate",
    "Keyring",
    "KeyspaceError",
    "KeyspaceModel",
    "ListModel",
    "Mapper",
    "ModelDeclarationError",
    "NotFound",
    "PlaintextSecret",
    "ReadOnlyModel",
    "Registry",
    "ScanError",
    "ServerError",
    "ServerUnavailable",
    "SetModel",
    "StringModel",
    "TemplateError",
    "UndecryptableValue",
    "ValidationFailed",
    "WrongType",
    "default_registry",
    "generate_key",
]

import logging as _logging

# A library never decides where log records go (the application does).
_logging.getLogger("keyspace").addHandler(_logging.NullHandler())
