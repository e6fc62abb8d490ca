"""``.env`` and ``.flaskenv`` files, with Flask's precedence, and the debug flag.

Precedence, highest first: the real environment, ``--env-file``, ``.env``, ``.flaskenv``;
``.env`` and ``.flaskenv`` are searched from the working directory upward. python-dotenv is
imported only when there is such a file to read.
"""

from __future__ import annotations

import os

import click

from .term import warn

__all__ = ["debug_option", "find_upward", "get_debug_flag", "get_load_dotenv", "load_dotenv"]

_FALSE = ("0", "false", "no", "off", "")


def _env(name: str) -> str | None:
    """``APPSHELL_<NAME>``, else ``FLASK_<NAME>``: appshell's name first, Flask's honoured."""
    value = os.environ.get(f"APPSHELL_{name}")
    return value if value is not None else os.environ.get(f"FLASK_{name}")


def get_debug_flag() -> bool:
    """Whether debug mode is on: ``APPSHELL_DEBUG``, else ``FLASK_DEBUG``."""
    value = _env("DEBUG")
    return value is not None and value.lower() not in _FALSE


def get_load_dotenv(default: bool = True) -> bool:
    """Whether to load the default env files: off with ``APPSHELL_SKIP_DOTENV=1``."""
    value = _env("SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in _FALSE


def find_upward(filename: str, start: str | None = None) -> str | None:
    """The nearest file called ``filename`` from ``start`` (default: cwd) upward, or None."""
    directory = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(directory, filename)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Set environment variables from env files; variables already set are never replaced.

    :param path: an env file that takes precedence over the default ones.
    :param load_defaults: also read the nearest ``.flaskenv`` and ``.env``.
    :return: whether at least one variable was read. False when python-dotenv is not
        installed, after saying in one line on stderr that the files were ignored.
    """
    found = [
        p for p in ((find_upward(n) for n in (".flaskenv", ".env")) if load_defaults else ()) if p
    ]
    if path is not None and os.path.isfile(path):
        found.append(os.fspath(path))
    if not found:
        return False

    try:
        import dotenv
    except ImportError:
        names = ", ".join(os.path.relpath(p) for p in found)
        warn(
            f"ignoring {names}: install python-dotenv to load env files"
            " (pip install 'appshell[dotenv]')."
        )
        return False

    data: dict[str, str | None] = {}
    for file in found:
        data |= dotenv.dotenv_values(file, encoding="utf-8")

    for key, value in data.items():
        if key not in os.environ and value is not None:
            os.environ[key] = value
    return bool(data)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    from click.core import ParameterSource

    source = ctx.get_parameter_source(param.name)  # type: ignore[arg-type,unused-ignore]
    if source is None or source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    # Through the environment, so that a factory sees it while it builds the app.
    os.environ["APPSHELL_DEBUG"] = os.environ["FLASK_DEBUG"] = "1" if value else "0"
    return value


#: ``--debug/--no-debug``, on the group and on ``run`` (as in flask.cli).
debug_option = click.Option(
    ["--debug/--no-debug"],
    help="Set debug mode. [env: APPSHELL_DEBUG, FLASK_DEBUG]",
    expose_value=False,
    callback=_set_debug,
)
