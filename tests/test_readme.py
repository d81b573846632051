"""The walkthrough "Add a model and a migration" (docs/models.md, moved from the README) works as written.

Every code block of README.md and docs/ also runs in tests/test_docs.py; here the walkthrough's own
files are followed literally, and again next to TradingBoost's shipped migrations (before and after).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from keyspace import Keyring, Mapper, Runner, generate_key
from keyspace.testing.dataset import seed

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = (ROOT / "docs" / "models.md").read_text()
HEADING = "## Add a model and a migration, step by step"


def _section() -> str:
    return WALKTHROUGH.split(HEADING, 1)[1].split("\n## ", 1)[0]


def test_the_add_a_model_steps_work_literally(tmp_path: Path) -> None:
    section = _section()
    files = re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", section, re.S)
    runs = re.findall(r"\*\*3\. Run both\*\*.*?```bash\n(.*?)```", section, re.S)
    assert len(files) == 3 and runs == ["python try_shop.py\n"]
    for name, text in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "KEYSPACE_", "ENCRYPTION_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    for block in runs:
        for command in filter(None, (line.strip() for line in block.splitlines())):
            result = subprocess.run(
                command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            assert "migrated: 2" in result.stdout  # one currency set, one PIN encrypted


def _write_steps(folder: Path) -> None:
    section = _section()
    for name, text in re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", section, re.S):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("order", ["after", "before"])
def test_an_applications_0001_and_the_shipped_0001_are_different_migrations(
    order: str, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's own migration, numbered 0001, on a server where TradingBoost's 0001 ran (or not yet)."""
    _write_steps(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import shop_models  # the README's model (registered once per test session)

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    keyring = Keyring(generate_key())
    mapper = Mapper.from_url(redis_url, keyring=keyring)
    data = seed(client, None, users=6, plaintext_share=1.0, keyring=keyring, bad_keys=False)
    client.hset("shop:wallet:7", mapping={"balance": "3", "withdraw_pin": "2468"})  # written by old code

    def shipped() -> None:
        reports = Runner(mapper).up()
        assert reports["tradingboost/0001"].ok
        assert reports["tradingboost/0001"].changed == len(data.plaintext_keys) > 0

    def mine() -> None:
        report = Runner(mapper, directory=tmp_path / "shop_migrations").up()["shop_migrations/0001"]
        assert report.ok and report.changed == 2  # the currency, then the PIN

    steps = [shipped, mine] if order == "after" else [mine, shipped]
    for step in steps:
        step()
    wallet = mapper.get(shop_models.Wallet, user_id="7")
    assert wallet.currency == "USDT" and wallet.withdraw_pin.get_secret_value() == "2468"
    assert client.hget("shop:wallet:7", "withdraw_pin") != b"2468"
    applied = Runner(mapper).applied()
    assert {"tradingboost/0001", "shop_migrations/0001"} <= set(applied)
    assert (
        Runner(mapper).pending() == []
        and Runner(mapper, directory=tmp_path / "shop_migrations").pending() == []
    )
    mapper.close()


def test_the_korean_quickstart_exists_and_avoids_keys() -> None:
    text = (ROOT / "docs" / "quickstart.ko.md").read_text()
    assert "keyspace" in text and "빠른 시작" in text
    rows = [line.split("|")[1:3] for line in text.splitlines() if line.startswith("| `./redis-")]
    assert len(rows) >= 8  # the old recipes, each with its keyspace replacement
    for old, new in rows:
        if "KEYS" in old:
            assert "KEYS" not in new, (old, new)  # no recommended command walks the keyspace with KEYS
