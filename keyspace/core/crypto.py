"""Fernet keys, the stored form of a secret, and telling what a stored secret really is.

**The stored form is part of the schema.**  A model declares the envelope of
its encrypted fields (``envelope="enc_v1:"`` for TradingBoost, whose
application writes ``"enc_v1:" + Fernet token`` and reads any value without
that prefix as plaintext: ``shared/security/encryption.py``).  Without a
declared envelope a secret is stored as a bare Fernet token.

:meth:`Keyring.classify` decides, strictly, what a stored value is
(HMAC verification is the only proof of "encrypted"):

* ``current`` / ``old`` - the declared stored form, verified by ENCRYPTION_KEY /
  by one of ENCRYPTION_OLD_KEYS;
* ``bare``      - a bare token that verifies while the model declares an
  envelope (written by older keyspace code): readable; the migration wraps it;
* ``nested``    - a verified token whose plaintext is itself a (verified) token
  or enveloped token, e.g. the application's ``encrypt_api_key`` applied to an
  already encrypted value: readable as the innermost plaintext; repaired by
  the migration (unwrapped, encrypted once);
* ``plaintext`` - legacy plaintext (``empty`` for ``""``: nothing to encrypt);
* ``undecryptable`` - token-shaped or enveloped but verified by no configured key
  (truncated, tampered, or under a key we do not have): never guessed at;
* ``suspicious`` - not a clean token, yet one is inside it: a Python bytes repr
  ``b'gAAAA…'``, a token with surrounding spaces or quotes, a token inside
  JSON, a mis-cased envelope.  Encrypting it would double-encrypt; reading it
  as plaintext would hand a token to an exchange.  Left untouched, reported.

All of this is pure (no I/O).  :func:`app_read` is the application's own
reader rule, used by the migrations' read-equivalence check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken

from keyspace.core.fernet import FastFernet
from keyspace.errors import KeyConfigError

Classification = Literal[
    "current", "old", "bare", "nested", "plaintext", "empty", "undecryptable", "suspicious"
]
READABLE: frozenset[str] = frozenset({"current", "old", "bare", "nested", "plaintext", "empty"})
TOKEN_PREFIX = "gAAAAA"  # base64 of the version byte 0x80 followed by a 2020s-era timestamp's zero bytes
_PREFIX_BYTES = TOKEN_PREFIX.encode()
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_CLEAN_TOKEN = re.compile(rb"\A[A-Za-z0-9_-]+={0,2}\Z")
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32  # version, timestamp, IV, one AES block, HMAC
# A token-shaped run inside a longer value (the smallest token is 100 characters).
_EMBEDDED_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{60,}")
# Envelope-looking prefixes (``enc_v1:``, ``ENC_V2:``): one in a value that is not exactly ours is suspicious.
_ENVELOPE_LIKE = re.compile(rb"[A-Za-z]{2,8}_[vV][0-9]{1,3}:")
MAX_LAYERS = 4  # how deep nested encryption is unwrapped before a value counts as undecryptable

# The envelope of TradingBoost's application (shared/security/encryption.py: ENCRYPTION_PREFIX).
ENC_V1 = "enc_v1:"


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


def looks_suspicious(value: bytes, envelope: bytes) -> bool:
    """A value that is not a clean (enveloped) token but carries one, or a foreign envelope."""
    if _EMBEDDED_TOKEN.search(value):
        return True
    found = _ENVELOPE_LIKE.match(value.lstrip(b" \t\r\n\"'b"))
    return found is not None and not (envelope and value.startswith(envelope))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a stored value is.

    ``plaintext`` holds the innermost plaintext (decrypted, or the legacy
    value itself) for readable kinds, else None; ``fingerprint`` names the key
    that verified the outer layer; ``layers`` counts the tokens removed; ``old_inner``
    tells whether any layer verified only under a retired key.
    """

    kind: Classification
    plaintext: bytes | None
    fingerprint: str | None = None
    layers: int = 0
    old_inner: bool = False
    reason: str = ""

    @property
    def readable(self) -> bool:
        return self.kind in READABLE

    @property
    def encrypted(self) -> bool:
        """Verified token material (current, old, bare or nested)."""
        return self.layers > 0


