"""Every code block of README.md and docs/*.md runs (or is plainly text), and the reference stays true.

How a block runs is described in tests/docs_blocks.py.  Each Markdown file runs in a fresh
interpreter (tests/docs_runner.py) in its own temporary directory, with this repository's
``[tool.keyspace]`` reachable through KEYSPACE_PROJECT and its ``models/`` on PYTHONPATH (as
from the repository root), against nothing configured or against the session's private
redis-server — never 127.0.0.1:6379.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from keyspace import generate_key
from keyspace.io.clients import with_db
from keyspace.io.settings import Settings
from tests.docs_blocks import ROOT, blocks, command_lines, doc_files, problems

DOCS = doc_files()
RUNNABLE = [p for p in DOCS if any(b.runs for b in blocks(p))]
CLEAN_PREFIXES = ("REDIS_", "KEYSPACE_", "ENCRYPTION_", "CELERY_")
# Executed blocks that run against nothing configured must not reach for a server by name.
_LOCAL_SERVER = re.compile(r"redis-(remote|local)|localhost|127\.0\.0\.1|:6379")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_code_block_runs_or_is_text() -> None:
    found = [problem for path in DOCS for block in blocks(path) for problem in problems(block)]
    assert not found, "\n".join(found)


def test_blocks_without_a_server_do_not_reach_for_one() -> None:
    offenders = [
        block.where
        for path in DOCS
        for block in blocks(path)
        if block.runs and "server" not in block.directives and _LOCAL_SERVER.search(block.text)
    ]
    assert not offenders, f"these blocks need <!-- server: redis --> (or a memory:// URL): {offenders}"


def _plan(path: Path, work: Path, server: dict[str, str] | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_PREFIXES)}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        KEYSPACE_PROJECT=str(ROOT),
        PYTHONPATH=str(ROOT),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(work),  # the prompt's history and any dotfile stay in the work dir
        COLUMNS="100",
    )
    steps = []
    for block in blocks(path):
        if not block.runs and not ("file" in block.directives and block.lang == "text"):
            continue
        steps.append(
            {
                "where": block.where,
                "lang": block.lang,
                "text": block.text,
                "directives": block.directives,
                "commands": command_lines(block.text) if block.lang == "bash" else [],
            }
        )
    return {"work": str(work), "env": env, "server": server, "blocks": steps}


def _run_doc(path: Path, folder: Path, server: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    work = folder / "work"
    work.mkdir(parents=True)
    plan = _plan(path, work, server)
    plan_file = folder / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docs_runner.py"), str(plan_file)],
        capture_output=True,
        text=True,
        timeout=600,
        env=plan["env"],  # type: ignore[arg-type]
    )


WORKERS = 2  # doc files run two at a time (a 2-core CI machine); at most 8 use the server (16 databases)


@pytest.fixture(scope="module")
def doc_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Path, Future[subprocess.CompletedProcess[str]]]]:
    """Start every selected doc file's run: files that stall the server alone, the others in pairs.

    Each file that needs the server gets its own pair of databases (app, celery) on the session's
    private redis-server, flushed first.
    """
    selected = [
        item.callspec.params["path"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_the_blocks_of_a_doc_run"
    ]
    serving = [p for p in selected if any("server" in b.directives for b in blocks(p))]
    servers: dict[Path, dict[str, str]] = {}
    if serving:
        url = request.getfixturevalue("redis_url")
        for i, path in enumerate(serving):
            app, celery = with_db(url, 2 * i), with_db(url, 2 * i + 1)
            for db_url in (app, celery):
                redis.Redis.from_url(db_url).flushdb()
            servers[path] = {"app": app, "celery": celery, "key": generate_key()}
    alone = [p for p in selected if any("alone" in b.directives for b in blocks(p))]
    futures: dict[Path, Future[subprocess.CompletedProcess[str]]] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:

        def start(path: Path) -> Future[subprocess.CompletedProcess[str]]:
            folder = tmp_path_factory.mktemp(path.stem.replace(".", "_"))
            return pool.submit(_run_doc, path, folder, servers.get(path))

        for path in alone:  # one by one, before the others start
            futures[path] = start(path)
            futures[path].exception()  # waits
        for path in selected:
            if path not in futures:
                futures[path] = start(path)
        yield futures


@pytest.mark.parametrize("path", RUNNABLE, ids=[_rel(p) for p in RUNNABLE])
def test_the_blocks_of_a_doc_run(
    path: Path, doc_runs: dict[Path, Future[subprocess.CompletedProcess[str]]]
) -> None:
    result = doc_runs[path].result()
    assert result.returncode == 0, (result.stdout[-6000:] + "\n" + result.stderr[-6000:]).strip()


# --- the README's set-up commands ------------------------------------------------------------


SETUP = [
    'python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]" && .venv/bin/keyspace demo',
    "bash .ci/run",
]


def test_the_readme_starts_with_the_two_set_up_commands_and_ci_runs_them() -> None:
    """The README's first block is the fresh-clone set-up; `.ci/run` runs every part of it.

    These two commands are not run by this test (one creates the venv the tests run in, the other
    is the test suite itself): CI runs them on every push.
    """
    first = blocks(ROOT / "README.md")[0]
    assert "setup" in first.directives and first.lang == "bash"
    setups = [b for path in DOCS for b in blocks(path) if "setup" in b.directives]
    for block in setups:  # the Korean quickstart repeats them
        assert block.lang == "bash" and command_lines(block.text) == SETUP, block.where
    ci = (ROOT / ".ci" / "run").read_text()
    for part in ("python3 -m venv .venv", '-m pip install -q -e ".[dev]"', ".venv/bin/keyspace demo"):
        assert part in ci, part
    readme = (ROOT / "README.md").read_text()
    assert readme.index("```bash") < readme.index("## "), "the two commands come before any section"


def test_the_readme_is_short_and_says_where_a_new_shell_finds_the_venv() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    assert "source .venv/bin/activate" in readme
    assert "memory://" in readme  # the five minutes share one in-memory server by name


# --- links -----------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\*", "", heading.strip().lower())
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_every_relative_link_resolves() -> None:
    broken = []
    for path in DOCS:
        text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{_rel(path)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{_rel(path)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_every_doc_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [_rel(p) for p in DOCS[1:] if f"({_rel(p)}" not in readme]
    assert not missing, f"docs the README does not link to: {missing}"


# --- configuration: every variable keyspace reads is documented ------------------------------


def _variables_read_by_keyspace() -> set[str]:
    """Every Settings field, plus each KEYSPACE_* name written in the library's source."""
    names = set(Settings.model_fields)
    for source in (ROOT / "keyspace").rglob("*.py"):
        names.update(re.findall(r"\b(KEYSPACE_[A-Z][A-Z_]*[A-Z])\b", source.read_text()))
    return names | {"KEYSPACE_TEST_REDIS_URL"}  # read by tests/conftest.py


