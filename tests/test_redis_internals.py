"""What keyspace's fast I/O paths read inside redis-py is still there, in the redis-py installed.

keyspace/io/executors.py writes to and reads from a pooled connection's socket with hiredis directly,
and keyspace/io/pools.py checks connections out of redis-py's pools without its metrics bookkeeping
(issue 16). Both read attributes redis-py does not promise to keep (docs/design.md, "What keyspace
reads inside redis-py"). This file names every one of them, on live connections to a real server, so
that a redis-py release that renames one fails here — in .ci/run, on the newest redis-py and on the
declared minimum — instead of in a user's process. It also checks that the fast paths are the ones
actually taken, so a silent fallback would not go unnoticed by the benchmarks either.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import redis
import redis.asyncio

from keyspace.io import executors, pools
from keyspace.io.links import in_use


def test_the_sync_pool_and_connection_still_have_what_the_fast_path_reads(redis_url: str) -> None:
    pool = pools.LeanBlockingPool.from_url(redis_url, max_connections=4)
    try:
        conn: Any = pool.get_connection()
        try:
            assert isinstance(conn._sock, socket.socket)
            assert type(conn._parser) is executors._HiredisParser
            assert conn._parser._reader is not None and hasattr(conn._parser, "_buffer")
            assert executors._fast_sync(conn), "the hiredis fast path would not be taken"
            assert conn._host_error() and isinstance(conn._host_error(), str)
            assert in_use(pool) == 1
        finally:
            pool.release(conn)
        assert in_use(pool) == 0
        assert hasattr(pool, "pool") and hasattr(pool, "_in_maintenance") and pool._in_maintenance is False
        assert callable(pool.maint_notifications_enabled)
        again = pool.get_connection()
        assert again is conn  # LIFO reuse through redis-py's own queue
        pool.release(again)
    finally:
        pool.disconnect()


def test_the_asyncio_pool_and_connection_still_have_what_the_fast_path_reads(redis_url: str) -> None:
    async def run() -> None:
        pool = pools.LeanAsyncPool.from_url(redis_url, max_connections=4)
        try:
            conn: Any = await pool.get_connection()
            await conn.connect()
            parser = conn._parser
            assert type(parser) is executors._AsyncHiredisParser
            assert type(conn._writer) is asyncio.StreamWriter
            for name in ("_reader", "_stream", "_read_size", "_hiredis_PushNotificationType", "_connected"):
                assert hasattr(parser, name), name
            assert hasattr(parser._stream, "_buffer")
            assert conn._re_auth_token is None
            assert executors._fast_async(conn), "the hiredis fast path would not be taken"
            assert isinstance(pool._available_connections, list)
            assert conn in pool._in_use_connections and hasattr(pool._lock, "locked")
            assert pool.give(conn) is True  # returned without awaiting
            assert pool.take() is conn  # and taken again the same way
            assert in_use(pool) == 1
            await pool.release(conn)
            assert in_use(pool) == 0
        finally:
            await pool.disconnect()

    asyncio.run(run())


def test_redis_py_s_metrics_switch_is_where_the_lean_pools_look_for_it() -> None:
    """With observability on, the pools hand every checkout to redis-py (its metrics then count). Every
    redis-py keyspace supports (8.0 on) has the module: if it moved, the pools' ImportError fallback
    would skip redis-py's metrics silently, so its absence fails here."""
    assert pools._recorder is not None and pools._providers is not None
    assert hasattr(pools._recorder, "_metrics_collector")
    assert pools.observed() is False


def test_the_hiredis_packer_agrees_with_redis_py_s_own() -> None:
    commands = [("HSET", "k", "f", "v\r\n"), ("GET", b"\xff"), ("EXPIRE", "k", 10)]
    mine = executors.pack(commands)
    theirs = b"".join(redis.Connection().pack_commands(commands))
    assert mine == theirs
