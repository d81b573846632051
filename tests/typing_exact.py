"""Checked by mypy in .ci/run (not collected by pytest): the mappers' methods have exact types."""

from collections.abc import AsyncIterator, Iterator
from typing import assert_type

from keyspace import AsyncMapper, HashModel, Mapper


class Acct(HashModel, key="tc:acct:{id}", register=False):
    id: int
    name: str = ""


def sync(m: Mapper) -> None:
    assert_type(m.get(Acct, id=1), Acct | None)
    assert_type(m.scan(Acct), Iterator[Acct])
    assert_type(m.get_many(Acct, [{"id": 1}]), list[Acct | None])
    assert_type(m.exists(Acct, id=1), bool)


async def asynchronous(m: AsyncMapper) -> None:
    assert_type(await m.get(Acct, id=1), Acct | None)
    assert_type(m.scan(Acct), AsyncIterator[Acct])
    assert_type(await m.count(Acct), int)
