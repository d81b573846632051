from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keyspace import AsyncMapper, KeyConfigError, Mapper, generate_key
from keyspace.errors import ConfigError
from keyspace.io.settings import Settings
from keyspace.testing.server import RedisServer, running_server, tls_unsupported_reason


def test_missing_server_configuration_names_the_variables() -> None:
    with pytest.raises(ConfigError) as info:
        Mapper.from_env({})
    assert "REDIS_URL" in str(info.value) and "REDIS_HOST" in str(info.value)


def test_max_connections_limit_and_password_never_shown() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load({"REDIS_HOST": "h", "REDIS_MAX_CONNECTIONS": "501"})
    assert "REDIS_MAX_CONNECTIONS" in str(info.value)
    s = Settings.load({"REDIS_HOST": "h", "REDIS_PASSWORD": "pw-very-secret"})
    assert s.REDIS_MAX_CONNECTIONS == 50
    assert "pw-very-secret" not in repr(s) and "pw-very-secret" not in s.app_url()
    assert s.client_options()["password"] == "pw-very-secret"
    assert s.app_url() == "redis://h:6379/0"
    assert s.celery_url() == "redis://localhost:6379/1"


def test_ttl_overrides_are_validated() -> None:
    s = Settings.load(
        {"REDIS_URL": "memory://", "KEYSPACE_TTL_OVERRIDES": "UserSettings=7d, UserSession=12h"}
    )
    assert s.ttl_overrides() == {"UserSettings": 7 * 86400, "UserSession": 12 * 3600}
    for bad in ("UserSettings", "UserSettings=soon", "=1d", "UserSettings=0"):
        with pytest.raises(ConfigError):
            Settings.load({"REDIS_URL": "memory://", "KEYSPACE_TTL_OVERRIDES": bad}).ttl_overrides()


def test_from_env_memory_and_overrides_apply() -> None:
    from tests.models_for_tests import TSession

    key = generate_key()
    m = Mapper.from_env(
        {"REDIS_URL": "memory://", "ENCRYPTION_KEY": key, "KEYSPACE_TTL_OVERRIDES": "TSession=1h"}
    )
    m.save(TSession(user_id=1, token="t"))
    assert 3500 < m.ttl(TSession, user_id=1) <= 3600
    assert m.ctx.keyring is not None
    with pytest.raises(KeyConfigError) as info:
        Mapper.from_env({"REDIS_URL": "memory://", "ENCRYPTION_KEY": "bad-key-value"})
    assert "bad-key-value" not in str(info.value)


async def test_async_from_env() -> None:
    async with AsyncMapper.from_env({"REDIS_URL": "memory://shared-settings-test"}) as m:
        assert await m.count(__import__("tests.models_for_tests").models_for_tests.TStatus) == 0


def test_server_down_is_a_clear_error() -> None:
    from keyspace import ServerUnavailable
    from keyspace.testing.server import free_port
    from tests.models_for_tests import TStatus

    m = Mapper.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ServerUnavailable) as info:
        m.get(TStatus, user_id=1)
    assert info.value.model == "TStatus" and "app" in str(info.value)


