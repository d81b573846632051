"""``Encrypted[T]``: a field stored as a Fernet token and masked in memory.

In memory the value is a :class:`pydantic.Secret` (``SecretStr``'s generic
sibling): repr, str and ``model_dump()`` show ``**********``; call
``.get_secret_value()`` to reveal it.  In Redis it is a standard Fernet token
of the UTF-8 text of the value (non-str values are encoded to text first, the
same way a plain field of that type would be stored).
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

if TYPE_CHECKING:
    _T = TypeVar("_T")
    Encrypted = Annotated[Secret[_T], ENCRYPTED]  # type checkers see Encrypted[str] as Secret[str]
else:

    class Encrypted:
        """``Encrypted[str]``, ``Encrypted[int]``, … (see the module docstring)."""

        def __class_getitem__(cls, item: Any) -> Any:
            return Annotated[Secret[item], ENCRYPTED]


def is_encrypted_annotation(annotation: Any) -> bool:
    """Whether an annotation (possibly Optional) carries the Encrypted marker."""
    if get_origin(annotation) is typing.Annotated:
        if any(m is ENCRYPTED for m in annotation.__metadata__):
            return True
        return is_encrypted_annotation(get_args(annotation)[0])
    origin = get_origin(annotation)
    if origin is not None and origin is not Secret:
        return any(is_encrypted_annotation(a) for a in get_args(annotation) if a is not type(None))
    return False


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
