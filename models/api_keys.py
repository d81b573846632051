"""Exchange API credentials.

HYPERRSI's ``user:{user_id}:api:keys`` holds ``enc_v1:`` + Fernet tokens
(``shared/security/encryption.py:45``, ``:101-105``) or legacy plaintext; GRID's
key store keeps its secrets in plaintext by policy (its readers never decrypt,
``GRID/services/api_key_service.py:240-256``).
"""

from __future__ import annotations

from keyspace import Encrypted, HashModel, Masked
from models.base import UserKeyed
from models.types import KeyStoreExchange, UserId


class UserApiKeys(UserKeyed, HashModel, key="user:{user_id}:api:keys", ttl=None, envelope="enc_v1:"):
    """Exchange API keys; id: OKX uid or Telegram id; secrets: enc_v1 (plaintext legacy); TTL none.

    Writers: ``ApiKeyService.set_user_api_keys`` (enc_v1, ``HYPERRSI/src/services/redis_service.py:591-622``),
    ``/user/register`` (plaintext, any id, ``HYPERRSI/src/api/routes/user.py:246-254``), the
    Telegram bot ``/register`` and ``/setapi`` (plaintext plus ``uid``, ``last_update_time``,
    ``last_update_time_kr``, ``HYPERRSI/src/bot/command/register.py:247-255``).  None sets a
    TTL.  The bot's extra fields are declared so that they are read and written back as
    stored; any other field is kept too.
    """

    user_id: UserId
    api_key: Encrypted[str]
    api_secret: Encrypted[str]
    passphrase: Encrypted[str]
    uid: str | None = None  # the OKX uid, decimal text (bot writer)
    last_update_time: str | None = None  # epoch seconds, str(int(time.time()))
    last_update_time_kr: str | None = None  # Asia/Seoul '%Y-%m-%d %H:%M:%S'


class GridExchangeApiKeys(HashModel, key="user:default:exchange:api_keys:{exchange}", ttl=None):
    """GRID's shared exchange keys; id: literal ``default``; secrets: plaintext by policy; TTL none
    (``GRID/services/api_key_service.py:17``, ``:99-147``)."""

    exchange: KeyStoreExchange
    api_key: Masked[str]
    secret_key: Masked[str]
    password: Masked[str] | None = None
