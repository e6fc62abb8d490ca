"""ptpython, with the user's config file, a history file, and ``await`` on one session loop.

ptpython hands each input to its REPL's public ``eval`` method and prints what it returns.
appshell's repl answers that call with the session's own evaluation (:class:`SessionLoop`):
every statement runs in the one session context and every ``await`` on the one session loop,
so a context variable or request context set by one statement is there for the next
(ptpython's own async mode starts each statement as a new task, in a copy of the context).
While the prompt waits, the session loop runs on the main thread and ptpython's interface
in its own: tasks go on, and synchronous statements still run with no loop running.
"""

from __future__ import annotations

import os
import sys
import typing as t

from ...exceptions import AppShellError, AppShellUsageError, OneLineError, format_at_prompt
from ...loop import SessionLoop
from ...term import warn
from .base import BaseBackend, ShellSettings, history_file

if t.TYPE_CHECKING:
    from types import CodeType


def config_file() -> str:
    """ptpython's config file: ``$PTPYTHON_CONFIG_HOME/config.py``, else the XDG one."""
    home = os.environ.get("PTPYTHON_CONFIG_HOME")
    if not home:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        home = os.path.join(base, "ptpython")
    return os.path.join(home, "config.py")


def compile_input(source: str, flags: int) -> tuple[CodeType, bool]:
    """``source`` typed at the prompt, compiled once, and whether it is a lone expression.

    A lone expression is compiled so that running it gives its value, which the REPL shows;
    anything else (statements, or an expression ended by ``;``) runs for its effect. Top-level
    ``await`` is allowed; ``flags`` are the ``__future__`` features the session turned on.
    """
    import ast

    flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(source, "<stdin>", "exec", flags | ast.PyCF_ONLY_AST, dont_inherit=True)
    body = tree.body
    if len(body) == 1 and isinstance(body[0], ast.Expr) and not source.rstrip().endswith(";"):
        expression = ast.Expression(body[0].value)
        return compile(expression, "<stdin>", "eval", flags, dont_inherit=True), True
    return compile(tree, "<stdin>", "exec", flags, dont_inherit=True), False


def make_repl(session: SessionLoop, **options: t.Any) -> t.Any:
    """A ptpython REPL (``options`` as for ``PythonRepl``) that evaluates through ``session``."""
    from ptpython.repl import PythonRepl

    class SessionRepl(PythonRepl):
        def read(self) -> str:
            # ptpython reads in a thread of its own; meanwhile the session loop runs here,
            # and what its tasks print is written above the prompt.
            if not session.started:
                return super().read()
            from prompt_toolkit.patch_stdout import patch_stdout

            try:
                with patch_stdout(raw=True):
                    return t.cast(str, session.run_while(super().read))
            except SystemExit as e:
                # SIGTERM while the prompt waited. ptpython's run() reports anything its
                # read() raises and reads again, so end its prompt thread, leave run() as
                # at Ctrl-D, and let the backend end the session with this exit.
                self.ended_by = e
                _stop_prompt(self.app)
                raise EOFError from None

        def _handle_exception(self, e: BaseException) -> None:
            # appshell's own errors and refusals raised into the user's statement are their
            # one line here too, as at the other prompts.
            if isinstance(e, (AppShellError, AppShellUsageError, OneLineError)):
                sys.stderr.write(format_at_prompt(e))
                sys.stderr.flush()
                return
            super()._handle_exception(e)

        def _show_result(self, result: object) -> None:
            # Its repr in the session's context, where the statement ran: a proxy over a
            # context variable shows what it stands for there.
            session.call(super()._show_result, result)

        def eval(self, line: str) -> object:
            command = line.lstrip()
            if command.startswith("!"):  # a system command, as ptpython's own prompt has
                os.system(command[1:])
                return None
            code, is_expression = compile_input(line, self.get_compiler_flags())
            try:
                value = session.run(code, self.get_globals(), self.get_locals())
            finally:
                session.prompt_statement_done()
            if not is_expression:
                return None
            # `_` and `_N` (N the Out[N] of the ipython prompt style) name the last results.
            names = self.get_locals()
            names["_"] = names[f"_{self.current_statement_index}"] = value
            return value

    return SessionRepl(**options)


def _mark_prompts(repl: t.Any, marker: str) -> None:
    """Every prompt style of ``repl`` (the user's config may pick any) starts with
    ``[marker]``."""
    from prompt_toolkit.formatted_text import to_formatted_text
    from ptpython.prompt_style import PromptStyle

    class Marked(PromptStyle):
        def __init__(self, style: t.Any) -> None:
            self.style = style

        def in_prompt(self) -> t.Any:
            own = to_formatted_text(self.style.in_prompt())
            return [("bold ansiyellow", f"[{marker}] "), *own]

        def in2_prompt(self, width: int) -> t.Any:
            return self.style.in2_prompt(width)

        def out_prompt(self) -> t.Any:
            return self.style.out_prompt()

    for name, style in list(repl.all_prompt_styles.items()):
        repl.all_prompt_styles[name] = Marked(style)


def _stop_prompt(app: t.Any, seconds: float = 2.0) -> None:
    """Ask prompt_toolkit's application, running in ptpython's reading thread, to end, and
    wait (a little) until it has put the terminal back as it found it."""
    import time

    loop = getattr(app, "loop", None)
    if not app.is_running or loop is None:
        return
    loop.call_soon_threadsafe(lambda: app.exit(exception=EOFError()) if app.is_running else None)
    deadline = time.monotonic() + seconds
    while app.is_running and time.monotonic() < deadline:
        time.sleep(0.01)


class PtpythonBackend(BaseBackend):
    """ptpython's REPL (``pip install 'appshell[ptpython]'``)."""

    name = "ptpython"
    module = "ptpython"
    distribution = "ptpython"
    install_hint = "pip install 'appshell[ptpython]'"

    def run(self, namespace: dict[str, t.Any], banner: str, settings: ShellSettings) -> None:
        if sys.stdin is None:  # no input at all (stdin closed): nothing to read, as at EOF
            return
        from ptpython.repl import run_config

        history = history_file("ptpython_history") if settings.history else None
        session = settings.session or SessionLoop()
        repl = make_repl(
            session,
            get_globals=lambda: namespace,
            get_locals=lambda: namespace,
            history_filename=str(history) if history else None,
        )
        config = config_file()
        if os.path.isfile(config):
            session.call(run_config, repl, config)  # in the context the statements see
        for option, value in settings.ptpython_options.items():
            if not hasattr(repl, option):
                warn(f"ptpython has no option {option!r}; it is ignored.")
                continue
            setattr(repl, option, value)

        if settings.prompt_marker:
            _mark_prompts(repl, settings.prompt_marker)
        if settings.banner and banner:
            sys.stdout.write(banner.rstrip("\n") + "\n")
            sys.stdout.flush()
        try:
            repl.run()
            ended_by = getattr(repl, "ended_by", None)
            if ended_by is not None:
                raise ended_by
        finally:
            if session is not settings.session:
                session.close()
