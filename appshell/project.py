"""The project appshell runs in: the nearest ``pyproject.toml`` and its ``[tool.appshell]``.

Discovery asks it for ``app``, profiles for ``profile`` and ``profiles``: both come here, so
that a command parses the file once however many parts of appshell look at it. A file that
changed since it was parsed (a long-lived notebook kernel, a test) is parsed again.
"""

from __future__ import annotations

import os
import typing as t

from .exceptions import AppShellUsageError

__all__ = ["Project", "find_project", "find_upward", "read_toml"]

#: The pyproject files parsed so far: path -> ((mtime, size) when parsed, the project).
_parsed: dict[str, tuple[tuple[int, int], Project]] = {}


class Project:
    """A ``pyproject.toml`` and what it says to appshell.

    A plain class, not a NamedTuple: this module is imported by every command, ``--help``
    included, and making a NamedTuple class costs more than the rest of the module.
    """

    __slots__ = ("path", "settings", "tools")

    def __init__(
        self, path: str, settings: dict[str, t.Any], tools: dict[str, t.Any] | None = None
    ) -> None:
        #: The file, an absolute path.
        self.path = path
        #: Its ``[tool.appshell]`` table (empty when it has none). Shared: do not change.
        self.settings = settings
        #: Its whole ``[tool]`` table, for the settings of other tools appshell honours
        #: (``[tool.fastapi] entrypoint``). Shared: do not change.
        self.tools = tools if tools is not None else {}

    def __repr__(self) -> str:
        return f"Project({self.path!r})"

    @property
    def folder(self) -> str:
        """The folder the file is in: what relative settings are relative to."""
        return os.path.dirname(self.path)


def find_upward(filename: str, start: str | os.PathLike[str] | None = None) -> str | None:
    """The nearest file called ``filename`` in ``start`` (default: the working folder) or a
    folder above it, as an absolute path; None when there is none up to the root."""
    # os.path, not pathlib: this runs for every command, --help included, and pathlib's
    # import costs more than the whole search.
    folder = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, filename)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def read_toml(
    path: str | os.PathLike[str], error: type[AppShellUsageError] = AppShellUsageError
) -> dict[str, t.Any]:
    """Parse the TOML file ``path``.

    :param error: the exception to raise, so that a profile file fails as a profile error.
    :raises AppShellUsageError: (or ``error``) the file cannot be read, is not UTF-8 text
        (TOML is always UTF-8), or is not valid TOML; the message names the file.
    """
    import tomllib

    shown = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise error(f"Cannot read the file {shown!r}: {e.strerror or e}.") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise error(
            f"The file {shown!r} is not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start});"
            " TOML files must be UTF-8: save it again in that encoding."
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"The file {shown!r} is not valid TOML: {e}.") from None


def find_project(start: str | os.PathLike[str] | None = None) -> Project | None:
    """The project of the nearest ``pyproject.toml`` from ``start`` upward, or None.

    :raises AppShellUsageError: the file is unreadable, not UTF-8, not TOML, or its
        ``tool`` or ``tool.appshell`` is not a table.
    """
    path = find_upward("pyproject.toml", start)
    if path is None:
        return None
    stat = os.stat(path)
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    document = read_toml(path)
    tools = document.get("tool", {})
    project = Project(
        path, _appshell_table(path, document), tools if isinstance(tools, dict) else {}
    )
    _parsed[path] = (stamp, project)
    return project


def _appshell_table(path: str, document: dict[str, t.Any]) -> dict[str, t.Any]:
    tool = document.get("tool", {})
    table = tool.get("appshell", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise AppShellUsageError(
            f"In {path!r}: [tool.appshell] must be a table of appshell's settings, such as"
            ' app = "blog:create_app".'
        )
    return table
