"""The stdlib REPL: ``code.InteractiveConsole``, with completion, history and ``await``."""

from __future__ import annotations

import ast
import contextlib
import os
import platform
import sys
import typing as t

from ...exceptions import format_user_exception
from ...term import warn
from ..session import SessionLoop
from .base import BaseBackend, ShellSettings, history_file

if t.TYPE_CHECKING:
    from types import CodeType


def _console(namespace: dict[str, t.Any], session: SessionLoop) -> t.Any:
    """An InteractiveConsole whose statements may ``await``, on one loop for the session."""
    import code  # here, not at the top: scripts never need it

    class Console(code.InteractiveConsole):
        def runcode(self, compiled: CodeType) -> None:
            try:
                session.run(compiled, self.locals)
            except SystemExit:
                raise
            except BaseException:
                self.showtraceback()

        def showtraceback(self) -> None:
            # As the stdlib does, but from the user's first frame: not appshell's or asyncio's.
            kind, value, tb = sys.exc_info()
            sys.last_type, sys.last_value, sys.last_traceback = kind, value, tb
            if value is not None:
                self.write(format_user_exception(value))

    console = Console(namespace, filename="<console>")
    console.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return console


def _enable_completion(namespace: dict[str, t.Any], history: str | None) -> None:
    try:
        import readline
        import rlcompleter
    except ImportError:  # pragma: no cover - Python built without readline
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    if "libedit" in (readline.__doc__ or ""):  # pragma: no cover - macOS
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    if history is None:
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(10_000)


def _save_history(history: str) -> None:
    import readline

    try:
        readline.write_history_file(history)
    except OSError as e:
        warn(f"could not save history to {history!r}: {e.strerror or e}")


def _run_pythonstartup(namespace: dict[str, t.Any]) -> None:
    """Run ``$PYTHONSTARTUP`` as the python REPL (and ``flask shell``) does."""
    startup = os.environ.get("PYTHONSTARTUP")
    if not startup or not os.path.isfile(startup):
        return
    with open(startup, "rb") as f:
        source = f.read()
    exec(compile(source, startup, "exec"), namespace)


class PythonBackend(BaseBackend):
    """``code.InteractiveConsole``: always available."""

    name = "python"
    module = "code"
    distribution = ""
    install_hint = "it is part of Python"

    def is_available(self) -> bool:
        return True

    def version(self) -> str | None:
        return platform.python_version()

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        # PYTHONSTARTUP runs first and the shell's names win, as in `flask shell`.
        names: dict[str, t.Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        if settings.pythonstartup:
            _run_pythonstartup(names)
        names.update(namespace)
        namespace.clear()
        namespace.update(names)

        history = history_file("python_history") if settings.history else None
        _enable_completion(namespace, str(history) if history else None)
        for prompt, default in (("ps1", ">>> "), ("ps2", "... ")):
            if not hasattr(sys, prompt):
                setattr(sys, prompt, default)

        session = settings.session or SessionLoop()
        try:
            _console(namespace, session).interact(
                banner=banner if settings.banner else "", exitmsg=""
            )
        finally:
            if session is not settings.session:
                session.close()
            if history is not None:
                _save_history(str(history))
