"""Entry-point plugins: read once per process, imported on use, a broken one isolated.

Groups:

- ``appshell.commands``: click commands added beside the built-in ones.
- ``flask.commands``: Flask's plugin commands, listed too when Flask is installed
  (appshell's own entry there, the one that replaces ``flask shell``, is skipped).
- ``appshell.adapters``: adapter classes for other frameworks.
- ``appshell.repls``: REPL backends; ``appshell.shell_context``: shell-context providers.

Listing a group reads only the installed packages' metadata; a plugin's module is
imported when the plugin is used. A plugin that fails to import is reported in one line on
stderr naming it and its error, and is left out; everything else keeps working.
"""

from __future__ import annotations

import functools
import sys
import typing as t

from .term import warn

if t.TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "ADAPTERS",
    "COMMANDS",
    "FLASK_COMMANDS",
    "REPLS",
    "SHELL_CONTEXT",
    "entry_points",
    "load",
    "load_all",
    "report_broken",
]

COMMANDS = "appshell.commands"
FLASK_COMMANDS = "flask.commands"
ADAPTERS = "appshell.adapters"
REPLS = "appshell.repls"
SHELL_CONTEXT = "appshell.shell_context"

_loaded: dict[tuple[str, str], t.Any] = {}
_broken: dict[tuple[str, str], BaseException] = {}


@functools.cache
def _all_entry_points() -> t.Any:
    # One scan of the installed distributions per process, for every group at once.
    from importlib.metadata import entry_points as read

    return read()


def entry_points(group: str) -> dict[str, EntryPoint]:
    """The entry points of ``group`` by name (first one wins), without importing any."""
    found: dict[str, EntryPoint] = {}
    for ep in _all_entry_points().select(group=group):
        if group == FLASK_COMMANDS and ep.value.split(":")[0].split(".")[0] == "appshell":
            continue
        found.setdefault(ep.name, ep)
    return found


def report_broken(group: str, name: str, error: BaseException) -> None:
    """Say once, in one line on stderr, that plugin ``name`` of ``group`` is left out."""
    key = (group, name)
    if key in _broken:
        return
    _broken[key] = error
    ep = entry_points(group).get(name)
    where = f" ({ep.value})" if ep is not None else ""
    warn(
        f"plugin {name!r}{where} in {group!r} failed to load and is left out:"
        f" {type(error).__name__}: {error}"
    )


def load(group: str, name: str) -> t.Any | None:
    """Import and return plugin ``name`` of ``group``; None (reported) if it is broken."""
    key = (group, name)
    if key in _loaded:
        return _loaded[key]
    if key in _broken:
        return None
    ep = entry_points(group).get(name)
    if ep is None:
        return None
    try:
        obj = ep.load()
    except Exception as e:
        report_broken(group, name, e)
        return None
    _loaded[key] = obj
    return obj


def load_all(group: str) -> list[t.Any]:
    """Every plugin of ``group`` that loads, in name order."""
    return [obj for name in sorted(entry_points(group)) if (obj := load(group, name)) is not None]


def flask_installed() -> bool:
    """Whether Flask can be imported here (checked without importing it)."""
    if "flask" in sys.modules:
        return True
    from importlib.util import find_spec

    return find_spec("flask") is not None


def reset() -> None:
    """Forget everything read and loaded (for tests that install plugins on the fly)."""
    _all_entry_points.cache_clear()
    _loaded.clear()
    _broken.clear()
