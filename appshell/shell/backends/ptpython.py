"""ptpython, with the user's config file, a history file, and ``await`` on one session loop.

ptpython's own async mode runs each statement as a new task (losing context variables set
by the one before) and its plain ``embed()`` cannot ``await``; the repl here runs every
statement in one context and every ``await`` on one loop (:class:`SessionLoop`).
"""

from __future__ import annotations

import os
import sys
import typing as t

from ...term import warn
from ..session import SessionLoop
from .base import BaseBackend, ShellSettings, history_file


def config_file() -> str:
    """ptpython's config file: ``$PTPYTHON_CONFIG_HOME/config.py``, else the XDG one."""
    home = os.environ.get("PTPYTHON_CONFIG_HOME")
    if not home:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        home = os.path.join(base, "ptpython")
    return os.path.join(home, "config.py")


def _session_repl_class() -> type[t.Any]:
    from ptpython.repl import PythonRepl

    class SessionRepl(PythonRepl):
        def __init__(self, *args: t.Any, session: SessionLoop, **kwargs: t.Any) -> None:
            self.session = session
            super().__init__(*args, **kwargs)

        def eval(self, line: str) -> object:
            if line.lstrip().startswith("!"):
                os.system(line.lstrip()[1:])
                return None
            try:
                code = self._compile_with_flags(line, "eval")
            except SyntaxError:
                pass
            else:
                result = self.session.run(code, self.get_globals(), self.get_locals())
                self._store_eval_result(result)
                return result
            code = self._compile_with_flags(line, "exec")
            self.session.run(code, self.get_globals(), self.get_locals())
            return None

    return SessionRepl


class PtpythonBackend(BaseBackend):
    """ptpython's REPL (``pip install 'appshell[ptpython]'``)."""

    name = "ptpython"
    module = "ptpython"
    distribution = "ptpython"
    install_hint = "pip install 'appshell[ptpython]'"

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        from ptpython.repl import run_config

        history = history_file("ptpython_history") if settings.history else None
        session = settings.session or SessionLoop()
        repl = _session_repl_class()(
            get_globals=lambda: namespace,
            get_locals=lambda: namespace,
            history_filename=str(history) if history else None,
            session=session,
        )
        config = config_file()
        if os.path.isfile(config):
            run_config(repl, config)
        for option, value in settings.ptpython_options.items():
            if not hasattr(repl, option):
                warn(f"ptpython has no option {option!r}; it is ignored.")
                continue
            setattr(repl, option, value)

        if settings.banner and banner:
            sys.stdout.write(banner.rstrip("\n") + "\n")
            sys.stdout.flush()
        try:
            repl.run()
        finally:
            if session is not settings.session:
                session.close()
