"""A non-editable install ships keyspace only, and works from an application's own directory (issue 15).

The wheel is built from this checkout and installed (without dependencies: they come from the
test's own environment) into a private folder; commands then run from a directory that holds a
``models.py`` and a Django-style ``migrations/`` of its own, which keyspace must never import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("keyspace-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert "models" not in tops and "migrations" not in tops, sorted(tops)
    assert "keyspace" in tops
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert not (target / "models").exists() and not (target / "migrations").exists()
    return target


def run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYSPACE_", "REDIS_", "ENCRYPTION_"))}
    env["PYTHONPATH"] = str(target)  # the installed copy first; dependencies from this environment
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from keyspace.cli import main; sys.argv[0] = 'keyspace'; main()",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wheel_ships_keyspace_only_and_works_beside_an_applications_own_modules(
    installed: Path, tmp_path: Path
) -> None:
    app = tmp_path / "someapp"
    (app / "migrations").mkdir(parents=True)
    marker = tmp_path / "imported"
    # an application's own models.py and a Django migration: importing either would leave the marker
    (app / "models.py").write_text(f"open({str(marker)!r}, 'a').write('models ')\n")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(f"open({str(marker)!r}, 'a').write('0001 ')\n")

    version = run(installed, app, "--version")
    assert version.returncode == 0 and "keyspace" in version.stdout.lower()
    located = subprocess.run(
        [sys.executable, "-c", "import keyspace; print(keyspace.__file__)"],
        cwd=app,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert located.stdout.strip().startswith(str(installed))  # the installed copy, not the checkout

    status = run(installed, app, "migrate", "status", "--url", "memory://")
    assert status.returncode == 2, status.stderr  # nothing configured: a clear usage error
    assert "no migrations location configured" in status.stderr
    schema = run(installed, app, "schema")
    assert schema.returncode == 2 and "no schema configured" in schema.stderr
    assert not marker.exists(), marker.read_text()  # neither the app's models.py nor its 0001 ran

    # configured explicitly, the application's own schema is used (and only it)
    (app / "shop.py").write_text(
        "from keyspace import HashModel\n\n"
        "class Cart(HashModel, key='shop:cart:{cart_id}', ttl=None):\n"
        "    cart_id: int\n"
        "    total: int = 0\n"
    )
    listed = run(installed, app, "--models", "shop", "schema")
    assert listed.returncode == 0, listed.stderr
    assert "shop:cart:{cart_id}" in listed.stdout and "user:{user_id}" not in listed.stdout
    assert not marker.exists()
