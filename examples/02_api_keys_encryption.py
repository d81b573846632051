"""API keys: encrypted at rest, masked in memory, readable after a key rotation.

python examples/02_api_keys_encryption.py [--url …]
"""

from __future__ import annotations

from _common import parse
from cryptography.fernet import Fernet

from keyspace import Keyring, Mapper, Runner, generate_key
from models import UserApiKeys

UID = "500000000000000777"


def main() -> None:
    args = parse(__doc__ or "")
    old_key = generate_key()  # in production: ENCRYPTION_KEY from .env (`keyspace keygen` makes one)
    with Mapper.from_url(args.url, keyring=Keyring(old_key)) as mapper:
        mapper.save(UserApiKeys(okx_uid=UID, api_key="ak-demo", api_secret="sk-demo", passphrase="pp-demo"))
        keys = mapper.get(UserApiKeys, okx_uid=UID)
        print("in memory:", keys)  # api_secret=Secret('**********')
        print("revealed :", keys.api_secret.get_secret_value())
        stored = mapper.clients["app"].hget(f"user:{UID}:api:keys", "api_secret")
        print("in Redis :", stored[:20], "…")
        assert Fernet(old_key.encode()).decrypt(stored) == b"sk-demo"  # what the application already reads

        # Rotation: a new current key, the old one kept for reading (ENCRYPTION_OLD_KEYS) ...
        new_key = generate_key()
        rotated = Mapper(links=mapper.links, keyring=Keyring(new_key, [old_key]))
        print(
            "read with the old key retired:", rotated.get(UserApiKeys, okx_uid=UID).api_key.get_secret_value()
        )
        # ... re-encrypt every token under the new key (`keyspace rotate-keys`),
        # then prove none needs the old one (`keyspace migrate verify`)
        report = Runner(rotated).rotate_keys()
        print("rotate-keys changed", report.changed, "key(s); verified:", Runner(rotated).verify()["ok"])
        only_new = Mapper(links=mapper.links, keyring=Keyring(new_key))
        assert only_new.get(UserApiKeys, okx_uid=UID).passphrase.get_secret_value() == "pp-demo"
        mapper.delete(UserApiKeys, okx_uid=UID)
        mapper.clients["app"].delete("keyspace:migrations:lock")


if __name__ == "__main__":
    main()
