"""API keys: enc_v1 tokens at rest as the application stores them, masked in memory, rotatable.

python examples/02_api_keys_encryption.py [--url …]
"""

from __future__ import annotations

from _common import parse
from cryptography.fernet import Fernet

from keyspace import Keyring, Mapper, Runner, generate_key
from models import UserApiKeys

UID = "500000000000000777"  # an OKX uid
TG = "123456777"  # a Telegram id: /user/register keys the hash by whatever id it is given


def main() -> None:
    args = parse(__doc__ or "")
    old_key = generate_key()  # in production: ENCRYPTION_KEY from .env (`keyspace keygen` makes one)
    with Mapper.from_url(args.url, keyring=Keyring(old_key)) as mapper:
        mapper.save(UserApiKeys(user_id=UID, api_key="ak-demo", api_secret="sk-demo", passphrase="pp-demo"))
        keys = mapper.get(UserApiKeys, user_id=UID)
        print("in memory:", keys)  # api_secret=Secret('**********')
        print("id kind  :", keys.id_kind)  # okx_uid
        print("revealed :", keys.api_secret.get_secret_value())
        stored = mapper.clients["app"].hget(f"user:{UID}:api:keys", "api_secret")
        print("in Redis :", stored[:20], "…")
        # the application's form: "enc_v1:" + Fernet token (shared/security/encryption.py:101-105)
        assert stored.startswith(b"enc_v1:")
        assert Fernet(old_key.encode()).decrypt(stored[len(b"enc_v1:") :]) == b"sk-demo"

        # a hash the application wrote in plaintext under a Telegram id reads too (and is counted)
        mapper.clients["app"].hset(
            f"user:{TG}:api:keys", mapping={"api_key": "a", "api_secret": "b", "passphrase": "c"}
        )
        legacy = mapper.get(UserApiKeys, user_id=TG)
        print("legacy   :", legacy.id_kind, "plaintext reads so far:", mapper.ctx.events["plaintext"])

        # Rotation: a new current key, the old one kept for reading (ENCRYPTION_OLD_KEYS) ...
        new_key = generate_key()
        rotated = Mapper(links=mapper.links, keyring=Keyring(new_key, [old_key]))
        print(
            "read with the old key retired:", rotated.get(UserApiKeys, user_id=UID).api_key.get_secret_value()
        )
        # ... re-encrypt every token under the new key (`keyspace rotate-keys`),
        # then prove none needs the old one (`keyspace migrate verify`)
        report = Runner(rotated).rotate_keys()
        print("rotate-keys changed", report.changed, "key(s)")
        only_new = Mapper(links=mapper.links, keyring=Keyring(new_key))
        assert only_new.get(UserApiKeys, user_id=UID).passphrase.get_secret_value() == "pp-demo"
        mapper.delete(UserApiKeys, user_id=UID)
        mapper.delete(UserApiKeys, user_id=TG)
        mapper.clients["app"].delete("keyspace:migrations:lock")


if __name__ == "__main__":
    main()
