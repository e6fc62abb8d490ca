"""What every REPL backend is, and what they share: settings, history files, the session loop.

A backend is given a finished namespace and a banner; it never looks at the app.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import sys
import types
import typing as t
from pathlib import Path

from ...term import warn

if t.TYPE_CHECKING:
    from types import CodeType

    from ...profiles import Profile

# inspect.CO_COROUTINE, without importing inspect: set on code that awaits at top level.
_CO_COROUTINE = 0x0080

__all__ = ["Backend", "BaseBackend", "SessionLoop", "ShellSettings", "history_file", "state_dir"]


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


class SessionLoop:
    """One event loop and one context for a whole session, so ``await`` keeps state.

    Every statement runs in the same :class:`contextvars.Context`, and a statement that
    awaits runs as a task of the same loop in that context: a context variable set by one
    statement (an app or request context pushed at the prompt) is there for the next.
    """

    def __init__(self) -> None:
        self.context = contextvars.copy_context()
        self._loop: t.Any = None

    @property
    def loop(self) -> t.Any:
        """The session's event loop, made when first needed (asyncio is not cheap to import)."""
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop

    def run(self, code: CodeType, globals: dict[str, t.Any], locals: t.Any = None) -> t.Any:
        """Evaluate compiled ``code``; if it awaits, run it to completion on the loop."""
        if self._loop is not None:
            import asyncio

            # Code that asks for "the" event loop gets the session's.
            asyncio.set_event_loop(self._loop)
        result = self.context.run(eval, code, globals, locals if locals is not None else globals)
        if _CO_COROUTINE & code.co_flags and isinstance(result, types.CoroutineType):
            result = self.complete(result)
        return result

    def complete(self, coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
        """Run ``coroutine`` on the session loop in the session context."""
        import asyncio

        loop = self.loop
        asyncio.set_event_loop(loop)
        task = loop.create_task(coroutine, context=self.context)
        try:
            return loop.run_until_complete(task)
        except KeyboardInterrupt:
            # Ctrl-C while the loop waited: cancel the task and let it finish. (If the
            # coroutine itself was interrupted, the task is done already: running the loop
            # again would never return.)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
            raise

    def close(self) -> None:
        """Cancel what is left on the loop and close it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        import asyncio

        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def stdout_is_terminal() -> bool:
    """Whether output goes to a terminal (colour, interactive niceties)."""
    return sys.stdout.isatty()
