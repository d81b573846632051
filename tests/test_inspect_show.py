"""``keyspace show KEY`` on a real redis-server: secrets masked with their stored form, a corrupt or
unreadable record described instead of aborting, a key failing its model's key types named."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keyspace import CorruptValue, Keyring, WrongType, generate_key
from keyspace.ops.show import MASK, describe_key
from tests.inspect_support import UID, async_mapper, deep_json, registry, seal, server_url, sync_mapper

__all__ = ["server_url"]  # fixture

KEY = generate_key()


def test_secrets_are_masked_and_their_stored_form_shown(server_url: str) -> None:
    keyring, stranger = Keyring(KEY), Keyring(generate_key())
    key = f"t:user:{UID}:api:keys"
    with sync_mapper(server_url, keyring) as mapper:
        mapper.clients["app"].hset(
            key, mapping={"api_key": seal(keyring, "the-key"), "api_secret": seal(stranger, "s")}
        )
        shown = describe_key(mapper, key, registry=registry())
        revealed = describe_key(mapper, key, registry=registry(), reveal=True)
    assert shown["model"] == "Keys" and shown["key_values"] == {"uid": UID}
    assert shown["secret_forms"] == {"api_key": "encrypted:current", "api_secret": "encrypted:undecryptable"}
    assert shown["fields"]["api_key"] == MASK and "not readable" in shown["fields"]["api_secret"]
    assert revealed["fields"]["api_key"] == "the-key" and "not readable" in revealed["fields"]["api_secret"]
    assert "error" not in shown


def test_a_key_failing_its_key_types_is_named_with_the_reason(server_url: str) -> None:
    with sync_mapper(server_url, None) as mapper, pytest.raises(KeyError) as caught:
        describe_key(mapper, "t:user:0123:api:keys", registry=registry())
    assert "fails its key types" in str(caught.value) and "uid '0123'" in str(caught.value)


def test_a_bad_record_raises_naming_the_key_and_show_runs_on_the_async_mapper(server_url: str) -> None:
    """Before: a 200 KB deeply nested JSON value aborted show with a message naming no key."""
    key, deep = f"t:user:{UID}:settings", f"t:user:{UID}:profile"
    with sync_mapper(server_url, None) as mapper:
        mapper.clients["app"].hset(key, "a", "b")
        mapper.clients["app"].set(deep, deep_json())

    async def run(which: str) -> dict[str, Any]:
        async with async_mapper(server_url, None) as amapper:
            return await describe_key(amapper, which, registry=registry())  # type: ignore[no-any-return]

    with pytest.raises(WrongType) as wrong:
        asyncio.run(run(key))
    assert wrong.value.key == key and wrong.value.actual == "hash"
    with pytest.raises(CorruptValue) as corrupt:
        asyncio.run(run(deep))
    assert corrupt.value.key == deep and "nested too deeply" in str(corrupt.value)
