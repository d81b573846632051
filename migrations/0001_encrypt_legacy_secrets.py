"""Encrypt every legacy plaintext value of every Encrypted field, in place.

Tokens (under the current or a retired key) are left alone; undecryptable
values, wrong types and corrupt documents are reported and left untouched.
Down: decrypt back to plaintext (needs --allow-plaintext).
"""

from keyspace import DecryptFields, EncryptFields, Migration

migration = Migration(
    id="0001",
    description="encrypt legacy plaintext secrets of the TradingBoost schema",
    operations=[EncryptFields(models=["UserApiKeys"])],
    down=[DecryptFields(models=["UserApiKeys"])],
)
