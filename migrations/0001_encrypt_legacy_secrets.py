"""Bring every TradingBoost secret into the application's stored form, ``enc_v1:`` + Fernet token, in place.

Per stored form (keyspace.core.crypto): legacy plaintext -> ``enc_v1:`` + token;
a bare token (older keyspace) -> wrapped in the envelope, timestamp kept; a
nested value (the application's writer encrypting a token again) -> the
innermost plaintext, encrypted once; tokens under the current key -> untouched;
tokens under a retired key (ENCRYPTION_OLD_KEYS) -> resealed under the current key,
timestamp kept, as ``keyspace rotate-keys`` does: the application holds one key
and reads nothing else (shared/security/encryption.py builds one Fernet from
ENCRYPTION_KEY), so a retired key's token is a secret it cannot read; empty -> untouched;
undecryptable and suspicious values -> reported, untouched.  Every write is
checked first: the application's reader must return the same secret from the
new value (read equivalence), or the key is refused and reported.

The GRID families and the operator scripts' hashes hold their secrets in
plaintext *by policy* (``Masked``: their readers never decrypt); they are named
here so that ``migrate plan`` counts them, and are never touched.

Down: decrypt back to plaintext (needs --allow-plaintext).
"""

from keyspace import DecryptFields, EncryptFields, Migration

SECRET_FAMILIES = [
    "UserApiKeys",  # user:{user_id}:api:keys - Encrypted (enc_v1:)
    "GridExchangeApiKeys",  # Masked: plaintext by policy
    "GridUser",
    "GridUserKey",
    "ScriptApiKeys",
]

migration = Migration(
    id="0001",
    description="encrypt legacy plaintext secrets of the TradingBoost schema (enc_v1: + token)",
    operations=[EncryptFields(models=SECRET_FAMILIES, retired=True)],
    down=[DecryptFields(models=SECRET_FAMILIES)],
)
