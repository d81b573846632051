"""Errors that say what and where.

Every error carries the model, the key and the field it is about, and its
message never contains a stored value: the value may be a secret, and an
exception text ends up in logs.  That is why pydantic's own messages (which
quote the input) are rebuilt here from ``errors(include_input=False)``.
"""

from __future__ import annotations

from typing import Any


class KeyspaceError(Exception):
    """Base class of every keyspace error."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        key: str | None = None,
        field: str | None = None,
    ) -> None:
        self.model = model
        self.key = key
        self.field = field
        self.reason = message
        super().__init__(self._compose(message))

    def _compose(self, message: str) -> str:
        where = []
        if self.model:
            where.append(f"model {self.model}")
        if self.key:
            where.append(f"key {self.key!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{message} ({', '.join(where)})" if where else message


class InvalidKeyValue(KeyspaceError, ValueError):
    """A key-field value that would break the keyspace (empty, ``:``, glob characters, …)."""


class TemplateError(KeyspaceError, ValueError):
    """A key template that cannot be parsed, or two templates that claim the same key."""


class ModelDeclarationError(KeyspaceError, TypeError):
    """A model class declared with inconsistent class keywords or fields."""


class ValidationFailed(KeyspaceError, ValueError):
    """Values that do not fit the model; wraps pydantic's errors without their inputs."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        key: str | None = None,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.errors = errors or []
        super().__init__(message, model=model, key=key, field=field)


class NotFound(KeyspaceError, LookupError):
    """The key does not exist."""


class WrongType(KeyspaceError, TypeError):
    """The key holds another Redis type than the model declares (WRONGTYPE)."""

    def __init__(
        self,
        *,
        expected: str,
        actual: str | None,
        model: str | None = None,
        key: str | None = None,
    ) -> None:
        self.expected = expected
        self.actual = actual
        found = f"a {actual}" if actual else "another type"
        super().__init__(
            f"wrong Redis type: expected a {expected}, the key holds {found}",
            model=model,
            key=key,
        )


class CorruptValue(KeyspaceError, ValueError):
    """A stored value that cannot be decoded (bad JSON, non-UTF-8, unparsable number)."""


class ReadOnlyModel(KeyspaceError, PermissionError):
    """A write to a model that keyspace only reads (e.g. Celery's keys)."""


class ServerError(KeyspaceError):
    """Any other error reply from the server, with the command that caused it."""


class BulkReadError(KeyspaceError):
    """Some items of a bulk read could not be decoded.

    Nothing is hidden: ``results`` holds every item that could be read (``None``
    where the key is missing or bad) and ``errors`` one error per bad item.
    """

    def __init__(self, results: list[Any], errors: list[KeyspaceError], *, model: str) -> None:
        self.results = results
        self.errors = errors
        keys = ", ".join(repr(e.key) for e in errors[:5])
        more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} item(s) could not be read: {keys}{more}", model=model)


class EncryptionError(KeyspaceError):
    """Base of the errors about encrypted fields (the guide's "EncryptionError")."""


class KeyConfigError(EncryptionError, ValueError):
    """ENCRYPTION_KEY / ENCRYPTION_OLD_KEYS missing or malformed (never shows the key)."""


class EncryptionKeyMissing(EncryptionError):
    """An encrypted field was touched but no ENCRYPTION_KEY is configured."""


class UndecryptableValue(EncryptionError):
    """A token-shaped value that verifies under none of the configured keys."""

    def __init__(
        self,
        message: str,
        *,
        fingerprints: tuple[str, ...] = (),
        model: str | None = None,
        key: str | None = None,
        field: str | None = None,
    ) -> None:
        self.fingerprints = fingerprints
        tried = ", ".join(fingerprints) or "none"
        super().__init__(f"{message}; keys tried: {tried}", model=model, key=key, field=field)


class SuspiciousValue(UndecryptableValue):
    """A stored secret that is not a clean token but carries one (a bytes repr, quotes, JSON…).

    Neither decrypted nor taken as plaintext: doing either would guess.
    """


class PlaintextSecret(EncryptionError):
    """Legacy plaintext in an encrypted field while KEYSPACE_PLAINTEXT_READS=forbid."""


class ScanError(BulkReadError):
    """Raised after a scan that met undecodable items (all good items were yielded)."""

    def __init__(self, errors: list[KeyspaceError], *, model: str) -> None:
        super().__init__([], errors, model=model)


# --- reaching the server -------------------------------------------------------------


class ServerUnavailable(KeyspaceError, ConnectionError):
    """The Redis server a model lives on cannot be reached (or timed out)."""


class OperationTimeout(KeyspaceError, TimeoutError):
    """A Redis call exceeded its time budget."""


class CircuitOpen(KeyspaceError, ConnectionError):
    """The server's breaker is open: the call failed fast without touching the network."""


class PoolExhausted(KeyspaceError, ConnectionError):
    """Every pooled connection stayed in use for the whole wait."""


class ConfigError(KeyspaceError, ValueError):
    """Missing or invalid configuration; names the variable, never its secret value."""


# --- operator engines ----------------------------------------------------------------


class MigrationError(KeyspaceError):
    """A migration cannot be loaded or run as asked."""


class LockHeld(KeyspaceError):
    """Another runner holds the migration lock."""


class LockLost(KeyspaceError):
    """Our lease expired or was taken (the run stops before writing more)."""


class BackupError(KeyspaceError):
    """A backup file that cannot be restored (damaged, foreign, or conflicting keys)."""
