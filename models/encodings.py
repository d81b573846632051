"""The value encodings and class keywords of the live keyspace, resolved against the installed core.

The models are declared against the core's encoding API (``BoolText``,
``NoneText``, class keywords ``ttl="keep"``, ``json_style``, ``channel``).
While a piece of it has not landed in ``keyspace`` yet, this module stands in:

* ``BoolText`` / ``NoneText`` / ``EpochSeconds``: the core's when it has them;
  else stand-ins that read every spelling (``NoneText``'s text reads as None)
  but store keyspace's default one — the round-trip tests that need the real
  encoding are marked xfail until it lands;
* :func:`options` passes a class keyword on only when the core accepts it, and
  maps ``ttl="keep"`` to ``None`` meanwhile (see ``HAVE``).

``HAVE`` says which pieces are real; tests use it to mark what still waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BeforeValidator

import keyspace

HAVE: dict[str, bool] = {}


def _core(name: str) -> Any:
    found = getattr(keyspace, name, None)
    if found is None:
        try:
            from keyspace.core import codec

            found = getattr(codec, name, None)
        except ImportError:  # pragma: no cover
            found = None
    HAVE[name] = found is not None
    return found


@dataclass(frozen=True)
class _BoolTextStandIn:
    true: str = "true"
    false: str = "false"


def _NoneTextStandIn(text: str = "None") -> Any:
    """Reads ``text`` as None (a save then deletes the field: the core's NoneText writes it back)."""
    return BeforeValidator(lambda value: None if value == text else value)


@dataclass(frozen=True)
class _EpochSecondsStandIn:
    float: bool = False


BoolText: Any = _core("BoolText") or _BoolTextStandIn
NoneText: Any = _core("NoneText") or _NoneTextStandIn
EpochSeconds: Any = _core("EpochSeconds") or _EpochSecondsStandIn


def _accepts(keyword: str, value: Any) -> bool:
    """Whether the installed core takes this class keyword (a throwaway, unregistered model)."""
    from keyspace import StringModel
    from keyspace.errors import KeyspaceError

    try:
        type(
            "_Probe",
            (StringModel,),
            {"__annotations__": {"k": str, "v": str}, "__module__": __name__},
            key="keyspace-probe:{k}",
            register=False,
            **{keyword: value},
        )
    except (TypeError, ValueError, KeyspaceError):
        return False
    return True


_PROBES = {
    "ttl_keep": ("ttl", "keep"),
    "json_style": ("json_style", "python"),
    "channel": ("channel", "probe:{k}"),
}
for _name, (_kw, _value) in _PROBES.items():
    HAVE[_name] = _accepts(_kw, _value)
HAVE["fields_set_saves"] = hasattr(keyspace.KeyspaceModel, "mark_set")


def options(**declared: Any) -> dict[str, Any]:
    """The class keywords the installed core accepts (``ttl="keep"`` becomes ``None`` meanwhile)."""
    out: dict[str, Any] = {}
    for name, value in declared.items():
        if name == "ttl" and value == "keep" and not HAVE["ttl_keep"]:
            out[name] = None
        elif (name in ("json_style",) and not HAVE["json_style"]) or (
            name in ("channel", "channel_payload") and not HAVE["channel"]
        ):
            continue
        else:
            out[name] = value
    return out


__all__ = ["HAVE", "BoolText", "EpochSeconds", "NoneText", "options"]
