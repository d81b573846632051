"""What every mapper operation does, as I/O-free programs.

An operation is a generator: it yields :class:`Call` (a batch of Redis
commands, sent as one round trip) and receives the list of raw replies, or it
yields :class:`Emit` to stream an item to the caller (scan).  Its return value
is the operation's result.  The sync and the asyncio mapper only *drive* these
generators (see ``keyspace.io.executors``), so no decision is ever written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from keyspace.core import codec, scripts
from keyspace.core.codec import CodecContext
from keyspace.core.model import TTL_KEEP, KeyspaceModel, ModelSpec, TtlPolicy
from keyspace.core.secret import reveal
from keyspace.core.slots import cursor_done
from keyspace.errors import (
    BulkReadError,
    CorruptValue,
    InvalidKeyValue,
    KeyspaceError,
    NotFound,
    ReadOnlyModel,
    ScanError,
    ServerError,
    SuspiciousValue,
    UndecryptableValue,
    ValidationFailed,
    WrongType,
)

T = TypeVar("T")
Command = tuple[Any, ...]


class ErrorReply(str):
    """An error reply from the server, in place of a normal reply."""


@dataclass(slots=True)
class Call:
    """Send these commands in one round trip; the replies come back in order."""

    commands: list[Command]


@dataclass(slots=True)
class Emit:
    """Hand one item to the caller of a streaming operation."""

    item: Any


@dataclass(slots=True)
class Sleep:
    """Pause this long before the next step (a rate limit); the driver sleeps or awaits."""

    seconds: float


Step = Call | Emit | Sleep
Program = Generator[Step, Any, T]


@dataclass(slots=True)
class ScanBatch:
    """One SCAN reply: the keys, and the cursor to resume *after* them.

    Keys that are not UTF-8 cannot belong to any model; they are handed over
    as bytes in ``undecodable`` so a caller counts and names them instead of
    dropping them silently.
    """

    cursor: Any
    keys: list[str]
    done: bool
    undecodable: list[bytes]


def scan_batches(pattern: str | None, *, cursor: Any = 0, count: int = 1000) -> Program[None]:
    """The one SCAN loop: emits a :class:`ScanBatch` per reply, resumable from ``cursor``.

    ``pattern`` is a MATCH pattern built from a template (never KEYS); None
    walks every key (stats, backup).  On a cluster the executor turns the
    cursor into a cluster-wide one (keyspace.core.slots), so a saved cursor
    resumes on whichever node owns its slots.
    """
    while True:
        match = ("MATCH", pattern) if pattern else ()
        command: Command = ("SCAN", cursor, *match, "COUNT", count)
        (reply,) = yield Call([command])
        if isinstance(reply, ErrorReply):
            raise ServerError(f"SCAN failed: {reply}")
        cursor, raw_keys = reply
        keys: list[str] = []
        undecodable: list[bytes] = []
        for raw in raw_keys:
            if isinstance(raw, str):
                keys.append(raw)
                continue
            try:
                keys.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                undecodable.append(raw)
        done = cursor_done(cursor)
        yield Emit(ScanBatch(cursor, keys, done, undecodable))
        if done:
            return


DEFAULT_CHUNK = 500
READ_COMMANDS: dict[str, Callable[[str], Command]] = {
    "hash": lambda key: ("HGETALL", key),
    "json": lambda key: ("GET", key),
    "string": lambda key: ("GET", key),
    "counter": lambda key: ("GET", key),
    "set": lambda key: ("SMEMBERS", key),
    "list": lambda key: ("LRANGE", key, 0, -1),
}


_ANY_READS: dict[str, Callable[[str], Command]] = {
    "string": lambda key: ("GET", key),
    "hash": lambda key: ("HGETALL", key),
    "set": lambda key: ("SMEMBERS", key),
    "list": lambda key: ("LRANGE", key, 0, -1),
    "zset": lambda key: ("ZRANGE", key, 0, -1, "WITHSCORES"),
}


def fetch(spec: ModelSpec, keys: Sequence[str]) -> Generator[Call, Any, list[Any]]:
    """Read the stored values of ``keys`` in one round trip (two for models of any type)."""
    if spec.kind != "any":
        read = READ_COMMANDS[spec.kind]
        same: list[Any] = yield Call([read(key) for key in keys])
        return same
    types = yield Call([("TYPE", key) for key in keys])
    names = [_text(t) for t in types]
    readable = [(i, k, n) for i, (k, n) in enumerate(zip(keys, names, strict=True)) if n in _ANY_READS]
    replies: list[Any] = [None] * len(keys)
    if readable:
        got = yield Call([_ANY_READS[n](k) for _, k, n in readable])
        for (i, _, n), reply in zip(readable, got, strict=True):
            replies[i] = reply if isinstance(reply, ErrorReply) else (n, reply)
    return replies


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def fail(spec: ModelSpec, key: str, reply: ErrorReply) -> Generator[Call, Any, NoReturn]:
    """Turn an error reply into the matching keyspace error (asking TYPE when needed)."""
    message = str(reply)
    if message.startswith("WRONGTYPE"):
        words = message.split()
        actual: str | None = words[1] if len(words) == 2 else None
        if actual is None:
            (found,) = yield Call([("TYPE", key)])
            actual = _text(found) if not isinstance(found, ErrorReply) else None
        raise WrongType(expected=spec.redis_type, actual=actual, model=spec.name, key=key)
    if "not an integer" in message or "not a valid float" in message:
        raise CorruptValue("stored value is not an integer", model=spec.name, key=key)
    raise ServerError(f"server error: {message}", model=spec.name, key=key)


def _check_writable(spec: ModelSpec) -> None:
    if spec.read_only:
        raise ReadOnlyModel(
            f"{spec.name} is read-only in keyspace (its keys are written by {spec.server})",
            model=spec.name,
        )


def locate(spec: ModelSpec, key_values: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """Validated key texts and the key they name."""
    texts = spec.key_texts(key_values)
    return spec.render(texts), texts


# --- reads ------------------------------------------------------------------------


def get(spec: ModelSpec, ctx: CodecContext, key_values: Mapping[str, Any]) -> Program[Any]:
    key, texts = locate(spec, key_values)
    if spec.kind == "any":
        (reply,) = yield from fetch(spec, [key])
    else:  # fetch's one round trip, without a generator in between (the hot path)
        (reply,) = yield Call([READ_COMMANDS[spec.kind](key)])
    if isinstance(reply, ErrorReply):
        yield from fail(spec, key, reply)
    return codec.DECODERS[spec.kind](spec, key, texts, reply, ctx)


def get_or_raise(spec: ModelSpec, ctx: CodecContext, key_values: Mapping[str, Any]) -> Program[Any]:
    found = yield from get(spec, ctx, key_values)
    if found is None:
        raise NotFound("no such key", model=spec.name, key=spec.render(spec.key_texts(key_values)))
    return found


def _decode_batch(
    spec: ModelSpec,
    ctx: CodecContext,
    located: Sequence[tuple[str, Mapping[str, str]]],
    replies: Sequence[Any],
) -> Generator[Call, Any, list[tuple[Any, KeyspaceError | None]]]:
    out: list[tuple[Any, KeyspaceError | None]] = []
    decode = codec.DECODERS[spec.kind]
    for (key, texts), reply in zip(located, replies, strict=True):
        try:
            if isinstance(reply, ErrorReply):
                yield from fail(spec, key, reply)
            out.append((decode(spec, key, texts, reply, ctx), None))
        except KeyspaceError as exc:
            out.append((None, exc))
    return out


def get_many(
    spec: ModelSpec,
    ctx: CodecContext,
    many: Iterable[Mapping[str, Any]],
    *,
    chunk: int = DEFAULT_CHUNK,
    on_error: Any = None,
) -> Program[list[Any]]:
    """Read many keys, one round trip per chunk; the result is aligned with the input.

    Every key is validated before anything is sent.  A key that cannot be
    decoded never hides the others: with ``on_error`` each error is passed to
    it (and the item is None); without it a :class:`BulkReadError` carrying all
    the good results and every error is raised after everything was read.
    """
    located = [locate(spec, kv) for kv in many]
    results: list[Any] = []
    errors: list[KeyspaceError] = []
    decode = codec.DECODERS[spec.kind]
    append = results.append
    for start in range(0, len(located), chunk):
        part = located[start : start + chunk]
        replies = yield from fetch(spec, [key for key, _ in part])
        for (key, texts), reply in zip(part, replies, strict=True):  # _decode_batch, inline
            try:
                if isinstance(reply, ErrorReply):
                    yield from fail(spec, key, reply)
                append(decode(spec, key, texts, reply, ctx))
            except KeyspaceError as exc:
                append(None)
                errors.append(exc)
    _report(spec, errors, on_error, results)
    return results


def _report(spec: ModelSpec, errors: list[KeyspaceError], on_error: Any, results: list[Any]) -> None:
    if not errors:
        return
    if on_error is None:
        raise BulkReadError(results, errors, model=spec.name)
    for error in errors:
        on_error(error)


def exists(spec: ModelSpec, key_values: Mapping[str, Any]) -> Program[bool]:
    key, _ = locate(spec, key_values)
    (reply,) = yield Call([("EXISTS", key)])
    return bool(reply)


def ttl(spec: ModelSpec, key_values: Mapping[str, Any]) -> Program[int | None]:
    """Remaining seconds, None for a persistent key; NotFound when missing."""
    key, _ = locate(spec, key_values)
    (reply,) = yield Call([("TTL", key)])
    if reply == -2:
        raise NotFound("no such key", model=spec.name, key=key)
    return None if reply == -1 else int(reply)


# --- scan -------------------------------------------------------------------------


def _split_filters(spec: ModelSpec, filters: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    key_part = {k: v for k, v in filters.items() if k in spec.key_adapters}
    value_part = {k: v for k, v in filters.items() if k not in spec.key_adapters}
    for name in value_part:
        if name not in spec.value_fields:
            raise InvalidKeyValue("not a field of this model", model=spec.name, field=name)
    texts = spec.key_texts(key_part, partial=True)
    wanted: dict[str, Any] = {}
    if value_part:
        # validate the filter values with the field types, so "running" == Status.RUNNING
        probe = spec.model.model_fields
        from pydantic import TypeAdapter, ValidationError

        for name, value in value_part.items():
            adapter: TypeAdapter[Any] = TypeAdapter(probe[name].annotation or Any)
            try:
                wanted[name] = adapter.validate_python(value)
            except ValidationError as exc:
                raise ValidationFailed(
                    f"invalid filter value: {exc.errors(include_input=False)[0]['msg']}",
                    model=spec.name,
                    field=name,
                ) from None
    return texts, wanted


def scan(
    spec: ModelSpec,
    ctx: CodecContext,
    filters: Mapping[str, Any],
    *,
    keys_only: bool = False,
    count: int = 1000,
    dedupe: bool = True,
    on_error: Any = None,
) -> Program[int]:
    """Stream the instances (or keys) of a model; SCAN with MATCH, never KEYS.

    Key-field filters become the MATCH pattern; value-field filters (e.g.
    ``status="running"``) are applied after each batch is read, so they cost a
    read of every key the pattern matches.  One SCAN batch is in memory at a
    time; with ``dedupe`` the set of keys already emitted is kept so that
    SCAN's occasional repeats are dropped.  Undecodable items are reported
    through ``on_error``, or raised together (ScanError) after the scan ends.
    Returns the number of items emitted.
    """
    texts, wanted = _split_filters(spec, filters)
    errors: list[KeyspaceError] = []
    seen: set[bytes] = set()
    emitted = 0
    decode_needed = not keys_only or bool(wanted)
    for pattern, owned in spec.scan_parts(texts):  # templates of one shape: one SCAN, each key once
        cursor: Any = 0
        while True:
            (reply,) = yield Call([("SCAN", cursor, "MATCH", pattern, "COUNT", count)])
            if isinstance(reply, ErrorReply):
                raise ServerError(f"SCAN failed: {reply}", model=spec.name)
            cursor, raw_keys = reply
            batch: list[tuple[str, dict[str, str]]] = []
            for raw in raw_keys:
                try:
                    key = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                except UnicodeDecodeError:
                    continue
                hit = spec.match_template(key)
                if hit is None or hit[0] not in owned or any(hit[1].get(k) != v for k, v in texts.items()):
                    continue  # (before de-duplication: a key another part owns must reach that part)
                if dedupe:
                    if raw in seen:
                        continue
                    seen.add(raw)
                batch.append((key, hit[1]))
            if batch and not decode_needed:
                for key, _ in batch:
                    yield Emit(key)
                emitted += len(batch)
            elif batch:
                replies = yield from fetch(spec, [key for key, _ in batch])
                decoded = yield from _decode_batch(spec, ctx, batch, replies)
                for (key, _), (item, error) in zip(batch, decoded, strict=True):
                    if error is not None:
                        errors.append(error)
                    elif item is not None and all(getattr(item, n) == v for n, v in wanted.items()):
                        yield Emit(key if keys_only else item)
                        emitted += 1
            if cursor_done(cursor):
                break
    if errors:
        if on_error is None:
            raise ScanError(errors, model=spec.name)
        for error in errors:
            on_error(error)
    return emitted


# --- writes -----------------------------------------------------------------------
#
# What a save writes (fields-set saves, NoneText, read documents re-emitted as they were) is the
# codec's rule (keyspace.core.codec); the TTL policies and the invalidation channel are the
# model's (keyspace.core.model); this section turns them into commands:
#
# * a hash save sends only the set fields.  Persistent and "keep" hashes of one key without a
#   channel take the pipelined fast path (PERSIST for persistent, then HSET / HDEL: HSET and
#   HDEL refuse a key of another type by themselves); everything else is one WRITE_HASH script
#   call per key group (value, deletes, TTL and PUBLISH atomically);
# * nothing set, nothing sent: saving an instance read from Redis unchanged is no command at all,
#   so it changes no byte and no TTL;
# * a write of some but not all Encrypted fields of a hash first reads the record's other
#   encrypted fields (HMGET) and refuses — UndecryptableValue naming the field, nothing written —
#   when one of them does not verify under the configured keys (the hash would end up holding
#   secrets under two keys, one of them unknown).  The write is then conditional on those fields
#   being unchanged (WRITE_HASH guards) and retried on a concurrent change.


def ttl_arg(policy: TtlPolicy) -> int | str:
    """The TTL argument of the write scripts: seconds, 0 (persistent) or ``"keep"``."""
    if policy == TTL_KEEP:
        return "keep"
    return policy or 0


_ttl_arg = ttl_arg  # the earlier name


_QUIET: list[str] = ["", ""]  # no channel (never mutated)


def _publish(spec: ModelSpec, texts: Mapping[str, str], key: str) -> list[str]:
    if spec.channel is None:
        return _QUIET
    channel, payload = spec.channel_for(texts, key)  # type: ignore[misc]
    return [channel, payload]


def per_slot(
    script: scripts.Script,
    keys: list[str],
    args: list[Any],
    cluster: bool,
    *,
    quiet_args: list[Any] | None = None,
) -> list[Command]:
    """One script call for all keys, or on a cluster one per slot.

    On a standalone server the keys (a model's primary and alternate keys)
    change in one atomic call.  A cluster cannot run a script across slots, so
    there each slot's keys change atomically, in key order (primary first); if
    a later call fails, the earlier keys are already written.  ``quiet_args``
    are the arguments of the calls after the first (the same write without the
    channel), so that a write split by slot publishes once.
    """
    if not cluster or len(keys) == 1:
        return [scripts.call(script, keys, args)]
    from keyspace.core.slots import slot_of

    groups: dict[int, list[str]] = {}
    for key in keys:
        groups.setdefault(slot_of(key), []).append(key)
    later = args if quiet_args is None else quiet_args
    return [scripts.call(script, group, args if i == 0 else later) for i, group in enumerate(groups.values())]


Guards = Mapping[str, list[Any]]  # key -> flattened (field, "1"|"0", expected value) triples


def hash_commands(
    spec: ModelSpec,
    keys: list[str],
    pairs: list[bytes | str],
    deletes: list[str],
    policy: int | str,
    publish: list[str],
    cluster: bool,
    *,
    mode: str = "save",
    guards: Guards | None = None,
) -> list[Command]:
    """The commands of one hash write (see the comment at the top of this section)."""
    if mode == "save" and guards is None and not publish[0] and len(keys) == 1 and policy in (0, "keep"):
        key = keys[0]
        batch: list[Command] = [("PERSIST", key)] if policy == 0 else []
        if pairs:
            batch.append(("HSET", key, *pairs))
        if deletes:
            batch.append(("HDEL", key, *deletes))
        return batch
    n = len(pairs) // 2
    if guards is not None:  # one call per key: each key has its own expected values
        out: list[Command] = []
        for i, key in enumerate(keys):
            g = guards.get(key, [])
            quiet = publish if i == 0 else ["", ""]
            args = [policy, mode, *quiet, len(g) // 3, n, *g, *pairs, *deletes]
            out.append(scripts.call(scripts.WRITE_HASH, [key], args))
        return out
    return per_slot(
        scripts.WRITE_HASH,
        keys,
        [policy, mode, *publish, 0, n, *pairs, *deletes],
        cluster,
        quiet_args=[policy, mode, "", "", 0, n, *pairs, *deletes],
    )


def write_command(
    obj: KeyspaceModel, ctx: CodecContext, ttl_seconds: TtlPolicy, guards: Guards | None = None
) -> tuple[list[str], list[Command]]:
    """The keys and the commands that save ``obj`` (value, TTL and PUBLISH atomically per key).

    No commands when nothing is set on the instance (see keyspace.core.codec).
    """
    spec = obj.__keyspace__
    _check_writable(spec)
    texts = obj.key_texts()
    keys = spec.render_all(texts)
    key = keys[0]
    policy = ttl_arg(ttl_seconds)
    if spec.kind == "hash":
        pairs, deletes = codec.encode_hash(obj, key, ctx)
        if not pairs and not deletes:
            return keys, []
        publish = _publish(spec, texts, key)
        return keys, hash_commands(spec, keys, pairs, deletes, policy, publish, ctx.cluster, guards=guards)
    if not obj.__pydantic_fields_set__:
        return keys, []
    publish = _publish(spec, texts, key)
    if spec.kind in ("json", "string", "counter"):
        value = (
            codec.encode_json(obj, key, ctx) if spec.kind == "json" else codec.encode_scalar(obj, key, ctx)
        )
        return keys, per_slot(
            scripts.SAVE_STRING, keys, [policy, value, *publish], ctx.cluster, quiet_args=[policy, value]
        )
    members = codec.encode_members(obj, key, ctx)
    if len(keys) != 1:
        raise InvalidKeyValue("set and list models take one key template", model=spec.name)
    return keys, [scripts.call(scripts.SAVE_COLLECTION, keys, [policy, spec.kind, *publish, *members])]


def secret_guard_names(spec: ModelSpec, obj: KeyspaceModel) -> tuple[str, ...]:
    """The encrypted fields a hash write must re-check: the unwritten ones, when it writes a token."""
    encrypted = spec.encrypted_fields
    if spec.kind != "hash" or not encrypted:
        return ()
    chosen = obj.__pydantic_fields_set__
    values = obj.__dict__
    if not any(n in chosen and values[n] is not None and reveal(values[n]) != "" for n in encrypted):
        return ()
    return tuple(n for n in encrypted if n not in chosen)


def _guards_for(
    spec: ModelSpec, ctx: CodecContext, key: str, names: Sequence[str], stored: Sequence[Any]
) -> list[Any]:
    """Guard triples for the other encrypted fields of one record; refuses a field that does not verify."""
    out: list[Any] = []
    for name, value in zip(names, stored, strict=True):
        if value is None:
            out += [name, "0", ""]
            continue
        keyring = ctx.require_keyring(spec.name, key, name)
        kind = keyring.classify(value, spec.value_fields[name].envelope).kind
        if kind in ("undecryptable", "suspicious"):
            error = SuspiciousValue if kind == "suspicious" else UndecryptableValue
            raise error(
                f"the record's {name} does not verify under the configured keys; writing some of its "
                "encrypted fields now would leave it under two keys (nothing written; repair or "
                "rewrite every encrypted field together)",
                fingerprints=keyring.fingerprints,
                model=spec.name,
                key=key,
                field=name,
            )
        out += [name, "1", value]
    return out


def _read_guards(
    spec: ModelSpec, ctx: CodecContext, keys: Sequence[str], names: Sequence[str]
) -> Generator[Call, Any, dict[str, list[Any]]]:
    replies = yield Call([("HMGET", key, *names) for key in keys])
    guards: dict[str, list[Any]] = {}
    for key, reply in zip(keys, replies, strict=True):
        if isinstance(reply, ErrorReply):
            yield from fail(spec, key, reply)
        guards[key] = _guards_for(spec, ctx, key, names, reply)
    return guards


MAX_CAS_ATTEMPTS = 16


def _guarded(
    spec: ModelSpec,
    ctx: CodecContext,
    keys: list[str],
    names: Sequence[str],
    build: Any,
) -> Generator[Call, Any, list[Any]]:
    """Read the guards, write with them (``build(guards)`` -> commands), retry while one fails."""
    for _ in range(MAX_CAS_ATTEMPTS):
        guards = yield from _read_guards(spec, ctx, keys, names)
        replies = yield from _send(spec, keys[0], build(guards))
        if all(reply != -1 for reply in replies):
            return replies
    raise ServerError(
        f"write gave up after {MAX_CAS_ATTEMPTS} concurrent changes of its encrypted fields",
        model=spec.name,
        key=keys[0],
    )


def _send(spec: ModelSpec, key: str, batch: list[Command]) -> Generator[Call, Any, list[Any]]:
    replies = yield Call(batch)
    for reply in replies:
        if isinstance(reply, ErrorReply):
            yield from fail(spec, key, reply)
    return list(replies)


def save(obj: KeyspaceModel, ctx: CodecContext, ttl_seconds: TtlPolicy) -> Program[None]:
    spec = obj.__keyspace__
    names = secret_guard_names(spec, obj)
    if names:
        keys = spec.render_all(obj.key_texts())
        yield from _guarded(
            spec, ctx, keys, names, lambda guards: write_command(obj, ctx, ttl_seconds, guards)[1]
        )
        return
    keys, batch = write_command(obj, ctx, ttl_seconds)
    if batch:
        yield from _send(spec, keys[0], batch)


def save_many(
    objs: Sequence[KeyspaceModel],
    ctx: CodecContext,
    ttl_of: Any,
    *,
    chunk: int = DEFAULT_CHUNK,
) -> Program[None]:
    """Save many instances, one round trip per chunk.

    Every instance is encoded (and so validated and encrypted) before anything
    is sent, so bad input writes nothing.  Each item is atomic on its own key;
    an item refused by the server (wrong type) does not stop the others, and
    the first such error is raised after the whole batch was sent.  Items that
    write some but not all of a record's encrypted fields are saved one by one
    after the batch, each guarded as :func:`save` does.
    """
    ttls: dict[str, TtlPolicy] = {}
    prepared = []
    guarded: list[KeyspaceModel] = []
    for o in objs:
        spec = o.__keyspace__
        if spec.name not in ttls:
            ttls[spec.name] = ttl_of(spec)
        if secret_guard_names(spec, o):
            _check_writable(spec)
            codec.encode_hash(o, o.redis_key, ctx)  # validate and encrypt before anything is sent
            guarded.append(o)
            continue
        keys, batch = write_command(o, ctx, ttls[spec.name])
        if batch:
            prepared.append((spec, keys, batch))
    first_error: KeyspaceError | None = None
    for start in range(0, len(prepared), chunk):
        part = prepared[start : start + chunk]
        replies = yield Call([command for _, _, batch in part for command in batch])
        if first_error is not None or not any(type(r) is ErrorReply for r in replies):
            continue
        at = 0
        for spec, keys, batch in part:
            for reply in replies[at : at + len(batch)]:
                if isinstance(reply, ErrorReply) and first_error is None:
                    try:
                        yield from fail(spec, keys[0], reply)
                    except KeyspaceError as exc:
                        first_error = exc
            at += len(batch)
    for o in guarded:
        try:
            yield from save(o, ctx, ttls[o.__keyspace__.name])
        except KeyspaceError as exc:
            if first_error is None:
                first_error = exc
    if first_error is not None:
        raise first_error


def update(
    spec: ModelSpec, ctx: CodecContext, ttl_seconds: TtlPolicy, values: Mapping[str, Any]
) -> Program[None]:
    """Write some fields of an existing key; the others are left as they are.

    ``values`` holds the key fields (which name the key) and the fields to
    change (for a free-form ``extra="allow"`` model, any name).  The TTL policy is
    applied as on save (a TTL model's expiry is refreshed; "keep" leaves it).  A
    missing key raises NotFound and creates nothing.  Hash updates are one script
    call (guarded when they write some of the record's encrypted fields, as save
    is); JSON updates are a compare-and-set of the whole document, retried if
    another writer changed it meanwhile, keeping its key order and unknown keys.
    """
    _check_writable(spec)
    key_values = {k: v for k, v in values.items() if k in spec.key_adapters}
    changes = {k: v for k, v in values.items() if k not in spec.key_adapters}
    key, texts = locate(spec, key_values)
    for name in changes:
        if name not in spec.value_fields and not (spec.open and spec.kind in ("hash", "json")):
            raise InvalidKeyValue("not a field of this model", model=spec.name, field=name)
    if not changes:
        return
    policy = ttl_arg(ttl_seconds)
    if spec.kind == "hash":
        carrier = _validated_partial(spec, key, texts, changes)
        pairs, deletes = codec.encode_hash(carrier, key, ctx)
        publish = _publish(spec, texts, key)
        names = secret_guard_names(spec, carrier)

        def build(guards: Guards | None) -> list[Command]:
            return hash_commands(
                spec, [key], pairs, deletes, policy, publish, ctx.cluster, mode="update", guards=guards
            )

        if names:
            replies = yield from _guarded(spec, ctx, [key], names, build)
        else:
            replies = yield from _send(spec, key, build(None))
        if replies[0] == 0:
            raise NotFound("no such key (update writes existing keys only)", model=spec.name, key=key)
        return
    if spec.kind == "json":
        yield from _update_json(spec, ctx, policy, key, texts, changes)
        return
    raise InvalidKeyValue(
        f"update is for hash and JSON models; use save, incr or add on a {spec.kind} model",
        model=spec.name,
    )


def _assign(spec: ModelSpec, key: str, obj: KeyspaceModel, changes: Mapping[str, Any]) -> None:
    """Validate each change with its field's type (as an assignment: it joins the fields-set)."""
    from pydantic import ValidationError

    from keyspace.core.model import validation_error

    validate = spec.model.__pydantic_validator__.validate_assignment
    for name, value in changes.items():
        try:
            validate(obj, name, value)
        except ValidationError as exc:
            error = validation_error(exc, model=spec.name, key=key)
        else:
            continue
        raise error  # outside the handler: pydantic's error quotes the input


def _validated_partial(
    spec: ModelSpec, key: str, texts: Mapping[str, str], changes: Mapping[str, Any]
) -> KeyspaceModel:
    """A carrier instance whose fields-set is exactly the (validated) changed fields."""
    carrier = spec.model.model_construct(None, **texts)
    _assign(spec, key, carrier, changes)
    return carrier


def _update_json(
    spec: ModelSpec,
    ctx: CodecContext,
    policy: int | str,
    key: str,
    texts: Mapping[str, str],
    changes: Mapping[str, Any],
) -> Program[None]:
    publish = _publish(spec, texts, key)
    for _ in range(MAX_CAS_ATTEMPTS):
        (raw,) = yield Call([("GET", key)])
        if isinstance(raw, ErrorReply):
            yield from fail(spec, key, raw)
        current = codec.decode_json(spec, key, texts, raw, ctx)
        if current is None:
            raise NotFound("no such key (update writes existing keys only)", model=spec.name, key=key)
        _assign(spec, key, current, changes)
        encoded = codec.encode_json(current, key, ctx)  # the stored document, the changed keys replaced
        (reply,) = yield Call([scripts.call(scripts.CAS_STRING, [key], [raw, encoded, policy, *publish])])
        if isinstance(reply, ErrorReply):
            yield from fail(spec, key, reply)
        if reply == 1:
            return
    raise ServerError(f"update gave up after {MAX_CAS_ATTEMPTS} concurrent changes", model=spec.name, key=key)


def delete(spec: ModelSpec, key_values: Mapping[str, Any], *, cluster: bool = False) -> Program[bool]:
    """Delete the key (and its alternates); refuses a key holding another Redis type."""
    _check_writable(spec)
    texts = spec.key_texts(key_values)
    keys = spec.render_all(texts)
    publish = _publish(spec, texts, keys[0])
    replies = yield Call(
        per_slot(scripts.DELETE, keys, [spec.redis_type, *publish], cluster, quiet_args=[spec.redis_type])
    )
    for reply in replies:
        if isinstance(reply, ErrorReply):
            yield from fail(spec, keys[0], reply)
    return any(bool(r) for r in replies)


# --- counters, sets, lists ------------------------------------------------------------


def require_kind(spec: ModelSpec, kind: str, operation: str) -> None:
    if spec.kind != kind:
        raise InvalidKeyValue(f"{operation} is for {kind} models, not {spec.kind}", model=spec.name)


def incr(spec: ModelSpec, ttl_seconds: TtlPolicy, key_values: Mapping[str, Any], by: int) -> Program[int]:
    require_kind(spec, "counter", "incr/decr")
    _check_writable(spec)
    if isinstance(by, bool) or not isinstance(by, int):
        raise ValidationFailed("increment must be an int", model=spec.name)
    key, texts = locate(spec, key_values)
    publish = _publish(spec, texts, key)
    (reply,) = yield Call(
        [scripts.call(scripts.WRITE, [key], [ttl_arg(ttl_seconds), "string", *publish, "INCRBY", by])]
    )
    if isinstance(reply, ErrorReply):
        yield from fail(spec, key, reply)
    return int(reply)


def _members(
    spec: ModelSpec, ctx: CodecContext, key: str, texts: Mapping[str, str], values: Iterable[Any]
) -> list[bytes | str]:
    from pydantic import ValidationError

    element = spec.element
    assert element is not None
    try:
        carrier = spec.model.model_validate({**texts, element.name: list(values)})
    except ValidationError as exc:
        from keyspace.core.model import validation_error

        raise validation_error(exc, model=spec.name, key=key) from None
    return codec.encode_members(carrier, key, ctx)


def add(
    spec: ModelSpec,
    ctx: CodecContext,
    ttl_seconds: TtlPolicy,
    key_values: Mapping[str, Any],
    values: Iterable[Any],
    *,
    command: str = "SADD",
) -> Program[int]:
    """SADD (sets) or RPUSH (lists) members, with the TTL policy applied atomically."""
    _check_writable(spec)
    key, texts = locate(spec, key_values)
    members = _members(spec, ctx, key, texts, values)
    if not members:
        return 0
    publish = _publish(spec, texts, key)
    (reply,) = yield Call(
        [
            scripts.call(
                scripts.WRITE, [key], [ttl_arg(ttl_seconds), spec.redis_type, *publish, command, *members]
            )
        ]
    )
    if isinstance(reply, ErrorReply):
        yield from fail(spec, key, reply)
    return int(reply)


def remove(
    spec: ModelSpec,
    ctx: CodecContext,
    ttl_seconds: TtlPolicy,
    key_values: Mapping[str, Any],
    values: Iterable[Any],
) -> Program[int]:
    require_kind(spec, "set", "remove")
    return (yield from add(spec, ctx, ttl_seconds, key_values, values, command="SREM"))


def members(spec: ModelSpec, ctx: CodecContext, key_values: Mapping[str, Any]) -> Program[Any]:
    """The members of a set model (an empty set when the key is missing)."""
    require_kind(spec, "set", "members")
    found = yield from get(spec, ctx, key_values)
    return set() if found is None else set(getattr(found, spec.value_field))


def contains(spec: ModelSpec, ctx: CodecContext, key_values: Mapping[str, Any], value: Any) -> Program[bool]:
    require_kind(spec, "set", "contains")
    key, texts = locate(spec, key_values)
    (member,) = _members(spec, ctx, key, texts, [value])
    (reply,) = yield Call([("SISMEMBER", key, member)])
    if isinstance(reply, ErrorReply):
        yield from fail(spec, key, reply)
    return bool(reply)


def length(spec: ModelSpec, key_values: Mapping[str, Any]) -> Program[int]:
    require_kind(spec, "list", "length")
    key, _ = locate(spec, key_values)
    (reply,) = yield Call([("LLEN", key)])
    if isinstance(reply, ErrorReply):
        yield from fail(spec, key, reply)
    return int(reply)


def list_range(
    spec: ModelSpec, ctx: CodecContext, key_values: Mapping[str, Any], start: int, stop: int
) -> Program[list[Any]]:
    """LRANGE start..stop (inclusive, negative from the end), decoded and validated."""
    require_kind(spec, "list", "range")
    key, texts = locate(spec, key_values)
    (reply,) = yield Call([("LRANGE", key, start, stop)])
    if isinstance(reply, ErrorReply):
        yield from fail(spec, key, reply)
    found = codec.decode_members(spec, key, texts, reply, ctx)
    return [] if found is None else list(getattr(found, spec.value_field))
