"""The folders are the layers: the core does no I/O, the library never imports the application,
and no two modules import each other (module-level imports, as Python executes them)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "keyspace"
IO_MODULES = {
    "redis",
    "hiredis",
    "fakeredis",
    "socket",
    "asyncio",
    "threading",
    "subprocess",
    "ssl",
    "select",
}
# Executed imports: stdlib plumbing such as threading (logging) or socket (a dependency's own
# import) may load transitively; the clients and event loops may not.
LOADED_IO = {"redis", "hiredis", "fakeredis", "lupa", "asyncio"}
OUTER_LAYERS = ("keyspace.io", "keyspace.ops", "keyspace.cli", "keyspace.mapper", "keyspace.testing")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules a file imports, never counting ``if TYPE_CHECKING:`` blocks; with
    ``top_level_only``, only those executed at import time (not inside functions)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""  # keyspace uses absolute imports only
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not top_level_only:
                    visit(node.body)
            else:
                for child in ("body", "orelse", "finalbody", "handlers"):
                    block = getattr(node, child, None)
                    if isinstance(block, list):
                        visit([n for n in block if isinstance(n, ast.stmt | ast.ExceptHandler)])  # type: ignore[misc]

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def test_the_core_imports_no_io_module_at_all() -> None:
    offenders = {}
    for path in sorted((PACKAGE / "core").glob("*.py")):
        bad = {
            name
            for name in imports(path, top_level_only=False)
            if name.split(".")[0] in IO_MODULES or name.startswith(OUTER_LAYERS)
        }
        if bad:
            offenders[module_name(path)] = sorted(bad)
    assert not offenders, offenders


def test_importing_the_core_loads_no_io_module() -> None:
    """Executed, not just parsed: a fresh interpreter imports every core module (the package's
    __init__ is bypassed) and no Redis client or event loop may have been loaded by them,
    nor any outer layer of keyspace."""
    code = (
        "import sys, types, importlib.util, pathlib\n"
        f"root = pathlib.Path({str(PACKAGE)!r})\n"
        "pkg = types.ModuleType('keyspace'); pkg.__path__ = [str(root)]; sys.modules['keyspace'] = pkg\n"
        "before = set(sys.modules)\n"
        "for f in sorted((root / 'core').glob('*.py')):\n"
        "    name = 'keyspace.core' if f.stem == '__init__' else 'keyspace.core.' + f.stem\n"
        "    importlib.import_module(name)\n"
        f"io = {sorted(LOADED_IO)!r}\n"
        f"outer = {OUTER_LAYERS!r}\n"
        "new = set(sys.modules) - before\n"
        "loaded = sorted(m for m in new if m.split('.')[0] in io or m.startswith(outer))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"the core loaded I/O modules: {result.stdout.strip()}"


def test_the_library_never_imports_the_application() -> None:
    offenders = {
        module_name(path): sorted(
            name
            for name in imports(path, top_level_only=False)
            if name.split(".")[0] in ("models", "migrations")
        )
        for path in PACKAGE.rglob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_no_import_cycles() -> None:
    paths = {
        module_name(p): p for p in list(PACKAGE.rglob("*.py")) + list((ROOT / "benchmarks").glob("*.py"))
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for imported in imports(path, top_level_only=False):
            candidates = [imported, imported.rsplit(".", 1)[0]]
            targets.update(c for c in candidates if c in paths and c != name)
        graph[name] = targets
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ importing its own submodules is not a cycle back into the package
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, cycles


def test_no_module_reaches_into_another_keyspace_modules_private_names() -> None:
    """``module._name`` or ``from module import _name`` across keyspace's own modules: a private name is
    private to its module (issue 15 found operator code reaching into the mapper's private executors)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keyspace"):
                aliases |= {a.asname or a.name for a in node.names}
                found += [
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno} from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
            elif isinstance(node, ast.ImportFrom) and node.level:  # relative: private names the same
                found += [
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno} from . import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
            elif isinstance(node, ast.Import):
                aliases |= {
                    (a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("keyspace")
                }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.value.id}.{node.attr}")
    assert not found, found
