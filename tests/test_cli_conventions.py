"""CLI conventions: --version, -h everywhere, completion, --debug without secrets, Rich markup in data,
readable tables at 80 columns and in pipes, --celery-url, --env-file, --models/--migrations/--project."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from rich.cells import cell_len

import keyspace
from keyspace.cli import app
from keyspace.testing.dataset import okx_uid
from tests.cli_support import (
    PASSWORD,
    ROOT,
    Deployment,
    deployment,
    encrypted_key,
    invoke,
    resolved,
    run_module,
    server,
)

__all__ = ["deployment", "server"]  # fixtures


def command_paths() -> list[list[str]]:
    """Every command of the app, e.g. ["show"], ["migrate", "up"]."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(group: object, prefix: list[str]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            if getattr(command, "commands", None):
                paths.append([*prefix, name])
                walk(command, [*prefix, name])
            else:
                paths.append([*prefix, name])

    walk(root, [])
    return paths


# --- version, help, completion ------------------------------------------------------------------


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.strip() == f"keyspace {keyspace.__version__}"


def test_every_command_answers_dash_h_and_double_dash_help() -> None:
    paths = command_paths()
    expected = {"demo", "seed", "schema", "keygen", "show", "get", "scan", "stats", "doctor", "info"}
    expected |= {"backup", "restore", "rotate-keys", "migrate"}
    assert expected <= {p[0] for p in paths}
    assert ["migrate", "up"] in paths and ["migrate", "stamp"] in paths
    for path in [[], *paths]:
        for flag in ("-h", "--help"):
            code, out, err = invoke(*path, flag)
            assert code == 0 and "Usage" in out, (path, flag, out, err)
            assert "-h" in out and "--help" in out


def test_leaf_commands_document_their_exit_codes() -> None:
    for path in command_paths():
        if path in (["migrate"], ["ttl"]):  # command groups
            continue
        _, out, _ = invoke(*path, "-h")
        assert "Exit codes" in out and "0" in out, path