def test_every_variable_is_in_the_configuration_table() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    table = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    missing = sorted(name for name in _variables_read_by_keyspace() if f"`{name}`" not in table)
    assert not missing, f"variables missing from the table in docs/configuration.md: {missing}"


def test_env_example_names_every_variable_with_placeholders_only() -> None:
    text = (ROOT / ".env.example").read_text()
    tests_only = {"KEYSPACE_TEST_REDIS_URL"}
    missing = sorted(n for n in _variables_read_by_keyspace() - tests_only if not re.search(rf"\b{n}=", text))
    assert not missing, f"variables missing from .env.example: {missing}"
    for line in text.splitlines():
        name, _, value = line.lstrip("# ").partition("=")
        if name in ("ENCRYPTION_KEY", "ENCRYPTION_OLD_KEYS", "KEYSPACE_BACKUP_KEY", "REDIS_PASSWORD"):
            value = value.split("#")[0].strip()
            assert value in ("", "<fernet-key>", "<redis-password>"), f"{name} must be a placeholder"


def test_env_example_loads() -> None:
    settings = Settings.load(env={}, env_file=None)  # the defaults
    assert settings.REDIS_MAX_CONNECTIONS == 50
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    loaded = Settings.load(values)
    assert loaded.REDIS_MAX_CONNECTIONS == 50 and loaded.KEYSPACE_PLAINTEXT_READS == "allow"


# --- the CLI reference ------------------------------------------------------------------------


def exit_code_table() -> str:
    """The exit-code table of docs/cli.md, as keyspace/cli/errors.py defines it."""
    from keyspace.cli.errors import EXIT_CODES

    rows = ["| command | exit codes |", "|---|---|"]
    for command, codes in EXIT_CODES.items():
        text = "<br>".join(f"**{code}** {what}" for code, what in sorted(codes.items()))
        rows.append(f"| `{command}` | {text} |")
    return "\n".join(rows)


def test_the_cli_doc_lists_every_commands_exit_codes() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    expected = exit_code_table()
    assert expected in text, f"docs/cli.md: replace the exit-code table with\n\n{expected}\n"


def test_toml_blocks_are_valid_everywhere() -> None:
    for path in DOCS:
        for block in blocks(path):
            if block.lang == "toml":
                tomllib.loads(block.text)


def test_an_empty_history_setting_means_no_history_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/configuration.md: ``KEYSPACE_REDIS_HISTORY=`` (empty) turns the prompt's history off.

    It used to become Path("") == ".", so leaving the prompt chmod-ed the working directory to 0600.
    """
    from keyspace.cli.rawcli import History, history_file

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYSPACE_REDIS_HISTORY", "")
    assert history_file() is None
    mode = tmp_path.stat().st_mode
    history = History(history_file())
    history.add("PING")
    history.save()
    assert tmp_path.stat().st_mode == mode and list(tmp_path.iterdir()) == []
    monkeypatch.setenv("KEYSPACE_REDIS_HISTORY", str(tmp_path / "h"))
    assert history_file() == tmp_path / "h"
