"""Fernet (https://github.com/fernet/spec), token for token the same as ``cryptography.fernet``, faster.

``cryptography.fernet.Fernet`` builds a new AES-CBC context, padder and HMAC
object for every token; at migration scale (a seal and a read-equivalence
check for every secret written) that setup is most of the cost.  Here:

* AES-CBC runs on **long-lived contexts**, taken from a small pool per key and
  direction for one token at a time (``list.pop``/``append`` are atomic, so
  threads never share a context and no lock is needed).
  CBC chains each block through the previous ciphertext block, so a token's
  own IV is fed to the decryptor as one more block (its output discarded):
  the next block then decrypts against that IV exactly as in a fresh context.
  Encrypting, the first block is XORed with the previous output block before
  it goes in, so the context computes ``E(P1 xor IV)`` for the token's fresh
  random IV.  Every token still has its own ``os.urandom(16)`` IV;
* the HMAC-SHA256 is the standard library's (``hmac``, OpenSSL), copied from
  a keyed template — OpenSSL's HMAC object itself where the standard library
  has one, so copy, update and digest are C calls; signatures compare in
  constant time, and nothing is decrypted before the signature verified;
* base64 is ``binascii``'s, translated to the URL-safe alphabet, as
  ``base64.urlsafe_b64encode``/``urlsafe_b64decode`` do (without their Python frames);
* every length is checked before anything reaches a long-lived context, so a
  malformed token can never shift another token's chain.

Errors mirror ``cryptography``: ``TypeError`` for a token that is neither
``str`` nor ``bytes``, :class:`cryptography.fernet.InvalidToken` for anything
that is not an authentic, well-formed token.  Pure: no I/O but ``os.urandom``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_VERSION = 0x80
_ZERO_IV = bytes(16)
_PADS = [bytes((n,)) * n for n in range(17)]  # PKCS7 padding of n bytes
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_MIN_DATA = 1 + 8 + 16 + 16 + 32  # version, timestamp, IV, one block, HMAC

__all__ = ["FastFernet", "InvalidToken"]


class FastFernet:
    """A Fernet key: ``encrypt``, ``encrypt_at_time``, ``decrypt``, ``open`` (with the timestamp)."""

    __slots__ = ("_aes", "_decryptors", "_encryptors", "_mac")

    def __init__(self, key: bytes | str) -> None:
        try:
            raw = base64.urlsafe_b64decode(key)
        except binascii.Error as exc:
            raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.") from exc
        if len(raw) != 32:
            raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.")
        template = hmac.new(raw[:16], digestmod=hashlib.sha256)
        # OpenSSL's HMAC object (copy/update/digest in C) when hmac wraps one, else the wrapper
        self._mac: Any = getattr(template, "_hmac", None) or template
        self._aes = algorithms.AES(raw[16:])
        self._decryptors: list[Any] = []
        self._encryptors: list[tuple[Any, bytes]] = []  # (context, its last output block)

    # --- writing ------------------------------------------------------------------------

    def encrypt(self, data: bytes) -> bytes:
        return self.encrypt_at_time(data, int(time.time()))

    def encrypt_at_time(self, data: bytes, current_time: int) -> bytes:
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes.")
        iv = os.urandom(16)
        padded = data + _PADS[16 - len(data) % 16]
        try:
            encryptor, previous = self._encryptors.pop()
        except IndexError:
            encryptor, previous = Cipher(self._aes, modes.CBC(_ZERO_IV)).encryptor(), _ZERO_IV
        first = (
            int.from_bytes(padded[:16], "big") ^ int.from_bytes(iv, "big") ^ int.from_bytes(previous, "big")
        )
        ciphertext = encryptor.update(first.to_bytes(16, "big") + padded[16:])
        self._encryptors.append((encryptor, ciphertext[-16:]))
        basic = b"\x80" + current_time.to_bytes(8, "big") + iv + ciphertext
        mac = self._mac.copy()
        mac.update(basic)
        return binascii.b2a_base64(basic + mac.digest(), newline=False).translate(_TO_URLSAFE)

    # --- reading ------------------------------------------------------------------------

    def open(self, token: bytes | str) -> tuple[bytes, int]:
        """(plaintext, the token's timestamp) of an authentic token; InvalidToken otherwise."""
        if type(token) is bytes:  # the common case: base64.urlsafe_b64decode's own steps
            try:
                data = binascii.a2b_base64(token.translate(_FROM_URLSAFE))
            except binascii.Error:
                raise InvalidToken from None
        elif not isinstance(token, str | bytes):
            raise TypeError("token must be bytes or str")
        else:
            try:
                data = base64.urlsafe_b64decode(token)
            except (TypeError, binascii.Error):
                raise InvalidToken from None
        if len(data) < _MIN_DATA or data[0] != _VERSION or (len(data) - _MIN_DATA) % 16:
            raise InvalidToken
        view = memoryview(data)
        mac = self._mac.copy()
        mac.update(view[:-32])
        if not hmac.compare_digest(mac.digest(), data[-32:]):
            raise InvalidToken
        # the IV, then the ciphertext, through a long-lived decryptor (see the module docstring)
        try:
            decryptor = self._decryptors.pop()
        except IndexError:
            decryptor = Cipher(self._aes, modes.CBC(_ZERO_IV)).decryptor()
        padded = decryptor.update(view[9:-32])[16:]
        self._decryptors.append(decryptor)
        pad = padded[-1]
        if not 1 <= pad <= 16 or not padded.endswith(_PADS[pad]):
            raise InvalidToken
        return padded[:-pad], int.from_bytes(data[1:9], "big")

    def decrypt(self, token: bytes | str) -> bytes:
        return self.open(token)[0]
