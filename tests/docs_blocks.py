"""The code blocks of README.md and docs/*.md, and what each one asks of the test that runs it.

A fenced block's language says what the test does with it:

* ``python`` — executed; the python blocks of one file share one fresh interpreter and one
  namespace, in order (a block may use what an earlier one defined);
* ``bash``   — executed line by line in one ``bash`` process per block: every command line
  must exit with the documented code (0 unless ``exit:`` says otherwise), the first that does
  not fails the test;
* ``toml``   — parsed;
* ``text``   — output, synopsis or illustration: never run.

Any other language (``sh``, ``console``, ``py``, an unmarked fence, …) is an error: a reader
cannot tell whether it runs.  HTML comments on the lines right above a fence set directives:

* ``<!-- file: PATH -->``  write the block to PATH (relative to the block's working directory)
  instead of running it (python and toml blocks are still checked: compiled / parsed);
* ``<!-- server: redis -->``  run against a private real redis-server the test started:
  REDIS_URL, CELERY_RESULT_BACKEND_OVERRIDE and ENCRYPTION_KEY are set (as a ``.env`` would);
  the database keeps its state across the blocks of one file and starts empty;
* ``<!-- server: seeded -->``  the same, first filled once with ``keyspace seed --users 5`` (the
  live-format dataset: every stored form of a secret, and its deliberately bad keys);
* ``<!-- exit: N -->``  every command line of this bash block exits with N;
* ``<!-- project: own -->``  the block runs as in an application of its own (its own
  ``pyproject.toml`` in the working directory), without this repository's ``[tool.keyspace]``;
* ``<!-- setup -->``  the README's fresh-clone commands (checked against ``.ci/run``, which
  runs them);
* ``<!-- alone -->``  the block stalls the whole server (``CLIENT PAUSE``): its file runs while no
  other file does (files otherwise run two at a time, each in its own pair of databases).

Without ``server:`` a block runs against nothing configured: no REDIS_*, no ENCRYPTION_KEY,
no .env — what a fresh shell in a checkout has (python blocks use ``memory://`` URLs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("python", "bash", "toml", "text")
DIRECTIVES = ("file", "server", "exit", "project", "setup", "alone")
SERVERS = ("redis", "seeded")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^[ \t]*<!--\s*(?P<name>[a-z-]+)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$")


@dataclass
class Block:
    doc: str
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang in ("python", "bash", "toml") and "setup" not in self.directives


def doc_files() -> list[Path]:
    """README.md and every docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the directives written right above it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = path.relative_to(ROOT).as_posix()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        lang = opening["info"].strip().split(" ")[0] if opening["info"].strip() else ""
        directives: dict[str, str] = {}
        j = i - 1
        while j >= 0 and (d := _DIRECTIVE.match(lines[j])) is not None:
            directives[d["name"]] = (d["value"] or "").strip()
            j -= 1
        body: list[str] = []
        k = i + 1
        while k < len(lines):
            closing = _FENCE.match(lines[k])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[k][len(indent) :] if lines[k].startswith(indent) else lines[k].lstrip())
            k += 1
        else:
            raise ValueError(f"{doc}:{i + 1}: a fence that is never closed")
        found.append(Block(doc, i + 1, lang, "\n".join(body) + "\n", directives))
        i = k + 1
    return found


def problems(block: Block) -> list[str]:
    """Why a block is neither runnable nor plainly marked as text (empty: it is fine)."""
    out: list[str] = []
    if block.lang not in LANGUAGES:
        shown = block.lang or "no language"
        out.append(
            f"{block.where}: a ```{shown} block: use python or bash (run by tests/test_docs.py), "
            "toml (parsed), or text (output and illustration)"
        )
    for name, value in block.directives.items():
        if name not in DIRECTIVES:
            out.append(f"{block.where}: unknown directive <!-- {name} --> (known: {', '.join(DIRECTIVES)})")
        elif name == "server" and value not in SERVERS:
            out.append(f"{block.where}: <!-- server: {value} --> (known: {', '.join(SERVERS)})")
        elif name == "exit" and not value.isdigit():
            out.append(f"{block.where}: <!-- exit: {value} --> is not an exit code")
        elif name == "exit" and block.lang != "bash":
            out.append(f"{block.where}: <!-- exit --> applies to bash blocks only")
        elif name == "project" and value != "own":
            out.append(f"{block.where}: <!-- project: {value} --> (known: own)")
        elif name == "file" and (not value or value.startswith("/") or ".." in Path(value).parts):
            out.append(f"{block.where}: <!-- file: {value} --> must be a relative path inside the work dir")
    if "file" in block.directives and block.lang == "bash":
        out.append(f"{block.where}: a bash block is run, never written to a file")
    return out


def command_lines(text: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, blank and comment lines dropped."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line)
    if pending.strip():
        out.append(pending)
    return out