def test_shell_completion_is_switched_on() -> None:
    code, out, _ = invoke("--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out
    # The shell is named, not detected: typer otherwise looks for a shell among this process's parents
    # (none under a detached CI job; newer typer then ignores "bash" and prints "Shell  not supported").
    done = subprocess.run(
        [sys.executable, "-m", "keyspace", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
    )
    assert done.returncode == 0 and "complete" in done.stdout, done


def test_get_and_scan_help_list_the_models_and_their_field_options() -> None:
    from keyspace.core.guide import group_by_module as grouped
    from keyspace.io.project import Project

    project = Project.discover()
    specs = [s for _, members in grouped(project.load_models(), project.models) for s in members]
    assert len(specs) >= 10
    for command in ("get", "scan"):
        code, out, _ = invoke(command, "-h", env={"COLUMNS": "200"})
        assert code == 0 and "--FIELD VALUE" in out
        for spec in specs:
            options = " | ".join(
                " ".join("--" + f.replace("_", "-") for f in t.fields) or "(no key fields)"
                for t in spec.templates
            )
            assert re.search(rf"\b{spec.name}\s+{re.escape(options)}", out), (spec.name, options)
    _, out, _ = invoke("scan", "-h", env={"COLUMNS": "120"})
    assert "value field" in out


def test_keygen_help_says_what_it_prints_and_where_it_goes() -> None:
    code, out, _ = invoke("keygen", "-h", env={"COLUMNS": "200"})
    assert code == 0
    assert "generate_encryption_key" not in out and "scripts/" not in out
    assert "ENCRYPTION_KEY" in out and ".env" in out and "Fernet" in out
    code, out, _ = invoke("keygen")
    assert code == 0 and len(out.strip()) == 44
    code, out, _ = invoke("keygen", "--json")
    assert code == 0 and len(json.loads(out)["ENCRYPTION_KEY"]) == 44


def test_python_dash_m_keyspace_and_the_console_script_run_the_demo() -> None:
    done = run_module("demo", "--users", "3", cwd=ROOT)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr
    script = Path(sys.executable).parent / "keyspace"
    if script.exists():
        done = subprocess.run(
            [str(script), "demo", "--users", "3"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr


# --- --debug and secrets ------------------------------------------------------------------------


def test_debug_shows_a_traceback_without_secrets(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyspace.ops.inspect as inspect_module

    def leaky(*args: object, **kwargs: object) -> object:
        settings_password = PASSWORD  # a local that holds the secret must not be printed either
        raise RuntimeError(f"boom with {settings_password} and {deployment.key} inside")

    monkeypatch.setattr(inspect_module, "describe_key", leaky)
    key = encrypted_key(deployment)
    code, out, err = invoke("--debug", "show", key)
    assert code == 1 and "Traceback" in err and "RuntimeError" in err and "leaky" in err
    assert PASSWORD not in out + err and deployment.key not in out + err and "***" in err
    assert "settings_password = '" not in err  # no local variables
    code, out, err = invoke("show", key)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert PASSWORD not in err and deployment.key not in err
    code, _, err = invoke("show", key, env={"KEYSPACE_DEBUG": "1"})
    assert code == 1 and "Traceback" in err and PASSWORD not in err


def test_debug_on_a_real_failure_keeps_the_url_password_out(deployment: Deployment) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:1/0"  # nothing listens there
    code, out, err = invoke("--debug", "info", "--url", url)
    assert code == 1 and "Traceback" in err
    assert PASSWORD not in out + err


# --- Rich markup in keys and data ---------------------------------------------------------------


def test_markup_in_a_key_neither_crashes_nor_changes_the_key(deployment: Deployment) -> None:
    for key in ("a[/x]b", "x[bold]y[/bold]", "[red]user:1:settings"):
        code, _, err = invoke("show", key)
        assert code == 2 and key in err and "Traceback" not in err, (key, err)
        assert err.startswith("error: ")


def test_markup_in_stored_values_prints_as_it_is(deployment: Deployment) -> None:
    key = f"user:{okx_uid(1)}:preferences"
    deployment.app.hset(key, mapping={"theme": "[bold]dark[/bold]", "odd": "[/x]"})
    code, out, err = invoke("show", key, env={"COLUMNS": "200"})
    assert code == 0, err
    assert "[bold]dark[/bold]" in out and "[/x]" in out
    code, out, err = invoke("scan", "UserPreferences", "--user-id", okx_uid(1), env={"COLUMNS": "200"})
    assert code == 0, err
    code, out, err = invoke("show", key, "--json")
    assert json.loads(out)["fields"]["theme"] == "[bold]dark[/bold]"


# --- tables at 80 columns and in pipes ------------------------------------------------------------


def assert_readable(out: str, names: list[str], width: int = 80) -> None:
    assert "…" not in out, out
    for line in out.splitlines():
        assert cell_len(line) <= width, line
    words = set(re.findall(r"[A-Za-z0-9_]+", out))
    missing = [name for name in names if name not in words]
    assert not missing, (missing, out)  # each model under its full name


def models_with_keys() -> list[str]:
    code, out, _ = invoke("stats", "--json")
    assert code == 0
    return [m["model"] for m in json.loads(out)["models"]]


def test_stats_at_80_columns_never_truncates_a_name(deployment: Deployment) -> None:
    names = models_with_keys()
    assert len(names) >= 8
    code, out, err = invoke("stats", env={"COLUMNS": "80"})
    assert code == 0, err
    assert_readable(out, names)
    code, wide, _ = invoke("stats", env={"COLUMNS": "250"})
    assert code == 0 and "┃ model" in wide  # the full table when it fits


def test_stats_piped_to_another_program_is_readable(deployment: Deployment) -> None:
    done = run_module("stats", cwd=deployment.dir)
    assert done.returncode == 0, done.stderr
    assert_readable(done.stdout, models_with_keys())
    assert "\x1b[" not in done.stdout  # no colour codes in a pipe


def test_scan_and_status_at_80_columns(deployment: Deployment) -> None:
    model, _ = resolved(encrypted_key(deployment))
    code, out, _ = invoke("scan", model, "--limit", "3", env={"COLUMNS": "80"})
    assert code in (0, 1) and "…" not in out and "3 instance(s)" in out
    assert all(cell_len(line) <= 80 for line in out.splitlines())
    code, out, _ = invoke("scan", model, "--limit", "3", env={"COLUMNS": "50"})  # too narrow for a table
    assert code in (0, 1) and "…" not in out and all(cell_len(line) <= 50 for line in out.splitlines())
    titles = [line for line in out.splitlines() if line and not line.startswith(" ")][:3]
    assert all(line in deployment.data.secrets for line in titles), out  # each full key heads its instance
    code, out, _ = invoke("migrate", "status", env={"COLUMNS": "80"})
    assert code == 0 and "…" not in out and "tradingboost/0001" in out
    assert all(cell_len(line) <= 80 for line in out.splitlines())


# --- choosing the servers -------------------------------------------------------------------------


def test_celery_url_next_to_url(deployment: Deployment) -> None:
    app_url = f"redis://:{PASSWORD}@127.0.0.1:{deployment.port}/0"
    celery_url = f"redis://:{PASSWORD}@127.0.0.1:{deployment.port}/1"
    tasks = deployment.data.counts["CeleryTaskMeta"]
    code, out, err = invoke("scan", "CeleryTaskMeta", "--json")
    assert code == 0 and len(out.splitlines()) == tasks > 0, err  # from the .env: the celery server
    code, out, err = invoke("scan", "CeleryTaskMeta", "--url", app_url, "--json")
    assert code == 0 and out == ""
    assert "celery server" in err and "--celery-url" in err and "127.0.0.1" in err  # says which server
    assert PASSWORD not in err
    code, out, err = invoke("scan", "CeleryTaskMeta", "--url", app_url, "--celery-url", celery_url, "--json")
    assert code == 0 and len(out.splitlines()) == tasks and "note" not in err
    model, _ = resolved(encrypted_key(deployment))
    code, out, err = invoke("scan", model, "--url", app_url, "--json", "--limit", "1")
    assert code == 0 and "note" not in err  # an app model: nothing to say
    code, out, _ = invoke("info", "--url", app_url, "--celery-url", celery_url, "--json")
    assert code == 0 and set(json.loads(out)) == {"app", "celery"}
    code, out, _ = invoke("stats", "--celery-url", celery_url, "--json")
    stats = {m["model"]: m for m in json.loads(out)["models"]}
    assert code == 0 and stats["CeleryTaskMeta"]["keys"] == tasks


def test_every_server_choosing_command_takes_celery_url() -> None:
    checked = 0
    for path in command_paths():
        code, out, _ = invoke(*path, "--help", env={"COLUMNS": "200"})
        assert code == 0, path
        if "--url" in out and path != ["demo"]:
            assert "--celery-url" in out, path
            checked += 1
    assert checked >= 15


def test_env_file_reads_another_env(deployment: Deployment) -> None:
    other = deployment.dir / "conf"
    other.mkdir()
    text = (deployment.dir / ".env").read_text().replace("REDIS_DB=0", "REDIS_DB=5")
    (other / "staging.env").write_text(text)
    (deployment.dir / ".env").write_text("REDIS_HOST=127.0.0.1\nREDIS_PORT=1\n")  # ./.env is wrong now
    code, out, err = invoke("--env-file", str(other / "staging.env"), "info", "--json")
    assert code == 0, err
    assert "db5" not in json.loads(out)["app"]["keyspace"]  # DB 5 is empty, but it is the one read
    model, _ = resolved(encrypted_key(deployment))
    code, out, err = invoke("--env-file", str(other / "staging.env"), "scan", model, "--json")
    assert code == 0 and out == ""  # nothing in DB 5, while DB 0 holds the dataset
    code, _, err = invoke("--env-file", str(other / "missing.env"), "info")
    assert code == 2 and "missing.env" in err
    code, _, err = invoke("info")  # ./.env points nowhere
    assert code == 1


# --- the application's schema and migrations ------------------------------------------------------


SHOP_MODELS = '''
from keyspace import HashModel


class CliShopCart(HashModel, key="clishop:{cart_id}:cart", server="app"):
    """A shopping cart (a test model of `keyspace schema`)."""

    cart_id: str
    total: str | None = None


ALL_MODELS = (CliShopCart,)
'''

SHOP_MIGRATION = """
from keyspace import ApplyTtlPolicy, Migration

migration = Migration(id="0001", description="shop: nothing much", operations=[ApplyTtlPolicy()])
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second application folder: a schema module and a migrations folder."""
    folder = tmp_path / "shopapp"
    (folder / "shop_migrations").mkdir(parents=True)
    (folder / "clishop_models.py").write_text(textwrap.dedent(SHOP_MODELS))
    (folder / "shop_migrations" / "0001_nothing.py").write_text(textwrap.dedent(SHOP_MIGRATION))
    (folder / "pyproject.toml").write_text(
        '[tool.keyspace]\nmodels = ["clishop_models"]\n\n'
        '[tool.keyspace.migrations]\nshop = "shop_migrations"\n'
    )
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    module = sys.modules.pop("clishop_models", None)
    if module is not None:
        from keyspace.core.registry import default_registry

        default_registry.remove(module.CliShopCart.__keyspace__)


def test_schema_honours_keyspace_models_and_groups_by_module(shop: Path) -> None:
    code, before, _ = invoke("schema")
    assert code == 0 and "CliShopCart" not in before and "## `" not in before
    code, out, err = invoke("schema", env={"KEYSPACE_MODELS": "clishop_models"})
    assert code == 0, err
    assert "## `models`" in out and "## `clishop_models`" in out
    first = json.loads(invoke("schema", "--json")[1])[0]["model"]
    assert out.index("## `models`") < out.index(first) < out.index("## `clishop_models`")
    assert out.index("## `clishop_models`") < out.index("CliShopCart")
    assert out.count("# The keyspace") == 1
    code, again, _ = invoke("schema", env={"KEYSPACE_MODELS": "clishop_models"})
    assert again == out  # deterministic
    code, out, _ = invoke("--models", "clishop_models", "schema", "--json")
    rows = json.loads(out)
    assert [r["model"] for r in rows][-1] == "CliShopCart" and rows[-1]["module"] == "clishop_models"
    assert rows[0]["model"] == first and rows[0]["module"] == "models"


def test_project_and_migrations_options(shop: Path) -> None:
    code, out, err = invoke("--project", str(shop), "schema", "--json")
    assert code == 0, err
    assert [r["model"] for r in json.loads(out)] == ["CliShopCart"]
    code, out, err = invoke("--project", str(shop), "migrate", "history", "--json")
    assert code == 0, err
    assert [r["id"] for r in json.loads(out)] == ["shop/0001"]
    code, out, err = invoke(
        "--migrations", f"extra={shop / 'shop_migrations'}", "migrate", "history", "--json"
    )
    ids = [r["id"] for r in json.loads(out)]
    assert code == 0 and "extra/0001" in ids and "tradingboost/0001" in ids
    code, out, err = invoke(
        "--models", "clishop_models", "get", "CliShopCart", "--cart-id", "7", "--url", "memory://shop"
    )
    assert code == 0 and "clishop:7:cart" in out, err
    code, _, err = invoke("--project", str(shop / "nowhere"), "schema")
    assert code == 2 and "nowhere" in err
