"""Run the code blocks of one Markdown file, in order, in a fresh interpreter (see tests/docs_blocks.py).

Invoked by tests/test_docs.py as ``python tests/docs_runner.py PLAN.json``.  The plan names the
work directory, the private server's URLs (or none) and the blocks with their directives.  Python
blocks run here, in one namespace; bash blocks run in a child ``bash``; every failure names the
file and line of its block and exits non-zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import traceback
import types
from pathlib import Path
from typing import Any

BASH_PROLOGUE = "set -u\n"


def fail(where: str, message: str) -> None:
    print(f"\n{where}: {message}", file=sys.stderr)
    raise SystemExit(1)


def bash_script(commands: list[str], expected: int) -> str:
    """Each command followed by a check of its exit code (the first unexpected one stops the block)."""
    parts = [BASH_PROLOGUE]
    for n, command in enumerate(commands, 1):
        shown = json.dumps(command.strip())
        parts.append(
            f"{command}\n"
            f'__ks=$?; if [ "$__ks" != "{expected}" ]; then '
            f'echo "command {n} exited $__ks (documented: {expected}): "{_quote(shown)} >&2; exit 97; fi\n'
        )
    return "".join(parts)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


class Runner:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.work = Path(plan["work"])
        self.base_env: dict[str, str] = dict(plan["env"])
        self.server: dict[str, str] | None = plan.get("server")
        self.seeded = False
        # the blocks run as the __main__ module of a script (pydantic resolves names through it)
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        self.namespace: dict[str, Any] = main.__dict__
        sys.path.insert(0, str(self.work))
        os.chdir(self.work)

    def env_for(self, block: dict[str, Any]) -> dict[str, str]:
        env = dict(self.base_env)
        directives = block["directives"]
        server = directives.get("server")
        if server:
            if self.server is None:
                fail(block["where"], "needs a server, and the test gave none")
            assert self.server is not None
            env.update(
                REDIS_URL=self.server["app"],
                CELERY_RESULT_BACKEND_OVERRIDE=self.server["celery"],
                CELERY_BROKER_URL_OVERRIDE=self.server["celery"],
                ENCRYPTION_KEY=self.server["key"],
            )
        if directives.get("project") == "own":
            env.pop("KEYSPACE_PROJECT", None)
        return env

    def seed(self, block: dict[str, Any], env: dict[str, str]) -> None:
        """``keyspace seed --users 5`` once, run in this process (the same command, no second start-up)."""
        if self.seeded:
            return
        self.seeded = True
        from typer.testing import CliRunner

        from keyspace.cli.main import app

        os.environ.clear()
        os.environ.update(env)
        result = CliRunner().invoke(app, ["seed", "--users", "5", "--force"], env=env)
        if result.exit_code != 0:
            fail(block["where"], f"keyspace seed failed:\n{result.output}")

    def run(self) -> None:
        for block in self.plan["blocks"]:
            env = self.env_for(block)
            if block["directives"].get("server") == "seeded":
                self.seed(block, env)
            target = block["directives"].get("file")
            if target:
                self.write(block, target)
            elif block["lang"] == "python":
                self.python(block, env)
            elif block["lang"] == "bash":
                self.bash(block, env)
            elif block["lang"] == "toml":
                self.toml(block)

    def write(self, block: dict[str, Any], target: str) -> None:
        if block["lang"] == "python":
            try:
                compile(block["text"], block["where"], "exec")
            except SyntaxError as exc:
                fail(block["where"], f"does not compile: {exc}")
        if block["lang"] == "toml":
            self.toml(block)
        path = self.work / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block["text"], encoding="utf-8")

    def toml(self, block: dict[str, Any]) -> None:
        try:
            tomllib.loads(block["text"])
        except tomllib.TOMLDecodeError as exc:
            fail(block["where"], f"is not valid TOML: {exc}")

    def python(self, block: dict[str, Any], env: dict[str, str]) -> None:
        os.environ.clear()
        os.environ.update(env)
        try:
            code = compile(block["text"], block["where"], "exec")
            exec(code, self.namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                fail(block["where"], f"called exit({exc.code})")
        except BaseException:
            traceback.print_exc()
            fail(block["where"], "the python block raised (traceback above)")
        sys.stdout.flush()

    def bash(self, block: dict[str, Any], env: dict[str, str]) -> None:
        expected = int(block["directives"].get("exit") or 0)
        script = bash_script(block["commands"], expected)
        result = subprocess.run(
            ["bash", "-c", script], env=env, cwd=self.work, capture_output=True, text=True, timeout=300
        )
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            sys.stdout.write(result.stderr)
            fail(block["where"], f"the bash block failed (exit {result.returncode}); stderr above")


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Runner(plan).run()


if __name__ == "__main__":
    main()
