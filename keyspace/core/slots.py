"""Redis Cluster: slot routing, topology and the cluster-wide SCAN cursor.  Pure.

The executors (``keyspace.io.executors``) route every command of a batch to the
primary that owns its key's slot, send one pipeline per node, and put the
replies back in order; MOVED/ASK replies and connection failures refresh the
topology (CLUSTER SLOTS) and resend.  Keyless commands are answered
cluster-wide: DBSIZE sums the primaries, SCRIPT LOAD goes to all of them,
and SCAN walks every primary in turn behind one opaque cursor
``"<first slot of the node>:<node cursor>"`` — so a checkpointed cursor
resumes on whichever node owns that slot range after a failover.
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SLOTS = 16384
KEYLESS = frozenset({"PING", "INFO", "DBSIZE", "SCAN", "SCRIPT", "CLIENT", "CLUSTER", "WAIT", "FLUSHALL"})


def command_key(command: Sequence[Any]) -> Any | None:
    """The key a command routes by, or None for keyless commands."""
    name = str(command[0]).upper()
    if name in KEYLESS:
        return None
    if name in ("EVALSHA", "EVAL"):
        return command[3] if int(command[2]) > 0 else None
    if name == "MEMORY":
        return command[2]
    return command[1] if len(command) > 1 else None


def slot_of(key: Any) -> int:
    """The cluster slot of a key (the cluster spec's CRC16 of the hash tag, or of the key).

    The same few lines as redis-py's ``redis.crc.key_slot``; not imported from there
    because importing ``redis.crc`` loads the whole redis package (sockets, asyncio)
    into the pure core.
    """
    raw = key if isinstance(key, bytes) else str(key).encode("utf-8")
    start = raw.find(b"{")
    if start > -1:
        end = raw.find(b"}", start + 1)
        if end > -1 and end != start + 1:
            raw = raw[start + 1 : end]
    return crc_hqx(raw, 0) % SLOTS


@dataclass(frozen=True)
class Node:
    host: str
    port: int

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


class Topology:
    """Which primary owns each slot (from a CLUSTER SLOTS reply)."""

    def __init__(self, slots_reply: Any) -> None:
        owner: list[Node | None] = [None] * SLOTS
        starts: dict[Node, int] = {}
        for entry in slots_reply:
            start, end, primary = int(entry[0]), int(entry[1]), entry[2]
            host = primary[0].decode() if isinstance(primary[0], bytes) else str(primary[0])
            node = Node(host or "127.0.0.1", int(primary[1]))
            for slot in range(start, end + 1):
                owner[slot] = node
            starts[node] = min(starts.get(node, start), start)
        if any(o is None for o in owner):
            missing = sum(1 for o in owner if o is None)
            raise ValueError(f"the cluster does not cover every slot ({missing} uncovered)")
        self.owner: list[Node] = owner  # type: ignore[assignment]
        # primaries ordered by the first slot they own: a stable order across failovers
        self.primaries: list[Node] = sorted(starts, key=lambda n: starts[n])
        self.first_slot = {n: starts[n] for n in self.primaries}

    def node_for(self, command: Sequence[Any]) -> Node | None:
        key = command_key(command)
        return None if key is None else self.owner[slot_of(key)]


def split_cursor(cursor: Any, topology: Topology) -> tuple[int, Any]:
    """(index of the primary to scan, its own cursor) from a cluster cursor."""
    text = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
    if text == "0" or ":" not in text:
        return 0, 0
    slot, _, node_cursor = text.partition(":")
    node = topology.owner[int(slot)]
    return topology.primaries.index(node), node_cursor


def join_cursor(index: int, node_cursor: Any, topology: Topology) -> str:
    """The cluster cursor after a node answered ``node_cursor`` (``"0"`` when every node is done)."""
    text = node_cursor.decode() if isinstance(node_cursor, bytes) else str(node_cursor)
    if text == "0":
        index += 1
        if index >= len(topology.primaries):
            return "0"
        return f"{topology.first_slot[topology.primaries[index]]}:0"
    return f"{topology.first_slot[topology.primaries[index]]}:{text}"


def cursor_done(cursor: Any) -> bool:
    return cursor in (0, "0", b"0")


READ_ONLY = frozenset(
    {
        "GET",
        "HGETALL",
        "SMEMBERS",
        "LRANGE",
        "ZRANGE",
        "TTL",
        "PTTL",
        "EXISTS",
        "TYPE",
        "DUMP",
        "SCAN",
        "MEMORY",
        "INFO",
        "PING",
        "DBSIZE",
        "SISMEMBER",
        "LLEN",
        "HGET",
        "CLIENT",
        "CLUSTER",
        "SCRIPT",
    }
)


def is_write(command: Sequence[Any]) -> bool:
    return str(command[0]).upper() not in READ_ONLY


@dataclass
class Route:
    """One node's share of a batch: its commands and their positions in the batch."""

    node: Node
    positions: list[int]
    commands: list[tuple[Any, ...]]


def plan_batch(commands: Sequence[tuple[Any, ...]], topology: Topology) -> list[Route]:
    """Group a batch by the primary that owns each command's slot (order kept within a node)."""
    routes: dict[Node, Route] = {}
    default = topology.primaries[0]
    for i, command in enumerate(commands):
        node = topology.node_for(command) or default
        route = routes.get(node)
        if route is None:
            route = routes[node] = Route(node, [], [])
        route.positions.append(i)
        route.commands.append(tuple(command))
    return list(routes.values())


def redirected(reply: Any) -> bool:
    return isinstance(reply, str) and (reply.startswith("MOVED ") or reply.startswith("ASK "))
