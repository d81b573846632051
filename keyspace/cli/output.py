"""Printing: JSON for scripts, Rich for people — never markup from data, never a truncated name.

Every value that comes from the user or from Redis is printed as a Rich
``Text`` (or through :func:`esc`), so a key such as ``a[/x]`` or
``[bold]x`` prints as it is.  Consoles are made per call, so the width
follows ``COLUMNS`` and a pipe (80 columns, no colour).  Tables that do not
fit the width switch to a narrow layout instead of cutting cells.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

SEPARATOR = " · "


def stdout() -> Console:
    return Console(highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def esc(value: Any) -> str:
    """``value`` as text that Rich markup prints literally."""
    return escape(str(value))


def text(value: Any, style: str = "") -> Text:
    return Text(str(value), style=style)


def say(markup: str) -> None:
    """Print a line of our own markup (interpolate data only through :func:`esc`)."""
    stdout().print(markup)


def warn(message: str) -> None:
    """A plain (never markup) warning line on stderr."""
    stderr().print(Text(message, style="yellow"))


def emit_json(value: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(value, default=str))


def emit_json_line(value: Any) -> None:
    typer.echo(json.dumps(value, default=str))


def records(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    titles: Sequence[str] | None = None,
    console: Console | None = None,
) -> RenderableType:
    """A table when it fits the console, else one block per row (title, then ``header value`` pairs).

    ``titles`` name each row in the narrow layout (default: the first column).
    Nothing is ever truncated: a cell wider than the whole screen folds.
    """
    console = console or stdout()
    width = console.width
    cells = [[str(c) for c in row] for row in rows]
    natural = [
        max([cell_len(h), *(cell_len(r[i]) for r in cells)]) for i, h in enumerate(headers)
    ]  # the widest cell of each column
    table_width = sum(natural) + 3 * len(headers) + 1  # borders and padding of the default box
    if table_width <= width:
        table = Table(*headers, show_header=True)
        for column in table.columns:
            column.overflow = "fold"
        for row in cells:
            table.add_row(*(Text(c) for c in row))
        return table
    lines: list[Text] = []
    for n, row in enumerate(cells):
        if titles is not None:
            title, pairs = titles[n], list(zip(headers, row, strict=True))
        else:
            title, pairs = row[0], list(zip(headers[1:], row[1:], strict=True))
        lines.append(Text(title, style="bold", overflow="fold"))
        for line in _pack([f"{h} {v or '-'}" for h, v in pairs], width - 2):
            lines.append(Text("  " + line, overflow="fold"))
    return Group(*lines)


def _pack(items: list[str], width: int) -> list[str]:
    """Greedy lines of ``items`` joined by SEPARATOR; an item is never split unless it alone is too wide."""
    lines: list[str] = []
    current = ""
    for item in items:
        candidate = item if not current else current + SEPARATOR + item
        if current and cell_len(candidate) > width:
            lines.append(current)
            current = item
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def progress(*, counted: bool = True, disable: bool = False, transient: bool = True) -> Progress:
    """A progress bar on stderr (stdout stays clean for --json and pipes)."""
    columns: list[Any] = [TextColumn("{task.description}")]
    if counted:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    else:
        columns.append(TextColumn("{task.completed} keys"))
    return Progress(*columns, console=stderr(), transient=transient, disable=disable)


__all__ = [
    "emit_json",
    "emit_json_line",
    "esc",
    "progress",
    "records",
    "say",
    "stderr",
    "stdout",
    "text",
    "warn",
]
