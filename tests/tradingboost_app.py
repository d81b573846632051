"""The live application's secret rules, re-implemented from its code for the compatibility tests.

The application is ``seungdori/TradingBoost-Strategy``; nothing here is copied
from it.  Each function restates one rule read in its code (HEAD e61934e):

* ``shared/security/encryption.py:45``      ENCRYPTION_PREFIX is ``"enc_v1:"``;
* ``shared/security/encryption.py:94-105``  the writer refuses an empty value and stores
  ``prefix + Fernet(ENCRYPTION_KEY).encrypt(utf8(value)).decode()``, without checking
  whether the value is already encrypted (so it can nest);
* ``shared/security/encryption.py:137-158`` the reader raises on an empty value, returns any
  value that does not start with the exact prefix unchanged, and otherwise removes one
  layer with the single configured key;
* ``shared/security/encryption.py:160-165`` and its callers
  (``HYPERRSI/src/services/redis_service.py:553-559``, ``HYPERRSI/src/api/dependencies.py:410-421``):
  a value that cannot be decrypted is handed back as stored.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "enc_v1:"


def app_encrypt(value: str, key: str) -> str:
    """What the application's encrypting writer stores for ``value``."""
    if not value:
        raise ValueError("the application refuses to encrypt an empty value")
    return PREFIX + Fernet(key.encode()).encrypt(value.encode("utf-8")).decode("ascii")


def app_read(stored: str, key: str) -> str:
    """What the application's decrypting reader (and its callers) return for ``stored``."""
    if not stored:
        return stored  # the helper raises; the callers hand the stored value back
    if not stored.startswith(PREFIX):
        return stored
    try:
        return Fernet(key.encode()).decrypt(stored[len(PREFIX) :].encode()).decode("utf-8")
    except (InvalidToken, ValueError):
        return stored
