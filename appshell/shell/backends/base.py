"""What every REPL backend is, and what they share: settings and history files.

A backend is given a finished namespace and a banner; it never looks at the app.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing as t
from pathlib import Path

from ...term import warn

if t.TYPE_CHECKING:
    from ...loop import SessionLoop
    from ...profiles import Profile

__all__ = ["Backend", "BaseBackend", "ShellSettings", "history_file", "state_dir"]


def state_dir() -> Path:
    """``$XDG_STATE_HOME/appshell`` (``~/.local/state/appshell`` when unset)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "appshell"


def history_file(name: str) -> Path | None:
    """The history file ``name`` in :func:`state_dir`, created private (0600) if missing.

    Returns None, after one warning line, when it cannot be created or written: the shell
    then starts without saving history.
    """
    path = state_dir() / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as e:
        warn(f"history is off for this session: cannot write {str(path)!r} ({e.strerror or e}).")
        return None
    return path


@dataclasses.dataclass
class ShellSettings:
    """How a backend should run, besides the namespace and the banner."""

    #: Keep a history file (the python and ptpython backends; IPython keeps its own).
    history: bool = True
    #: Whether the banner is shown.
    banner: bool = True
    #: IPython traitlets settings, ``{"TerminalInteractiveShell": {"confirm_exit": False}}``.
    ipython_config: dict[str, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    #: IPython extensions to load.
    ipython_extensions: list[str] = dataclasses.field(default_factory=list)
    #: Attributes set on the ptpython repl (``{"vi_mode": True}``).
    ptpython_options: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: The session's event loop, shared with a script that ran before (``-i``); a backend
    #: that gets None makes its own.
    session: SessionLoop | None = None
    #: Run ``$PYTHONSTARTUP`` (python backend): not after a script, as ``python -i``.
    pythonstartup: bool = True
    #: The profile the settings above come from, so that a message about one of them can
    #: name the profile and the file that set it; None when they come from nowhere else.
    profile: Profile | None = None
    #: Put in front of the prompt when set: ``SANDBOX``, ``READ-ONLY``.
    prompt_marker: str = ""
    #: The session's ``sql`` (an SQLEcho) when it has databases: IPython's ``%sql_echo``.
    sql: t.Any = None


@t.runtime_checkable
class Backend(t.Protocol):
    """A REPL appshell can start. Third-party ones register in ``appshell.repls``."""

    #: The name used with ``--repl``.
    name: t.ClassVar[str]
    #: The pip extra (of appshell) or requirement that installs it, for error messages.
    install_hint: t.ClassVar[str]

    def is_available(self) -> bool:
        """Whether it can run here; must not import the REPL package."""

    def version(self) -> str | None:
        """The REPL's version, or None when it is not installed."""

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        """Run the REPL on ``namespace`` until the user leaves it."""


class BaseBackend:
    """A backend whose REPL is the importable module ``module`` of distribution ``distribution``."""

    name: t.ClassVar[str] = ""
    module: t.ClassVar[str] = ""
    distribution: t.ClassVar[str] = ""
    install_hint: t.ClassVar[str] = ""

    def is_available(self) -> bool:
        from importlib.util import find_spec

        try:
            return find_spec(self.module) is not None
        except (ImportError, ValueError):  # blocked with sys.modules[name] = None
            return False

    def version(self) -> str | None:
        from ... import plugins

        return plugins.version(self.distribution) if self.is_available() else None

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        raise NotImplementedError


def stdout_is_terminal() -> bool:
    """Whether output goes to a terminal (colour, interactive niceties)."""
    return sys.stdout.isatty()
