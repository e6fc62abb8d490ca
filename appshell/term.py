"""What appshell writes to the terminal besides a REPL: colour decisions and warning lines.

Colour only on a terminal that shows it: never when ``NO_COLOR`` is set (https://no-color.org)
or the terminal says it is ``TERM=dumb``.
"""

from __future__ import annotations

import os
import sys
import typing as t

import click

__all__ = ["render_table", "use_color", "warn"]


def use_color(err: bool = False) -> bool:
    """Whether output to stdout (or stderr with ``err``) may be coloured."""
    stream = sys.stderr if err else sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream is not None and stream.isatty()  # None: the stream was closed


def warn(message: str) -> None:
    """One line on stderr, for something a user should see that does not stop appshell."""
    click.secho(f"appshell: {message}", fg="yellow", err=True, color=use_color(err=True))


def render_table(
    headers: t.Sequence[str], rows: t.Iterable[t.Sequence[object]], *, rule: bool = True
) -> str:
    """A plain-text table: each column as wide as its widest cell, two spaces between
    columns, no trailing spaces, and (with ``rule``) a line of dashes under the headers.

    Every listing appshell prints uses it (routes, ``shell --print-context``,
    ``--list-repls``, profiles), so they all read alike. ``rows`` must have as many cells
    as ``headers``; cells are shown with ``str()``.
    """
    lines = [[str(cell) for cell in row] for row in (headers, *rows)]
    widths = [max(map(len, column)) for column in zip(*lines, strict=True)]
    if rule:
        lines.insert(1, ["-" * width for width in widths])
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
