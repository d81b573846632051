from __future__ import annotations

import pytest

from keyspace import AsyncMapper, KeyConfigError, Mapper, generate_key
from keyspace.errors import ConfigError
from keyspace.io.settings import Settings


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
