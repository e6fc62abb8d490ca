"""What appshell writes to the terminal besides a REPL: colour decisions and warning lines.

Colour only on a terminal that shows it: never when ``NO_COLOR`` is set (https://no-color.org)
or the terminal says it is ``TERM=dumb``.
"""

from __future__ import annotations

import os
import sys

import click

__all__ = ["use_color", "warn"]


def use_color(err: bool = False) -> bool:
    """Whether output to stdout (or stderr with ``err``) may be coloured."""
    stream = sys.stderr if err else sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream is not None and stream.isatty()  # None: the stream was closed


def warn(message: str) -> None:
    """One line on stderr, for something a user should see that does not stop appshell."""
    click.secho(f"appshell: {message}", fg="yellow", err=True, color=use_color(err=True))
