"""Test support: a private redis-server launcher and the live-format dataset generator."""

from keyspace.testing.server import (
    RedisCluster,
    RedisServer,
    free_port,
    running_cluster,
    running_server,
)

__all__ = ["RedisCluster", "RedisServer", "free_port", "running_cluster", "running_server"]
