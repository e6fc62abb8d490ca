"""The shell's database options: ``shell`` and ``flask shell`` take the same ones.

``--sandbox/--no-sandbox``, ``--read-only``, ``--sql`` and ``--no-models`` go to the
:class:`~appshell.shell.session.ShellSession`, which starts what they ask for. Each one
left out means "as the profile says" (None), so a profile's ``sandbox = true`` holds
unless ``--no-sandbox`` is given. Nothing here imports a database module.
"""

from __future__ import annotations

import typing as t

import click

__all__ = ["database_options", "session_options"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_OPTIONS = (
    click.option(
        "--sandbox/--no-sandbox",
        default=None,
        allow_from_autoenv=False,
        help="Run the session in one transaction per database, rolled back when it ends:"
        " nothing it does to the database survives it. [profile: sandbox]",
    ),
    click.option(
        "--read-only",
        is_flag=True,
        default=None,
        allow_from_autoenv=False,
        help="The databases refuse writes (a guard against mistakes, not a security"
        " boundary); wins over --sandbox. [profile: read_only]",
    ),
    click.option(
        "--sql",
        is_flag=True,
        default=None,
        allow_from_autoenv=False,
        help="Print each SQL statement to stderr as it runs (sql.echo = False turns it off)."
        " [profile: sql]",
    ),
    click.option(
        "--no-models",
        "models",
        flag_value=False,
        default=None,
        allow_from_autoenv=False,
        help="Leave the ORM's models out of the namespace. [profile: models]",
    ),
)


def database_options(f: F) -> F:
    """Add the database options to a command."""
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def session_options(values: t.Mapping[str, t.Any]) -> dict[str, bool | None]:
    """The ShellSession keywords of the options' ``values`` (None: the profile's)."""
    return {key: values.get(key) for key in ("sandbox", "read_only", "sql", "models")}
