"""What every ``user:{user_id}:…`` model shares: which kind of id its key holds."""

from __future__ import annotations

from models.types import IdKind, id_kind


class UserKeyed:
    """Mixin for models keyed by ``user_id`` (an OKX uid or a Telegram id)."""

    user_id: str

    @property
    def id_kind(self) -> IdKind:
        """``okx_uid`` or ``telegram_id``, by the application's length rules."""
        return id_kind(self.user_id)
