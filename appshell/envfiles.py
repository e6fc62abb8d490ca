"""Settings from the environment: the env files (``.env``, ``.flaskenv``, ``--env-file``),
the debug flag and the switch that turns the default env files off.

An env variable comes from the first place that has it: the real environment, the file of
``--env-file``, the nearest ``.env``, the nearest ``.flaskenv`` (the last two looked for from
the working folder upward), as with ``flask``. python-dotenv, which parses the files, is
imported only when there is a file to parse.
"""

from __future__ import annotations

import codecs
import os
import typing as t

import click

from .exceptions import EnvFileError
from .project import find_upward
from .term import warn

__all__ = [
    "EnvFileError",
    "debug_flag_given",
    "debug_option",
    "get_debug_flag",
    "get_load_dotenv",
    "load_dotenv",
]

#: The env files read by default, the one that wins first.
DEFAULT_FILES = (".env", ".flaskenv")
_OFF = frozenset({"", "0", "false", "no", "off"})


def _setting(name: str) -> str | None:
    """``APPSHELL_<name>``, or Flask's ``FLASK_<name>`` when appshell's is not set."""
    for prefix in ("APPSHELL_", "FLASK_"):
        if (value := os.environ.get(prefix + name)) is not None:
            return value
    return None


def get_debug_flag() -> bool:
    """Whether debug mode is on: ``APPSHELL_DEBUG`` (else ``FLASK_DEBUG``) set and not off."""
    value = _setting("DEBUG")
    return value is not None and value.lower() not in _OFF


def debug_flag_given() -> bool:
    """Whether debug mode was asked for either way (``--debug``, ``--no-debug``, or
    ``APPSHELL_DEBUG`` / ``FLASK_DEBUG`` set): an app's own debug setting holds otherwise."""
    return bool(_setting("DEBUG"))


def get_load_dotenv(default: bool = True) -> bool:
    """Whether the default env files are read: not when ``APPSHELL_SKIP_DOTENV`` (else
    ``FLASK_SKIP_DOTENV``) is on; ``default`` when it is unset or empty."""
    value = _setting("SKIP_DOTENV")
    return default if not value else value.lower() in _OFF


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Put the env files' variables into ``os.environ``, never replacing one already set.

    :param path: the file of ``--env-file``: it wins over the default ones.
    :param load_defaults: read the nearest ``.env`` and ``.flaskenv`` too. One of them that
        is not UTF-8 text is skipped, with a warning naming it.
    :return: whether any file held a variable. False when python-dotenv is missing, after
        a line on stderr naming the files left unread.
    :raises EnvFileError: ``path`` cannot be read, or is not UTF-8 text.
    """
    # As flask.cli's: a path that is not a file is passed over (--env-file checks existence).
    wanted: list[tuple[str, bool]] = (
        [] if path is None or not os.path.isfile(path) else [(os.fspath(path), True)]
    )
    if load_defaults:
        wanted += [(found, False) for name in DEFAULT_FILES if (found := find_upward(name))]
    if not wanted:
        return False
    try:
        import dotenv
    except ImportError:
        names = ", ".join(os.path.relpath(file) for file, _ in wanted)
        warn(f"ignoring {names}: env files need python-dotenv: pip install 'appshell[dotenv]'.")
        return False

    import io

    held_any = False
    for file, given in wanted:
        text = _text_of(file, given)
        values = {} if text is None else dotenv.dotenv_values(stream=io.StringIO(text))
        held_any = held_any or bool(values)
        for key, value in values.items():
            if value is not None:
                os.environ.setdefault(key, value)
    return held_any


def _text_of(file: str, given: bool) -> str | None:
    """The text of env file ``file``. When it is not text, the file the user ``given`` is
    an :class:`EnvFileError`; a default one is None, after a warning."""
    try:
        with open(file, "rb") as f:
            return _decode(f.read())
    except (OSError, ValueError) as e:
        why = (e.strerror or str(e)) if isinstance(e, OSError) else str(e)
    if given:
        raise EnvFileError(
            f"The env file {file!r} (--env-file) cannot be read: {why}. Give a text file of"
            " NAME=value lines saved as UTF-8."
        )
    warn(f"ignoring {os.path.relpath(file)}: {why}; save it as UTF-8 to have it read.")
    return None


def _decode(raw: bytes) -> str:
    """``raw`` as UTF-8 text (a BOM allowed). :raises ValueError: why it is not."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValueError("it is UTF-16 (as PowerShell writes files), not UTF-8")
    if b"\0" in raw:
        raise ValueError("it has NUL bytes, so it is not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"the byte {raw[e.start]:#04x} at offset {e.start} is not UTF-8") from None


class _DebugOption(click.Option):
    """``--debug/--no-debug``: when given, the choice is put into the environment
    (``APPSHELL_DEBUG`` and ``FLASK_DEBUG``), where a factory sees it while it builds the
    app and ``get_debug_flag`` finds it; when not given, the environment decides."""

    def __init__(self) -> None:
        super().__init__(
            ["--debug/--no-debug"],
            expose_value=False,
            help="Turn the app's debug mode on or off. [env: APPSHELL_DEBUG, FLASK_DEBUG]",
        )

    def process_value(self, ctx: click.Context, value: t.Any) -> t.Any:
        from click.core import ParameterSource

        value = super().process_value(ctx, value)
        unset = (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
        if ctx.get_parameter_source(self.name) in unset:
            return None
        os.environ["APPSHELL_DEBUG"] = os.environ["FLASK_DEBUG"] = str(int(bool(value)))
        return value


#: The debug switch of the root group and of ``run`` (one instance, shared).
debug_option = _DebugOption()
