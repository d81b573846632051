"""``keyspace show KEY``: one key, decoded, with the stored form of each secret (values masked).

A record of the wrong type or a corrupt one (a 200 KB JSON nested too deeply,
a hash field that is not UTF-8, ...) raises WrongType / CorruptValue naming the
model and the key.  The secrets are classified once (keyspace.ops.census) and
the record decoded from those verdicts; a secret that cannot be read (no key,
undecryptable, suspicious) is shown as its stored form, never as a value, and
the rest of the record is still shown.  Runs on Mapper and AsyncMapper (a plan, keyspace.ops.plan).
"""

from __future__ import annotations

from typing import Any

from keyspace.core.crypto import Keyring
from keyspace.core.model import ModelSpec
from keyspace.core.programs import Call, Program
from keyspace.core.registry import Registry, default_registry
from keyspace.core.secret import reveal as reveal_value
from keyspace.errors import CorruptValue, WrongType
from keyspace.ops import census as cz
from keyspace.ops.plan import OnServer, Plan, drive
from keyspace.ops.record import read_record

MASK = "**********"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def describe_program(
    spec: ModelSpec,
    key: str,
    values: dict[str, str],
    keyring: Keyring | None,
    ttl_policy: int | None,
    reveal: bool,
) -> Program[dict[str, Any]]:
    kind, ttl = yield Call([("TYPE", key), ("TTL", key)])
    out: dict[str, Any] = {
        "key": key,
        "model": spec.name,
        "server": spec.server,
        "key_values": values,
        "redis_type": _text(kind),
        "ttl": None if ttl == -1 else ttl,
        "ttl_policy": ttl_policy,
        "exists": ttl != -2,
        "encrypted_fields": list(spec.encrypted_fields),
        "masked_fields": list(spec.masked_fields),
    }
    if ttl == -2:
        return out
    read = yield from read_record(spec, key, values, keyring)
    out["secret_forms"] = read.forms
    if read.problem == "wrong_type":
        raise WrongType(expected=spec.redis_type, actual=out["redis_type"], model=spec.name, key=key)
    if read.problem == "corrupt":
        raise CorruptValue(read.error, model=spec.name, key=key)
    if read.error:  # only secrets whose plaintext is unknown kept the record from decoding
        out["error"] = read.error
        return out
    instance = read.instance
    if instance is None:
        out["exists"] = False  # deleted between the TYPE and the read
        return out
    unread = read.unread
    fields: dict[str, Any] = {}
    for name, fs in spec.value_fields.items():
        value = getattr(instance, name)
        if fs.secret and value is not None:
            if name in unread:
                fields[name] = f"({read.forms.get(name, 'unreadable')}: not readable)"
            else:
                fields[name] = reveal_value(value) if reveal else MASK
        else:
            fields[name] = value
    fields.update(instance.model_extra or {})
    if instance.unknown_fields:
        out["unknown_fields"] = dict(instance.unknown_fields)
    out["fields"] = fields
    return out


def describe_plan(mapper: Any, key: str, *, reveal: bool, registry: Registry) -> Plan[dict[str, Any]]:
    found = cz.place_key(key, list(registry))
    if found.place != "model":
        if found.place == "mistyped":
            assert found.spec is not None
            raise KeyError(
                f"{key!r} has the shape of {found.spec.name}'s keys but fails its key types "
                f"({found.reason}): no model can read it"
            )
        raise KeyError(f"{key!r} belongs to no model (see `keyspace schema`)")
    spec, values = found.spec, found.values
    assert spec is not None and values is not None
    program = describe_program(spec, key, values, mapper.ctx.keyring, mapper.ttl_policy(spec), reveal)
    described: dict[str, Any] = yield OnServer(spec.server, program)
    return described


def describe_key(mapper: Any, key: str, *, reveal: bool = False, registry: Registry | None = None) -> Any:
    """Model, key values, Redis type, TTL, decoded fields (secrets masked unless ``reveal``),
    the stored form of each secret, and ``error`` when the record cannot be decoded.

    A key of no model raises KeyError (naming the model whose shape it has, if any).
    Returns the dict on a Mapper, an awaitable of it on an AsyncMapper.
    """
    return drive(mapper, describe_plan(mapper, key, reveal=reveal, registry=registry or default_registry))