def test_from_env_reads_dotenv_file(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from tests.models_for_tests import TStatus

    assert isinstance(tmp_path, Path)
    (tmp_path / ".env").write_text("REDIS_URL=memory://dotenv-test\nKEYSPACE_PLAINTEXT_READS=forbid\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("KEYSPACE_PLAINTEXT_READS", raising=False)
    m = Mapper.from_env()
    assert m.ctx.plaintext_reads == "forbid"
    m.save(TStatus(user_id=1, status="running"))
    assert Mapper.from_url("memory://dotenv-test").get(TStatus, user_id=1) is not None


# --- credentials and TLS against a real server ----------------------------------------

PASSWORD = "pw-settings-test-0123"  # a test server's password, not a real one


@pytest.fixture(scope="module")
def secure_server() -> Iterator[RedisServer]:
    """A requirepass server that also listens with TLS (skipped where redis-server has no TLS)."""
    reason = tls_unsupported_reason()
    if reason:
        pytest.skip(reason)
    with running_server(PASSWORD, tls=True) as server:
        yield server


def round_trip(env: dict[str, str]) -> str:
    from tests.models_for_tests import TStatus

    with Mapper.from_env(env) as m:
        m.save(TStatus(user_id=7, status="running"))
        got = m.get(TStatus, user_id=7)
        assert got is not None
        return got.status


async def around_trip(env: dict[str, str]) -> str:
    from tests.models_for_tests import TStatus

    async with AsyncMapper.from_env(env) as m:
        await m.save(TStatus(user_id=8, status="stopped"))
        got = await m.get(TStatus, user_id=8)
        assert got is not None
        return got.status


def plain(server: RedisServer, password: str | None = None) -> str:
    auth = f":{password}@" if password else ""
    return f"redis://{auth}127.0.0.1:{server.port}/0"


def test_redis_url_with_a_separate_password(secure_server: RedisServer) -> None:
    env = {"REDIS_URL": plain(secure_server), "REDIS_PASSWORD": PASSWORD, "REDIS_HEALTH_CHECK_INTERVAL": "0"}
    assert round_trip(env) == "running"


async def test_redis_url_with_a_separate_password_async(secure_server: RedisServer) -> None:
    env = {"REDIS_URL": plain(secure_server), "REDIS_PASSWORD": PASSWORD, "REDIS_HEALTH_CHECK_INTERVAL": "0"}
    assert await around_trip(env) == "stopped"


def test_a_password_in_the_url_wins_and_no_password_reaches_an_error(secure_server: RedisServer) -> None:
    from keyspace import ServerUnavailable
    from tests.models_for_tests import TStatus

    wins = {"REDIS_URL": plain(secure_server, PASSWORD), "REDIS_PASSWORD": "pw-not-this-one"}
    assert round_trip({**wins, "REDIS_HEALTH_CHECK_INTERVAL": "0"}) == "running"
    for env in (
        {"REDIS_URL": plain(secure_server, "pw-wrong-in-url"), "REDIS_PASSWORD": PASSWORD},
        {"REDIS_URL": plain(secure_server), "REDIS_PASSWORD": "pw-wrong-separate"},
        {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(secure_server.port), "REDIS_PASSWORD": "pw-wrong-host"},
    ):
        with (
            Mapper.from_env({**env, "REDIS_HEALTH_CHECK_INTERVAL": "0"}) as m,
            pytest.raises(ServerUnavailable) as info,
        ):
            m.get(TStatus, user_id=7)
        chain = [info.value, *(e for e in (info.value.__cause__, info.value.__context__) if e)]
        for error in chain:
            for secret in ("pw-wrong", PASSWORD):
                assert secret not in str(error) and secret not in repr(error)


def tls_envs(server: RedisServer) -> dict[str, dict[str, str]]:
    assert server.tls is not None and server.tls_port is not None
    common = {"REDIS_PASSWORD": PASSWORD, "REDIS_HEALTH_CHECK_INTERVAL": "0"}
    return {
        "rediss URL + CA file": {**common, "REDIS_URL": server.tls_url, "REDIS_SSL_CA_FILE": server.tls.ca},
        "REDIS_HOST + CA file": {
            **common,
            "REDIS_HOST": "localhost",  # the certificate names localhost and 127.0.0.1
            "REDIS_PORT": str(server.tls_port),
            "REDIS_SSL_CA_FILE": server.tls.ca,
        },
        "REDIS_HOST + REDIS_SSL + CA file": {
            **common,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(server.tls_port),
            "REDIS_SSL": "true",
            "REDIS_SSL_CA_FILE": server.tls.ca,
        },
    }


def test_tls_from_settings(secure_server: RedisServer) -> None:
    for name, env in tls_envs(secure_server).items():
        assert round_trip(env) == "running", name
        assert Settings.load(env).app_url().startswith("rediss://"), name


async def test_tls_from_settings_async(secure_server: RedisServer) -> None:
    for name, env in tls_envs(secure_server).items():
        assert await around_trip(env) == "stopped", name


def test_tls_verifies_the_server_certificate(secure_server: RedisServer) -> None:
    from keyspace import ServerUnavailable
    from tests.models_for_tests import TStatus

    env = {  # TLS on, but only the system CAs: this server's throwaway CA is not among them
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(secure_server.tls_port),
        "REDIS_SSL": "1",
        "REDIS_PASSWORD": PASSWORD,
        "REDIS_HEALTH_CHECK_INTERVAL": "0",
    }
    with Mapper.from_env(env) as m, pytest.raises(ServerUnavailable):
        m.get(TStatus, user_id=7)


def test_a_frozen_tls_server_fails_within_the_budget(secure_server: RedisServer) -> None:
    """The TLS handshake counts against the budget like the TCP connect and AUTH."""
    import time

    from keyspace import OperationTimeout
    from tests.models_for_tests import TStatus

    env = {**tls_envs(secure_server)["rediss URL + CA file"], "KEYSPACE_TIMEOUT_FAST": "0.5"}
    with secure_server.stopped():
        m = Mapper.from_env(env)
        start = time.perf_counter()
        with pytest.raises(OperationTimeout):
            m.get(TStatus, user_id=7)
        assert time.perf_counter() - start < 2 * 0.5
    m.close()


def test_tls_settings_next_to_a_plaintext_url_are_refused(tmp_path: Any) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    for env in (
        {"REDIS_URL": "redis://h:6379/0", "REDIS_SSL": "true"},
        {"REDIS_URL": "unix:///tmp/redis.sock", "REDIS_SSL_CA_FILE": str(ca)},
    ):
        with pytest.raises(ConfigError) as info:
            Mapper.from_env(env)
        assert "rediss://" in str(info.value)
    with pytest.raises(ConfigError) as info:
        Mapper.from_env({"REDIS_HOST": "h", "REDIS_SSL_CA_FILE": str(tmp_path / "missing.pem")})
    assert "REDIS_SSL_CA_FILE" in str(info.value)
    s = Settings.load({"REDIS_HOST": "h", "REDIS_SSL": "yes"})
    assert s.app_url() == "rediss://h:6379/0" and "ssl_ca_certs" not in s.client_options()
    assert Settings.load({"REDIS_URL": "memory://", "REDIS_SSL": "1"}).app_url() == "memory://"