def _load_key(value: str, variable: str) -> FastFernet:
    try:
        return FastFernet(value.strip().encode("ascii"))  # cryptography's tokens, faster (core/fernet.py)
    except (ValueError, UnicodeEncodeError, binascii.Error):
        # Never echo the value: it is (or was meant to be) a secret.
        raise KeyConfigError(
            f"{variable} is not a valid Fernet key (expected 32 url-safe base64-encoded bytes, "
            "as printed by `keyspace keygen`)"
        ) from None


def _as_envelope(envelope: bytes | str) -> bytes:
    return envelope.encode("ascii") if isinstance(envelope, str) else envelope


class Keyring:
    """The current key plus retired keys still accepted for reading."""

    __slots__ = ("_current", "_old", "current_fingerprint", "old_fingerprints")

    def __init__(self, current: str, old: Sequence[str] = ()) -> None:
        if not current or not current.strip():
            raise KeyConfigError("ENCRYPTION_KEY is empty")
        self._current = _load_key(current, "ENCRYPTION_KEY")
        self._old = [_load_key(k, f"ENCRYPTION_OLD_KEYS (entry {i + 1})") for i, k in enumerate(old)]
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

    # --- writing ----------------------------------------------------------------

    def encrypt(self, plaintext: bytes) -> bytes:
        """A standard (bare) Fernet token under the current key."""
        return self._current.encrypt(plaintext)

    def seal(self, plaintext: bytes, envelope: bytes | str = b"") -> bytes:
        """The stored form of a secret: ``envelope + token`` under the current key."""
        env = envelope if type(envelope) is bytes else _as_envelope(envelope)
        return env + self._current.encrypt_at_time(plaintext, int(time.time()))

    def encrypt_many(self, values: Iterable[bytes]) -> list[bytes]:
        return [self.encrypt(v) for v in values]

    # --- reading ----------------------------------------------------------------

    def _open(self, token: bytes) -> tuple[bytes, str, bool] | None:
        """(plaintext, fingerprint, under an old key) of a token that verifies, else None."""
        try:
            return self._current.open(token)[0], self.current_fingerprint, False
        except (InvalidToken, TypeError, ValueError):
            pass
        for fernet, fp in zip(self._old, self.old_fingerprints, strict=True):
            try:
                return fernet.decrypt(token), fp, True
            except (InvalidToken, TypeError, ValueError):
                continue
        return None

    def classify(self, stored: bytes, envelope: bytes | str = b"") -> Verdict:
        """Decide what ``stored`` is for a field whose declared stored form uses ``envelope``."""
        env = envelope if type(envelope) is bytes else _as_envelope(envelope)
        if env and stored.startswith(env):
            token, form = stored[len(env) :], "enveloped"
        elif stored.startswith(b"g") and token_shaped(stored):
            token, form = stored, "bare"
        elif not stored:
            return Verdict("empty", b"")
        elif looks_suspicious(stored, env):
            return Verdict("suspicious", None, reason="a token or envelope inside another value")
        else:
            # Not shaped like a token, so no key could verify it: legacy plaintext.
            return Verdict("plaintext", stored)
        opened = self._open(token)
        if opened is None:
            what = "enveloped value" if form == "enveloped" else "token"
            return Verdict("undecryptable", None, reason=f"{what} verified by no configured key")
        if not _CLEAN_TOKEN.match(token):
            # Fernet's base64 decoder skips stray characters, so "token\n" or "to ken" verify; the
            # application's reader would still see the stray bytes: not a clean stored form.
            return Verdict("suspicious", None, reason="a verified token with stray characters around it")
        plaintext, fp, old = opened
        layers, old_inner = 1, old
        while True:
            if env and plaintext.startswith(env):
                inner = plaintext[len(env) :]
            elif plaintext.startswith(b"g") and token_shaped(plaintext):
                inner = plaintext
            else:
                break  # the innermost plaintext
            if layers >= MAX_LAYERS:
                return Verdict("undecryptable", None, fp, layers, reason="encrypted too many times over")
            deeper = self._open(inner)
            if deeper is None:
                return Verdict(
                    "undecryptable", None, fp, layers, reason="a token inside a token, under an unknown key"
                )
            plaintext, _, inner_old = deeper
            layers += 1
            old_inner = old_inner or inner_old
        if layers > 1:
            return Verdict("nested", plaintext, fp, layers, old_inner)
        if form == "bare" and env:
            return Verdict("bare", plaintext, fp, 1, old)
        return Verdict("old" if old else "current", plaintext, fp, 1, old)

    def classify_many(self, values: Iterable[bytes], envelope: bytes | str = b"") -> list[Verdict]:
        return [self.classify(v, envelope) for v in values]

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a bare token under the current key, keeping its timestamp (as MultiFernet.rotate)."""
        for fernet in (self._current, *self._old):
            try:
                plaintext, timestamp = fernet.open(token)
            except (InvalidToken, TypeError, ValueError):
                continue
            return self._current.encrypt_at_time(plaintext, timestamp)
        raise InvalidToken

    def reseal(self, stored: bytes, envelope: bytes | str = b"") -> bytes:
        """A verified single-layer value (enveloped or bare) re-encrypted under the current key,
        in the declared stored form, keeping its timestamp (MultiFernet.rotate)."""
        env = _as_envelope(envelope)
        token = stored[len(env) :] if env and stored.startswith(env) else stored
        return env + self.rotate(token)

    # --- the application's reader rule ------------------------------------------------

    def app_read(self, stored: bytes, envelope: bytes | str = b"") -> bytes:
        """What the application's reader returns for ``stored``.

        With an envelope (TradingBoost's ``decrypt_api_key``): a value that starts
        with it has exactly one layer removed (a token no key verifies is returned
        as stored, as the application's callers do); any other value is returned
        unchanged.  Without an envelope: a bare token that verifies is opened,
        anything else is returned unchanged.
        """
        env = _as_envelope(envelope)
        if env:
            if not stored.startswith(env):
                return stored
            opened = self._open(stored[len(env) :])
        else:
            if not (stored.startswith(b"g") and token_shaped(stored)):
                return stored
            opened = self._open(stored)
        return stored if opened is None else opened[0]


def read_equivalence_problem(
    keyring: Keyring, old: bytes, new: bytes, envelope: bytes | str = b"", *, before: Verdict | None = None
) -> str | None:
    """Why writing ``new`` over ``old`` would change the secret the application reads, or None.

    The secret is what keyspace reads from ``old`` (the innermost plaintext:
    for a nested value that is the repair's point); the application's reader
    rule must return exactly that from ``new``, and ``new`` must be one layer
    in the declared form (never an envelope around another token).  ``before``: ``old``'s
    verdict when the caller already has it (a migration classified it to decide).
    """
    if before is None:
        before = keyring.classify(old, envelope)
    if not before.readable or before.plaintext is None:
        return f"the stored value is {before.kind}: there is no secret to keep"
    after = keyring.classify(new, envelope)
    if after.kind not in ("current", "empty", "plaintext"):
        return f"the new value would be {after.kind}, not one layer under the current key"
    # For a "current" verdict the application's reader removes exactly the layer classify just
    # verified (same envelope, same token, same key): its result is ``after.plaintext``, without
    # decrypting the token a second time (this check runs for every value a migration writes).
    read = after.plaintext if after.kind == "current" else keyring.app_read(new, envelope)
    if read != before.plaintext:
        return "the application's reader would return another value than the stored secret"
    return None
