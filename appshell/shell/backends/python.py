"""The stdlib REPL: ``code.InteractiveConsole``, with completion, history and ``await``."""

from __future__ import annotations

import ast
import contextlib
import os
import platform
import sys
import typing as t

from ...exceptions import format_at_prompt, format_user_exception
from ...loop import SessionLoop
from ...term import warn
from .base import BaseBackend, ShellSettings, history_file

if t.TYPE_CHECKING:
    from types import CodeType


def _console(namespace: dict[str, t.Any], session: SessionLoop) -> t.Any:
    """An InteractiveConsole whose statements may ``await``, on one loop for the session."""
    import code  # here, not at the top: scripts never need it

    class Console(code.InteractiveConsole):
        def raw_input(self, prompt: str = "") -> str:
            # What the session's tasks print while the prompt waits comes above it.
            with _above_prompt(prompt):
                return input(prompt)

        def runcode(self, compiled: CodeType) -> None:
            try:
                session.run(compiled, self.locals)
            except SystemExit:
                raise
            except BaseException:
                self.showtraceback()
            session.prompt_statement_done()

        def showtraceback(self) -> None:
            # As the stdlib does, but from the user's first frame: not appshell's or asyncio's.
            kind, value, tb = sys.exc_info()
            sys.last_type, sys.last_value, sys.last_traceback = kind, value, tb
            if value is not None:
                self.write(format_at_prompt(value))

    console = Console(namespace, filename="<console>")
    console.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return console


class _AbovePrompt:
    """``sys.stdout`` or ``sys.stderr`` while the prompt waits for a line: whole lines that
    another thread (the session loop's) writes go above the prompt, which is drawn again
    after them with what has been typed so far. The reading thread writes straight through.
    """

    def __init__(self, stream: t.Any, prompt: str, lock: t.Any) -> None:
        import threading

        self._stream = stream
        self._prompt = prompt
        self._lock = lock
        self._reader = threading.get_ident()
        self._partial = ""

    def write(self, text: str) -> int:
        import threading

        if threading.get_ident() == self._reader:
            return t.cast(int, self._stream.write(text))
        with self._lock:
            lines, newline, self._partial = (self._partial + text).rpartition("\n")
            if newline:
                self._stream.write(f"\r\x1b[K{lines}\n{self._prompt}{_typed_so_far()}")
                self._stream.flush()
        return len(text)

    def flush(self) -> None:
        import threading

        if threading.get_ident() == self._reader:
            self._stream.flush()

    def end(self) -> None:
        """The prompt is done: what is left of a line is written as it is."""
        with self._lock:
            if self._partial:
                self._stream.write(self._partial)
                self._partial = ""

    def __getattr__(self, name: str) -> t.Any:  # fileno, isatty, encoding: input() asks
        return getattr(self._stream, name)


def _typed_so_far() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - Python built without readline
        return ""
    return readline.get_line_buffer()


@contextlib.contextmanager
def _above_prompt(prompt: str) -> t.Iterator[None]:
    """While the block reads a line at ``prompt`` on a terminal, other threads' output is
    written above the prompt (:class:`_AbovePrompt`)."""
    import threading

    streams = (sys.stdout, sys.stderr)
    if not all(stream is not None and stream.isatty() for stream in streams):
        yield
        return
    lock = threading.Lock()
    sys.stdout, sys.stderr = proxies = tuple(_AbovePrompt(s, prompt, lock) for s in streams)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams
        for proxy in proxies:
            proxy.end()


def _enable_completion(namespace: dict[str, t.Any]) -> bool:
    """Tab completion of ``namespace``; False when this Python has no readline."""
    try:
        import readline
        import rlcompleter
    except ImportError:  # pragma: no cover - Python built without readline
        return False
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    if "libedit" in (readline.__doc__ or ""):  # pragma: no cover - macOS
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return True


class History:
    """The session's lines in readline's history file, added to it, never written over.

    Several sessions may be open at once: each one appends only the lines typed in it, when
    it ends (or its terminal is closed), so that no session's lines replace another's.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._saved = 0  # readline's history length when last saved (or loaded)

    def load(self) -> None:
        import readline

        with contextlib.suppress(OSError):
            readline.read_history_file(self.path)
        readline.set_history_length(10_000)  # the file is cut to this when appended to
        self._saved = readline.get_current_history_length()

    def save(self) -> None:
        """Append the lines typed since the last save; more calls add nothing twice."""
        import readline

        length = readline.get_current_history_length()
        new = length - self._saved
        if new <= 0:
            return
        try:
            readline.append_history_file(new, self.path)
        except OSError as e:
            warn(f"could not save history to {self.path!r}: {e.strerror or e}")
        self._saved = length


@contextlib.contextmanager
def _hangup_exits(before_exit: t.Callable[[], None]) -> t.Iterator[None]:
    """While in the block, a closed terminal (SIGHUP) calls ``before_exit`` (the history is
    saved at once), then ends the session as ``exit(129)`` would: the app is torn down."""
    import signal

    def hang_up(signum: int, frame: t.Any) -> None:
        before_exit()
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGHUP, hang_up)
    except (ValueError, AttributeError):  # not the main thread; no SIGHUP (Windows)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def _run_pythonstartup(namespace: dict[str, t.Any]) -> None:
    """Run ``$PYTHONSTARTUP`` as the python REPL (and ``flask shell``) does: if it raises,
    its traceback is shown and the prompt comes all the same."""
    startup = os.environ.get("PYTHONSTARTUP")
    if not startup or not os.path.isfile(startup):
        return
    try:
        with open(startup, "rb") as f:
            source = f.read()
        exec(compile(source, startup, "exec"), namespace)
    except SystemExit:
        raise
    except BaseException as e:
        sys.stderr.write(format_user_exception(e))
        sys.stderr.flush()


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
        if sys.stdin is None:  # no input at all (stdin closed): nothing to read, as at EOF
            return
        session = settings.session or SessionLoop()
        # PYTHONSTARTUP runs first (in the session's context, as the statements after it)
        # and the shell's names win, as in `flask shell`.
        names: dict[str, t.Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        if settings.pythonstartup:
            session.call(_run_pythonstartup, names)
        names.update(namespace)
        namespace.clear()
        namespace.update(names)

        path = history_file("python_history") if settings.history else None
        history = None
        if _enable_completion(namespace) and path is not None:
            history = History(str(path))
            history.load()
        for prompt, default in (("ps1", ">>> "), ("ps2", "... ")):
            if not hasattr(sys, prompt):
                setattr(sys, prompt, default)
        if settings.prompt_marker:
            sys.ps1 = f"[{settings.prompt_marker}] {sys.ps1}"

        try:
            with (
                _hangup_exits(history.save if history is not None else lambda: None),
                session.threaded(),  # the loop goes on in its own thread while input waits
            ):
                _console(namespace, session).interact(
                    banner=banner if settings.banner else "", exitmsg=""
                )
        finally:
            if session is not settings.session:
                session.close()
            if history is not None:
                history.save()
