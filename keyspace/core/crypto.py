"""Fernet keys, and telling what a stored secret really is.

The application writes ``Fernet(ENCRYPTION_KEY).encrypt(value)`` tokens; older
data is plaintext.  :class:`Keyring` reads both and decides, strictly, which
one a stored value is:

* ``current``  - a token whose HMAC verifies under ENCRYPTION_KEY;
* ``old``      - a token whose HMAC verifies under one of ENCRYPTION_OLD_KEYS;
* ``plaintext``- not token-shaped at all (legacy data);
* ``undecryptable`` - token-shaped (starts with ``gAAAAA`` or decodes to the
  0x80 version byte) but verifies under no configured key: a truncated token,
  garbage, or a token under a key we do not have.  Unlike Rails or
  django-fernet-encrypted-fields we never hand such a value back as plaintext,
  and the migrations never re-encrypt it.

HMAC verification is the only proof of "encrypted"; the structure checks only
decide between "plaintext" and "undecryptable" once verification failed, so
the fast path costs one ``Fernet.decrypt``.  All of this is pure (no I/O).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from keyspace.errors import KeyConfigError

Classification = Literal["current", "old", "plaintext", "undecryptable"]
TOKEN_PREFIX = "gAAAAA"  # base64 of the version byte 0x80 followed by a 2020s-era timestamp's zero bytes
_PREFIX_BYTES = TOKEN_PREFIX.encode()
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32  # version, timestamp, IV, one AES block, HMAC


def fingerprint(key: bytes | str) -> str:
    """A short, non-reversible name for a key, for diagnostics (sha256, 8 hex digits)."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(b"keyspace-fingerprint:" + raw).hexdigest()[:8]


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 of 32 bytes)."""
    return Fernet.generate_key().decode("ascii")


def token_shaped(value: bytes) -> bool:
    """Whether ``value`` looks like an attempt at a Fernet token (see module docstring).

    Every token is base64 of the version byte 0x80, so it starts with ``g``:
    anything else is decided without decoding (the hot path of a migration).
    """
    if not value.startswith(b"g"):
        return False
    return value.startswith(_PREFIX_BYTES) or well_formed_token(value)


def well_formed_token(value: bytes) -> bool:
    """Strict structure check: url-safe base64, version 0x80, length rules of the spec."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return False
    if not _B64URL.match(text) or len(text) % 4:
        return False
    try:
        raw = base64.urlsafe_b64decode(text)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= _MIN_TOKEN_BYTES and raw[0] == 0x80 and (len(raw) - 57) % 16 == 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a stored value is; ``plaintext`` holds the decrypted or legacy bytes."""

    kind: Classification
    plaintext: bytes | None
    fingerprint: str | None = None  # the key that verified it


def _load_key(value: str, variable: str) -> Fernet:
    try:
        return Fernet(value.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        # Never echo the value: it is (or was meant to be) a secret.
        raise KeyConfigError(
            f"{variable} is not a valid Fernet key (expected 32 url-safe base64-encoded bytes, "
            "as printed by `keyspace keygen`)"
        ) from None


class Keyring:
    """The current key plus retired keys still accepted for reading."""

    __slots__ = ("_current", "_multi", "_old", "current_fingerprint", "old_fingerprints")

    def __init__(self, current: str, old: Sequence[str] = ()) -> None:
        if not current or not current.strip():
            raise KeyConfigError("ENCRYPTION_KEY is empty")
        self._current = _load_key(current, "ENCRYPTION_KEY")
        self._old = [_load_key(k, f"ENCRYPTION_OLD_KEYS (entry {i + 1})") for i, k in enumerate(old)]
        self._multi = MultiFernet([self._current, *self._old])
        self.current_fingerprint = fingerprint(current.strip())
        self.old_fingerprints = tuple(fingerprint(k.strip()) for k in old)

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_fingerprint}, old={list(self.old_fingerprints)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Keyring | None:
        """Read ENCRYPTION_KEY and ENCRYPTION_OLD_KEYS; None when no key is configured."""
        current = (env.get("ENCRYPTION_KEY") or "").strip()
        old_raw = (env.get("ENCRYPTION_OLD_KEYS") or "").strip()
        old = [k.strip() for k in old_raw.split(",") if k.strip()]
        if not current:
            if old:
                raise KeyConfigError("ENCRYPTION_OLD_KEYS is set but ENCRYPTION_KEY is not")
            return None
        return cls(current, old)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return (self.current_fingerprint, *self.old_fingerprints)

    # --- the primitives the mapper and the migrations use -------------------

    def encrypt(self, plaintext: bytes) -> bytes:
        """A standard Fernet token under the current key."""
        return self._current.encrypt(plaintext)

    def classify(self, stored: bytes) -> Verdict:
        """Decide what ``stored`` is, decrypting it when a key verifies it."""
        if not token_shaped(stored):
            # Not even shaped like a token, so no key could verify it: legacy plaintext.
            return Verdict("plaintext", stored)
        try:
            return Verdict("current", self._current.decrypt(stored), self.current_fingerprint)
        except (InvalidToken, TypeError, ValueError):
            pass
        for fernet, fp in zip(self._old, self.old_fingerprints, strict=True):
            try:
                return Verdict("old", fernet.decrypt(stored), fp)
            except (InvalidToken, TypeError, ValueError):
                continue
        return Verdict("undecryptable", None)

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the current key, keeping its timestamp."""
        return self._multi.rotate(token)

    def classify_many(self, values: Iterable[bytes]) -> list[Verdict]:
        return [self.classify(v) for v in values]

    def encrypt_many(self, values: Iterable[bytes]) -> list[bytes]:
        return [self.encrypt(v) for v in values]
