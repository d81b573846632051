"""Run the synchronous contract suite against AsyncMapper too.

``SyncFacade`` wraps an AsyncMapper and its own event loop: every awaitable a
method returns is run to completion, every async iterator (scan, scan_keys,
stream) is collected.  The contract tests then call ``mapper.get(...)`` the
same way on both mappers, so the asyncio mapper is held to every promise of
the sync one (the asyncio stall bug lived in the gap between two suites).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

from keyspace import AsyncMapper, Mapper


class SyncFacade:
    def __init__(
        self,
        amapper: AsyncMapper,
        loop: asyncio.AbstractEventLoop,
        clients: dict[str, Any],
        *,
        owns_loop: bool = True,
    ) -> None:
        self._amapper = amapper
        self._loop = loop
        self.clients = clients
        self._owns = owns_loop
        self.flavour = "asyncio"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            return self._loop.run_until_complete(result)
        if hasattr(result, "__aiter__"):
            return self._collect(result)
        return result

    def _collect(self, aiterator: Any) -> Iterator[Any]:
        """The items, then the error the iteration ended with (as a sync scan yields, then raises)."""
        items: list[Any] = []

        async def collect() -> BaseException | None:
            try:
                async for item in aiterator:
                    items.append(item)
            except Exception as exc:
                return exc
            return None

        error = self._loop.run_until_complete(collect())

        def replay() -> Iterator[Any]:
            yield from items
            if error is not None:
                raise error

        return replay()

    def sibling(self, **options: Any) -> SyncFacade:
        """Another AsyncMapper on the same servers (links) with other options, same facade."""
        other = AsyncMapper(links=self._amapper.links, **options)
        return SyncFacade(other, self._loop, self.clients, owns_loop=False)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._amapper, name)
        if callable(value) and not isinstance(value, type):
            return lambda *args, **kwargs: self._call(value, *args, **kwargs)
        return value

    def close(self) -> None:
        if not self._owns:
            return  # a sibling: its links (pools) belong to the facade it came from
        self._loop.run_until_complete(self._amapper.aclose())
        for client in self.clients.values():
            client.close()
        self._loop.close()

    def __enter__(self) -> SyncFacade:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sibling(mapper: Mapper | SyncFacade, **options: Any) -> Mapper | SyncFacade:
    """A mapper of the same flavour on the same servers (links), with other options (keys…)."""
    if isinstance(mapper, SyncFacade):
        return mapper.sibling(**options)
    return Mapper(links=mapper.links, **options)
