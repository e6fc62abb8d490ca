"""The errors appshell raises, each with the exit code of DESIGN.md.

Every failure a user can cause ends in one of these: a short message and an exit code. The
user's own exceptions are not wrapped where they happen; the command line turns them into
:class:`UserCodeError` at the edge, so that the traceback printed is theirs, whole, with
appshell's, click's and importlib's frames in front of it removed.
"""

from __future__ import annotations

import os
import sys
import typing as t

import click

if t.TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "AppShellError",
    "AppShellUsageError",
    "EnvFileError",
    "LoopRunning",
    "MagicError",
    "NoAppConfigured",
    "NoAppException",
    "OneLineError",
    "ProfileError",
    "ProfileImportError",
    "ProviderError",
    "ReplNotAvailable",
    "ScriptError",
    "UserCodeError",
    "format_at_prompt",
]


def _error_prefix(file: t.IO[t.Any] | None) -> str:
    from .term import use_color

    # Coloured only on a terminal, and never under NO_COLOR (click strips it from pipes).
    if file is None and not use_color(err=True):
        return "Error:"
    return click.style("Error:", fg="red", bold=True)


class _OneParagraph:
    """How every appshell error is shown: ``Error: <message>`` on the command line (no usage
    line), one ``appshell: <message>`` line in IPython and Jupyter, whose full tracebacks
    for exceptions are appshell's frames, not the user's."""

    if t.TYPE_CHECKING:

        def format_message(self) -> str:  # click's exception classes give it
            ...

    def show(self, file: t.IO[t.Any] | None = None) -> None:
        click.echo(f"{_error_prefix(file)} {self.format_message()}", file=file, err=file is None)

    def _render_traceback_(self) -> list[str]:
        return [f"appshell: {self.format_message()}"]


class AppShellError(_OneParagraph, click.ClickException):
    """Something the user set up failed while appshell ran it (exit code 1)."""

    exit_code = 1


class AppShellUsageError(_OneParagraph, click.UsageError):
    """The user asked for something that cannot be done (exit code 2).

    Unlike click's :class:`~click.UsageError` the usage line is not repeated in front of
    the message: the message itself says what was wrong and what to do.
    """

    exit_code = 2


class NoAppException(AppShellUsageError):
    """No application could be found or loaded from what the user gave (exit code 2).

    The name and meaning are those of ``flask.cli.NoAppException``.
    """

    #: False when nothing at all was configured (no --app, no environment variable, no
    #: pyproject setting, no wsgi.py or app.py); help output then shows a hint, not an error.
    configured: bool = True


class NoAppConfigured(NoAppException):
    """Nothing tells appshell which app to load."""

    configured = False


class ReplNotAvailable(AppShellUsageError):
    """The REPL asked for is unknown or not installed (exit code 2)."""


class ProfileError(AppShellUsageError):
    """A profile is missing, or one of its files or keys is invalid (exit code 2)."""


class EnvFileError(AppShellUsageError):
    """The file given with ``--env-file`` cannot be read as text (exit code 2)."""


class ScriptError(AppShellUsageError):
    """The script given cannot be run at all: not found, a folder (exit code 2)."""


class MagicError(AppShellUsageError):
    """A mistake in the use of an IPython magic: one line in the output, the shell usable."""


class LoopRunning(AppShellUsageError):
    """What a session has to run on its event loop cannot be waited for here: this very
    code runs on that loop (a kernel's cell), and has to ``await`` it instead."""

    def __init__(self) -> None:
        super().__init__(
            "This has to run on the event loop that is running this code (the kernel's):"
            " await it instead (in a notebook, run %appshell as a line of its own with"
            " %autoawait on, or await appshell.attach(...) / appshell.detach())."
        )


class ProviderError(AppShellError):
    """A shell-context provider returned something that is not a mapping of names, or
    raised while ``--strict`` is on (exit code 1)."""


class ProfileImportError(AppShellError):
    """A profile's import names a module or a name that is not there (exit code 1)."""


class OneLineError(Exception):
    """An error appshell raises into the user's code whose message says all there is to say:
    a refusal of its sandbox or read-only setting, a wrong value given to one of its objects
    (``sql.echo = "on"``, ``cli.nosuch_cmd()``). A prompt, IPython and a script show it as
    its one line (a script then exits 1), never as a traceback through appshell's frames.
    """

    #: The name the line starts with, when not the class's own (``TypeError`` for a
    #: private subclass that is also a TypeError).
    shown_as: str | None = None

    def one_line(self) -> str:
        return f"{self.shown_as or type(self).__name__}: {self}"

    def _render_traceback_(self) -> list[str]:
        return [self.one_line()]


# Frames of these in front of the user's first frame are appshell's doing, not the user's:
# appshell, click, and asyncio (which runs a script's top-level await) with the selectors
# its loop waits in (found beside os.py, so that they are not imported for this).
_INTERNAL_PATHS = (
    *(os.path.dirname(os.path.abspath(path)) + os.sep for path in (__file__, click.__file__)),
    os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "asyncio") + os.sep,
    os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "selectors.py"),
)


