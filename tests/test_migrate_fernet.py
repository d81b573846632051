"""keyspace.core.fernet.FastFernet (what Keyring, and so every migration, encrypts with) makes and
opens exactly the tokens of ``cryptography.fernet.Fernet``: the spec's vectors, random round trips in
both directions, every malformed token refused, and no malformed token can disturb the long-lived
cipher contexts it shares between tokens (or threads)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import threading
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from keyspace.core import fernet as fast_module
from keyspace.core.crypto import Keyring, generate_key
from keyspace.core.fernet import FastFernet

DATA = Path(__file__).resolve().parent / "data" / "fernet"


def signed(key: bytes, basic: bytes) -> bytes:
    """A token from raw parts, with a valid signature (to test what is behind the HMAC check)."""
    raw = base64.urlsafe_b64decode(key)
    return base64.urlsafe_b64encode(basic + hmac.new(raw[:16], basic, hashlib.sha256).digest())


def aes_cbc(key: bytes, iv: bytes, blocks: bytes) -> bytes:
    raw = base64.urlsafe_b64decode(key)
    encryptor = Cipher(algorithms.AES(raw[16:]), modes.CBC(iv)).encryptor()
    return encryptor.update(blocks) + encryptor.finalize()


def test_the_spec_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    (generate,) = json.loads((DATA / "generate.json").read_text())
    (verify,) = json.loads((DATA / "verify.json").read_text())
    fernet = FastFernet(generate["secret"])
    for i in range(5):  # a warm pool: the chaining state of earlier tokens must not leak into this one
        fernet.encrypt(os.urandom(i * 7))
    monkeypatch.setattr(fast_module.os, "urandom", lambda n: bytes(generate["iv"]))
    when = int(datetime.fromisoformat(generate["now"]).timestamp())
    assert fernet.encrypt_at_time(generate["src"].encode(), when).decode() == generate["token"]
    monkeypatch.undo()
    assert FastFernet(verify["secret"]).decrypt(verify["token"]) == verify["src"].encode()
    assert FastFernet(verify["secret"]).open(verify["token"].encode())[1] == when


def test_round_trips_with_cryptography_both_ways() -> None:
    key = Fernet.generate_key()
    ours, theirs = FastFernet(key), Fernet(key)
    rng = random.Random(5)
    for n in range(3000):
        size = rng.choice((0, 1, 15, 16, 17, 31, 32, 33, rng.randrange(200)))
        data = rng.randbytes(size)
        mine = ours.encrypt(data)
        assert theirs.decrypt(mine) == data
        assert theirs.extract_timestamp(mine) == ours.open(mine)[1]
        other = theirs.encrypt(data)
        assert ours.decrypt(other) == data and ours.decrypt(other.decode()) == data
        if n % 7 == 0:  # malformed tokens in between never shift the shared chains
            with pytest.raises(InvalidToken):
                ours.decrypt(mine[:-5] + b"AAAAA")


def malformed(key: bytes) -> dict[str, bytes | str]:
    good = Fernet(key).encrypt(b"a secret value")
    raw = base64.urlsafe_b64decode(good)
    iv = os.urandom(16)
    stamp = b"\x80" + (1_700_000_000).to_bytes(8, "big")
    bad_pad = aes_cbc(key, iv, b"x" * 15 + b"\x00")  # last byte 0: never valid PKCS7
    long_pad = aes_cbc(key, iv, b"x" * 14 + b"\x02\x03")  # pad bytes disagree
    return {
        "another key": Fernet(Fernet.generate_key()).encrypt(b"a secret value"),
        "a flipped byte": base64.urlsafe_b64encode(raw[:30] + bytes([raw[30] ^ 1]) + raw[31:]),
        "a flipped signature": base64.urlsafe_b64encode(raw[:-1] + bytes([raw[-1] ^ 1])),
        "truncated": good[:-4],
        "empty": b"",
        "not base64": b"gAAAAA!!!!",
        "no ciphertext": signed(key, stamp + iv),
        "a partial block": signed(key, stamp + iv + os.urandom(20)),
        "version 0x81": signed(key, b"\x81" + stamp[1:] + iv + aes_cbc(key, iv, b"y" * 16)),
        "padding byte 0": signed(key, stamp + iv + bad_pad),
        "inconsistent padding": signed(key, stamp + iv + long_pad),
        "non-ASCII text": "gAAAAAé",
    }


def test_every_malformed_token_is_refused_as_cryptography_refuses_it() -> None:
    key = Fernet.generate_key()
    ours, theirs = FastFernet(key), Fernet(key)
    probe = theirs.encrypt(b"still fine")
    for name, token in malformed(key).items():
        with pytest.raises((InvalidToken, ValueError)):
            theirs.decrypt(token)
        with pytest.raises((InvalidToken, ValueError)):
            ours.decrypt(token)
        assert ours.decrypt(probe) == b"still fine", name  # and nothing was disturbed
    with pytest.raises(TypeError):
        ours.decrypt(12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ours.encrypt("text")  # type: ignore[arg-type]
    for bad in ("", "short", base64.urlsafe_b64encode(b"x" * 31).decode()):
        with pytest.raises(ValueError):
            FastFernet(bad)


def test_threads_never_share_a_context() -> None:
    key = Fernet.generate_key()
    ours, theirs = FastFernet(key), Fernet(key)
    failures: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(1500):
            data = rng.randbytes(rng.randrange(64))
            if theirs.decrypt(ours.encrypt(data)) != data or ours.decrypt(theirs.encrypt(data)) != data:
                failures.append(f"thread {seed}")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_keyring_tokens_are_standard_fernet_and_rotation_keeps_the_timestamp() -> None:
    old, new = generate_key(), generate_key()
    token = Fernet(old.encode()).encrypt_at_time(b"rotate me", 1_600_000_000)
    ring = Keyring(new, [old])
    rotated = ring.rotate(token)
    assert Fernet(new.encode()).decrypt(rotated) == b"rotate me"
    assert Fernet(new.encode()).extract_timestamp(rotated) == 1_600_000_000
    sealed = ring.seal(b"sealed", "enc_v1:")
    assert Fernet(new.encode()).decrypt(sealed[len(b"enc_v1:") :]) == b"sealed"
    with pytest.raises(InvalidToken):
        ring.rotate(Fernet(Fernet.generate_key()).encrypt(b"not ours"))
