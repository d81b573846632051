"""Settings from the environment and ``.env``, under the application's existing names.

The variable names are the TradingBoost application's (REDIS_HOST, REDIS_PORT,
REDIS_DB, REDIS_PASSWORD, …, ENCRYPTION_KEY), so keyspace reads the same
``.env`` unchanged.  Secrets are ``SecretStr``: never in a repr, a log line
or an error.  There is no silent fallback to the in-memory server: without
REDIS_URL or REDIS_HOST, asking for the app server's URL is an error that
names the variables to set (``REDIS_URL=memory://`` opts in explicitly).

Credentials: REDIS_PASSWORD (and REDIS_USERNAME) apply whether the server is
given as REDIS_URL or as REDIS_HOST/REDIS_PORT/REDIS_DB.  A password (or
user name) written inside REDIS_URL wins over REDIS_PASSWORD — the URL is the
more specific setting, and that is redis-py's ``from_url`` rule too.

TLS: ``REDIS_URL=rediss://…``, or REDIS_HOST with ``REDIS_SSL=true``.
REDIS_SSL_CA_FILE names the CA bundle (PEM) that verifies the server's
certificate (default: the system's CAs); with REDIS_HOST it also turns TLS
on.  The certificate is always verified, host name included.  TLS settings
next to a ``redis://`` or ``unix://`` REDIS_URL are a ConfigError, never
silently plaintext.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keyspace.core.crypto import Keyring
from keyspace.core.ttl import parse_duration
from keyspace.errors import ConfigError
from keyspace.io.budgets import Timeouts
from keyspace.io.links import LinkOptions


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    REDIS_URL: str | None = None
    REDIS_HOST: str | None = None
    REDIS_PORT: int = Field(6379, ge=1, le=65535)
    REDIS_DB: int = Field(0, ge=0)
    REDIS_USERNAME: str | None = None
    REDIS_PASSWORD: SecretStr | None = None
    REDIS_MAX_CONNECTIONS: int = Field(50, ge=1, le=500)
    REDIS_SOCKET_TIMEOUT: float = Field(5.0, gt=0)
    REDIS_HEALTH_CHECK_INTERVAL: int = Field(30, ge=0)
    REDIS_SSL: bool = False
    REDIS_SSL_CA_FILE: str | None = None
    REDIS_CLUSTER: bool = False
    REDIS_CLUSTER_NODES: str | None = None  # host:port,host:port (startup nodes)
    KEYSPACE_CLUSTER_WAIT_REPLICAS: int = Field(0, ge=0)
    CELERY_BROKER_URL_OVERRIDE: str | None = None
    CELERY_RESULT_BACKEND_OVERRIDE: str | None = None
    ENCRYPTION_KEY: SecretStr | None = None
    ENCRYPTION_OLD_KEYS: SecretStr | None = None
    KEYSPACE_POOL_TIMEOUT: float = Field(2.0, gt=0)
    KEYSPACE_TIMEOUT_FAST: float = Field(2.0, gt=0)
    KEYSPACE_TIMEOUT_NORMAL: float = Field(5.0, gt=0)
    KEYSPACE_TIMEOUT_SLOW: float = Field(10.0, gt=0)
    KEYSPACE_TIMEOUT_PIPELINE: float = Field(15.0, gt=0)
    KEYSPACE_BREAKER_FAILURES: int = Field(5, ge=1)
    KEYSPACE_BREAKER_RESET: float = Field(30.0, gt=0)
    KEYSPACE_PLAINTEXT_READS: Literal["allow", "forbid"] = "allow"
    KEYSPACE_TTL_OVERRIDES: str = ""

    @field_validator(
        "REDIS_URL",
        "REDIS_HOST",
        "CELERY_BROKER_URL_OVERRIDE",
        "CELERY_RESULT_BACKEND_OVERRIDE",
        "REDIS_USERNAME",
        "REDIS_PASSWORD",
        "REDIS_SSL_CA_FILE",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, *, env_file: str | None = ".env") -> Settings:
        """Read settings; every problem becomes one ConfigError naming the variable."""
        try:
            if env is None:
                return cls(_env_file=env_file)  # type: ignore[call-arg,unused-ignore]
            known = {k: v for k, v in env.items() if k in cls.model_fields}
            return cls.model_validate(known)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            variable = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{variable}: {first['msg']}") from None

    # --- derived ---------------------------------------------------------------

    @property
    def cluster(self) -> bool:
        return self.REDIS_CLUSTER or bool(self.REDIS_CLUSTER_NODES)

    @property
    def _tls_asked(self) -> bool:
        return self.REDIS_SSL or self.REDIS_SSL_CA_FILE is not None

    def app_url(self) -> str:
        """The app server's URL, without the password (that goes in client_options).

        ``rediss://`` when TLS is asked for; for a cluster, ``redis[s]://host:port,host:port``
        naming the startup nodes.
        """
        scheme = "rediss" if self._tls_asked else "redis"
        if self.REDIS_CLUSTER_NODES:
            user = f"{quote(self.REDIS_USERNAME)}@" if self.REDIS_USERNAME else ""
            return f"{scheme}://{user}{self.REDIS_CLUSTER_NODES.replace(' ', '')}"
        if self.REDIS_URL:
            given = urlsplit(self.REDIS_URL).scheme
            if self._tls_asked and given not in ("rediss", "memory"):
                variable = "REDIS_SSL_CA_FILE" if self.REDIS_SSL_CA_FILE else "REDIS_SSL"
                raise ConfigError(
                    f"{variable} asks for TLS but REDIS_URL is a {given}:// URL: "
                    "use rediss:// (or drop the TLS setting)"
                )
            return self.REDIS_URL
        if not self.REDIS_HOST:
            raise ConfigError(
                "no app Redis server configured: set REDIS_URL, or REDIS_HOST (with REDIS_PORT, "
                "REDIS_DB, REDIS_PASSWORD); use REDIS_URL=memory:// for the in-memory server"
            )
        user = f"{quote(self.REDIS_USERNAME)}@" if self.REDIS_USERNAME else ""
        return f"{scheme}://{user}{self.REDIS_HOST}:{self.REDIS_PORT}/{self.REDIS_DB}"

    def celery_url(self) -> str:
        """The Celery server: the result-backend override, else the broker override, else localhost DB 1."""
        url = self.CELERY_RESULT_BACKEND_OVERRIDE or self.CELERY_BROKER_URL_OVERRIDE
        if url:
            return url
        app = self.app_url()
        if app.startswith("memory:"):
            parts = urlsplit(app)
            return parts._replace(path="/1").geturl()
        return "redis://localhost:6379/1"

    def link_options(self) -> LinkOptions:
        return LinkOptions(
            max_connections=self.REDIS_MAX_CONNECTIONS,
            pool_timeout=self.KEYSPACE_POOL_TIMEOUT,
            socket_timeout=self.REDIS_SOCKET_TIMEOUT,
            connect_timeout=min(self.REDIS_SOCKET_TIMEOUT, self.KEYSPACE_TIMEOUT_FAST * 0.4),
            health_check_interval=self.REDIS_HEALTH_CHECK_INTERVAL,
            failure_threshold=self.KEYSPACE_BREAKER_FAILURES,
            wait_replicas=self.KEYSPACE_CLUSTER_WAIT_REPLICAS,
            reset_timeout=self.KEYSPACE_BREAKER_RESET,
            timeouts=Timeouts(
                self.KEYSPACE_TIMEOUT_FAST,
                self.KEYSPACE_TIMEOUT_NORMAL,
                self.KEYSPACE_TIMEOUT_SLOW,
                self.KEYSPACE_TIMEOUT_PIPELINE,
            ),
        )

    def celery_options(self) -> dict[str, Any]:
        """Options for the celery server: its URL carries its own credentials, if any."""
        return {}

    def client_options(self) -> dict[str, Any]:
        """Options for the app server's pool beyond LinkOptions: credentials and TLS.

        Credentials in REDIS_URL itself override these (see the module docstring).
        """
        options: dict[str, Any] = {}
        if self.REDIS_PASSWORD is not None:
            options["password"] = self.REDIS_PASSWORD.get_secret_value()
        if self.REDIS_USERNAME:
            options["username"] = self.REDIS_USERNAME
        if self.REDIS_SSL_CA_FILE is not None:
            self.app_url()  # refuses TLS settings next to a plaintext REDIS_URL
            if not os.path.isfile(self.REDIS_SSL_CA_FILE):
                raise ConfigError(f"REDIS_SSL_CA_FILE: no such file: {self.REDIS_SSL_CA_FILE}")
            options["ssl_ca_certs"] = self.REDIS_SSL_CA_FILE
        return options

    def keyring(self) -> Keyring | None:
        env = {
            "ENCRYPTION_KEY": self.ENCRYPTION_KEY.get_secret_value() if self.ENCRYPTION_KEY else "",
            "ENCRYPTION_OLD_KEYS": (
                self.ENCRYPTION_OLD_KEYS.get_secret_value() if self.ENCRYPTION_OLD_KEYS else ""
            ),
        }
        return Keyring.from_env(env)

    def ttl_overrides(self) -> dict[str, int | None]:
        """KEYSPACE_TTL_OVERRIDES="UserSettings=7d,UserSession=12h" -> {model: seconds}."""
        out: dict[str, int | None] = {}
        for item in filter(None, (p.strip() for p in self.KEYSPACE_TTL_OVERRIDES.split(","))):
            name, sep, duration = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(
                    f"KEYSPACE_TTL_OVERRIDES: {item!r} is not MODEL=DURATION (e.g. UserSession=12h)"
                )
            try:
                out[name.strip()] = parse_duration(duration, what=f"KEYSPACE_TTL_OVERRIDES {name.strip()}")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        return out

    def mapper_options(self) -> dict[str, Any]:
        return {
            "keyring": self.keyring(),
            "plaintext_reads": self.KEYSPACE_PLAINTEXT_READS,
            "ttl_overrides": self.ttl_overrides(),
        }