def _is_internal(filename: str, also: tuple[str, ...] = ()) -> bool:
    return (
        filename.startswith(_INTERNAL_PATHS)
        or (bool(also) and filename.startswith(also))
        or filename.startswith("<frozen importlib")
        or os.path.basename(os.path.dirname(filename)) == "importlib"
    )


def trim_traceback(
    tb: TracebackType | None, internal: tuple[str, ...] = ()
) -> TracebackType | None:
    """Drop the frames of appshell, click and importlib in front of the user's first frame.

    When no frame of the traceback is the user's (a bug in appshell itself) the traceback
    is returned whole, so that the bug can be found.

    :param internal: more folders whose frames count as not the user's (the loader of a
        framework that imported the user's module).
    """
    current = tb
    while current is not None and _is_internal(current.tb_frame.f_code.co_filename, internal):
        current = current.tb_next
    return current if current is not None else tb


_APPSHELL_PATH = _INTERNAL_PATHS[0]


def _passes_through_appshell(tb: TracebackType) -> bool:
    filename = tb.tb_frame.f_code.co_filename
    if tb.tb_next is None or not filename.startswith(_APPSHELL_PATH):
        return False
    return not filename.startswith(os.path.join(_APPSHELL_PATH, "demo", ""))


def _skip_passing_frames(exc: BaseException | None, seen: set[int]) -> None:
    """Unlink appshell's frames that an exception only passed through on its way from the
    user's code to where it was raised (a database hook around each statement, the runner of
    ``cli(...)``), in ``exc`` and the exceptions chained to it. The frame it was raised in
    is always kept, so that a bug of appshell's still shows where it is."""
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        current = exc.__traceback__
        while current is not None and current.tb_next is not None:
            if _passes_through_appshell(current.tb_next):
                current.tb_next = current.tb_next.tb_next
            else:
                current = current.tb_next
        if exc.__context__ is not exc.__cause__:
            _skip_passing_frames(exc.__context__, seen)
        exc = exc.__cause__


def _end_at_users_frame(tb: TracebackType) -> None:
    """Cut from ``tb`` the appshell frames after the user's last one: the signal handler
    that raised Ctrl-C's KeyboardInterrupt in the user's code (python shows that code's
    frame last)."""
    last_users = None
    current: TracebackType | None = tb
    while current is not None:
        if not current.tb_frame.f_code.co_filename.startswith(_APPSHELL_PATH):
            last_users = current
        current = current.tb_next
    if last_users is not None:
        last_users.tb_next = None


def format_at_prompt(exc: BaseException) -> str:
    """What a prompt or a transcript shows for ``exc`` raised by a statement: appshell's own
    error raised into the user's code (a profile's import failing on first use, ``client``
    with no httpx, a sandbox's refusal) as its one line, anything else as the user's
    traceback."""
    if isinstance(exc, (AppShellError, AppShellUsageError, OneLineError)):
        return "\n".join(exc._render_traceback_()) + "\n"
    return format_user_exception(exc)


def format_user_exception(exc: BaseException, internal: tuple[str, ...] = ()) -> str:
    """The traceback of ``exc`` as Python prints it, from the user's first frame on, without
    the appshell frames it only passed through."""
    import traceback

    tb = trim_traceback(exc.__traceback__, internal)
    if tb is not None and not _is_internal(tb.tb_frame.f_code.co_filename, internal):
        _skip_passing_frames(exc, set())  # a user's traceback only, never a bug's of appshell
        if isinstance(exc, KeyboardInterrupt):
            _end_at_users_frame(tb)
    if (
        isinstance(exc, (SyntaxError, KeyboardInterrupt))
        and tb is not None
        and all(_is_internal(f.filename, internal) for f in traceback.extract_tb(tb))
    ):
        # A syntax error in an imported module: Python shows only the file, line and caret.
        # Ctrl-C while the event loop waited for an `await`: only the KeyboardInterrupt line.
        tb = None
    return "".join(traceback.format_exception(type(exc), exc, tb))


class UserCodeError(AppShellError):
    """The user's own code raised while appshell ran it (exit code 1).

    It is shown as the user's traceback, whole, from their first frame; ``original`` is the
    exception raised.

    :param internal: more folders whose frames in front of the user's are left out.
    """

    def __init__(self, original: BaseException, internal: tuple[str, ...] = ()) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original
        self.internal = internal

    def traceback_text(self) -> str:
        return format_user_exception(self.original, self.internal)

    def show(self, file: t.IO[t.Any] | None = None) -> None:
        out = file if file is not None else sys.stderr
        out.write(self.traceback_text())
        out.flush()

    def _render_traceback_(self) -> list[str]:
        return self.traceback_text().rstrip("\n").splitlines()
