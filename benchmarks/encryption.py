"""Encryption per field: keyspace's Keyring vs a bare ``cryptography`` Fernet call on the same data."""

from __future__ import annotations

from cryptography.fernet import Fernet

from benchmarks.common import Figure, paired
from keyspace import Keyring


def run(quick: bool) -> list[Figure]:
    n = 200  # fields per block
    blocks = 10 if quick else 25
    rounds = 9 if quick else 21
    key = Fernet.generate_key()
    fernet = Fernet(key)
    keyring = Keyring(key.decode())
    data = [f"{i:032x}".encode() for i in range(n)]
    tokens = [fernet.encrypt(d) for d in data]
    return [
        Figure(
            "encrypt_time_ratio",
            "encrypt time per field, keyspace / bare Fernet.encrypt",
            paired(
                rounds,
                lambda: [fernet.encrypt(d) for d in data],
                lambda: keyring.encrypt_many(data),
                blocks=blocks,
            ),
            "<= 1.2",
        ),
        Figure(
            "decrypt_time_ratio",
            "decrypt + classify time per field, keyspace / bare Fernet.decrypt",
            paired(
                rounds,
                lambda: [fernet.decrypt(t) for t in tokens],
                lambda: keyring.classify_many(tokens),
                blocks=blocks,
            ),
            "<= 1.2",
        ),
    ]
