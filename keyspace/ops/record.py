"""Reading one record for the operator engines: decoded once, secrets classified once.

``decode_record`` is pure: it takes the raw reply of a key, classifies its
secrets (keyspace.ops.census) and decodes the record from those verdicts, and
says what is wrong instead of raising: a wrong Redis type, a corrupt value (a
JSON nested too deeply, bytes that are not UTF-8, a field that fails its
type), or secrets that could not be read (no key, undecryptable, suspicious:
the rest of the record is still validated).  ``read_record`` is the program
that fetches the reply first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from keyspace.core import codec
from keyspace.core.crypto import Keyring
from keyspace.core.model import ModelSpec
from keyspace.core.programs import ErrorReply, Program, fetch
from keyspace.errors import KeyspaceError
from keyspace.ops import census as cz

Problem = Literal["", "wrong_type", "corrupt", "secrets"]


@dataclass
class RecordRead:
    """One record as read: decoded (or why not), with the census of its secrets."""

    key: str
    spec: ModelSpec
    values: dict[str, str]
    exists: bool = False
    instance: Any = None
    census: cz.RecordCensus | None = None
    problem: Problem = ""  # "secrets": only secrets whose plaintext is unknown kept it from decoding
    error: str = ""  # why, in words ("" when it decodes)

    @property
    def forms(self) -> dict[str, str]:
        """field -> stored form of each secret (``encrypted:current``, ``masked:plaintext``, ...)."""
        if self.census is None:
            return {}
        return {v.field: f"{v.family}:{v.form}" for v in self.census.values}

    @property
    def unread(self) -> set[str]:
        """Secret fields whose plaintext could not be read."""
        return set() if self.census is None else set(self.census.unread)


def _empty(reply: Any) -> bool:
    return reply is None or (isinstance(reply, dict | list) and not reply)


def decode_record(
    spec: ModelSpec, key: str, values: dict[str, str], reply: Any, keyring: Keyring | None
) -> RecordRead:
    """Classify the secrets of a raw reply once and decode the record from the verdicts (pure)."""
    read = RecordRead(key, spec, values)
    if isinstance(reply, ErrorReply):
        read.exists = True
        if reply.startswith("WRONGTYPE"):
            read.problem, read.error = "wrong_type", f"wrong Redis type: {spec.name} is a {spec.redis_type}"
        else:
            read.problem, read.error = "corrupt", f"server error: {reply}"
        return read
    if _empty(reply):
        return read  # missing, or deleted between SCAN and the read
    read.exists = True
    record = read.census = cz.census(spec, reply, keyring)
    if record.problem:
        read.problem, read.error = "corrupt", record.problem
        return read
    context = cz.decoding_context(record, keyring)
    try:
        read.instance = codec.DECODERS[spec.kind](spec, key, values, reply, context)
    except KeyspaceError as exc:
        read.problem = "secrets" if cz.unread_only(exc, record.unread) else "corrupt"
        read.error = exc.reason
    except RecursionError:
        read.problem, read.error = "corrupt", "stored value is nested too deeply to read"
    return read


def read_record(
    spec: ModelSpec, key: str, values: dict[str, str], keyring: Keyring | None
) -> Program[RecordRead]:
    """Read one key of a model and decode it (see :func:`decode_record`)."""
    (reply,) = yield from fetch(spec, [key])
    return decode_record(spec, key, values, reply, keyring)
