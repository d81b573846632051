"""``Encrypted[T]`` and ``Masked[T]``: secret-bearing fields.

In memory both are a :class:`pydantic.Secret` (``SecretStr``'s generic
sibling): repr, str and ``model_dump()`` show ``**********``; call
``.get_secret_value()`` to reveal it.

* ``Encrypted[T]`` is stored as a Fernet token of the UTF-8 text of the value,
  in the model's declared stored form (``envelope="enc_v1:"`` → ``enc_v1:gAAAA…``;
  see keyspace.core.crypto).
* ``Masked[T]`` is stored as plaintext *by policy*: for key families whose
  readers in the application do not decrypt (TradingBoost's GRID user
  hashes).  keyspace masks it everywhere and counts it as "plaintext by
  policy", separately from legacy plaintext awaiting migration; migrations
  never encrypt it.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args, get_origin

from pydantic import Secret


class _EncryptedMarker:
    """Annotated metadata that marks a field as encrypted at rest."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Encrypted"


ENCRYPTED = _EncryptedMarker()


class _MaskedMarker:
    """Annotated metadata that marks a field as a secret stored in plaintext by policy."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Masked"


MASKED = _MaskedMarker()

if TYPE_CHECKING:
    _T = TypeVar("_T")
    Encrypted = Annotated[Secret[_T], ENCRYPTED]  # type checkers see Encrypted[str] as Secret[str]
    Masked = Annotated[Secret[_T], MASKED]
else:

    class Encrypted:
        """``Encrypted[str]``, ``Encrypted[int]``, … (see the module docstring)."""

        def __class_getitem__(cls, item: Any) -> Any:
            return Annotated[Secret[item], ENCRYPTED]

    class Masked:
        """``Masked[str]``: a secret stored in plaintext by policy (see the module docstring)."""

        def __class_getitem__(cls, item: Any) -> Any:
            return Annotated[Secret[item], MASKED]


def is_encrypted_annotation(annotation: Any, marker: Any = ENCRYPTED) -> bool:
    """Whether an annotation (possibly Optional) carries the Encrypted (or another) marker."""
    if get_origin(annotation) is typing.Annotated:
        if any(m is marker for m in annotation.__metadata__):
            return True
        return is_encrypted_annotation(get_args(annotation)[0], marker)
    origin = get_origin(annotation)
    if origin is not None and origin is not Secret:
        return any(is_encrypted_annotation(a, marker) for a in get_args(annotation) if a is not type(None))
    return False


def is_masked_annotation(annotation: Any) -> bool:
    return is_encrypted_annotation(annotation, MASKED)


def secret_inner_type(annotation: Any) -> Any:
    """The T of Encrypted[T] (str when it cannot be found)."""
    if get_origin(annotation) is typing.Annotated:
        return secret_inner_type(get_args(annotation)[0])
    origin = get_origin(annotation)
    if origin is Secret:
        return get_args(annotation)[0]
    if origin is not None:
        for arg in get_args(annotation):
            if arg is not type(None):
                return secret_inner_type(arg)
    if isinstance(annotation, type) and issubclass(annotation, Secret):
        args = getattr(annotation, "__pydantic_generic_metadata__", {}).get("args", ())
        if args:
            return args[0]
    return str


def reveal(value: Any) -> Any:
    """The plain value of a Secret (or the value itself)."""
    return value.get_secret_value() if isinstance(value, Secret) else value
