"""The session's options: ``shell``, ``flask shell`` and ``%appshell`` take the same ones.

``--strict``, ``--no-startup``, ``--no-lifespan`` and the database options
(``--sandbox/--no-sandbox``, ``--read-only``, ``--sql``, ``--no-models``) are turned into the
keywords of a :class:`~appshell.shell.session.ShellSession` here, in one place, so that a
notebook gets what a shell gets. Each database option left out means "as the profile says"
(None), so a profile's ``sandbox = true`` holds unless ``--no-sandbox`` is given. Nothing
here imports a database module.
"""

from __future__ import annotations

import dataclasses
import typing as t

import click

__all__ = ["SessionRequest", "database_options", "session_keywords", "session_switches"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_SWITCHES = (
    click.option(
        "--strict", is_flag=True, help="A shell-context provider that raises is an error (exit 1)."
    ),
    click.option("--no-startup", is_flag=True, help="Do not run the profile's startup code."),
    click.option(
        "--no-lifespan",
        is_flag=True,
        help="Do not run an ASGI app's lifespan (its startup and shutdown) around the session.",
    ),
)

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


def session_switches(f: F) -> F:
    """Add ``--strict``, ``--no-startup``, ``--no-lifespan`` and the database options."""
    f = database_options(f)
    for option in reversed(_SWITCHES):
        f = option(f)
    return f


def session_keywords(values: t.Mapping[str, t.Any]) -> dict[str, bool | None]:
    """The ShellSession keywords of the options' ``values``: ``strict``, ``startup``,
    ``lifespan``, and the database ones (None: the profile's)."""
    keywords: dict[str, bool | None] = {
        "strict": bool(values.get("strict")),
        "startup": not values.get("no_startup"),
        "lifespan": not values.get("no_lifespan"),
    }
    keywords.update({key: values.get(key) for key in ("sandbox", "read_only", "sql", "models")})
    return keywords


@dataclasses.dataclass(frozen=True)
class SessionRequest:
    """What a session outside the command line (``%appshell``) is asked for: the app and
    env file (read by the command line's own options), the profile's name, a custom
    script's group (``MODULE:NAME``), the project folder (None: the current one), and the
    session's keywords (:func:`session_keywords`)."""

    app: str | None = None
    env_file: str | None = None
    profile: str | None = None
    cli: str | None = None
    folder: str | None = None
    options: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
