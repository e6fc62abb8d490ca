"""What appshell writes to the terminal besides a REPL: colour decisions and warning lines.

Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import sys

import click

__all__ = ["use_color", "warn"]


def use_color(err: bool = False) -> bool:
    """Whether output to stdout (or stderr with ``err``) may be coloured."""
    stream = sys.stderr if err else sys.stdout
    return not os.environ.get("NO_COLOR") and stream.isatty()


def warn(message: str) -> None:
    """One line on stderr, for something a user should see that does not stop appshell."""
    click.secho(f"appshell: {message}", fg="yellow", err=True, color=use_color(err=True))
