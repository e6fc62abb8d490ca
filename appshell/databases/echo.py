"""The shell's ``sql`` object: it counts the statements the app's databases run, prints each
one to stderr while echo is on, and after each prompt statement names a query that ran once
per row (the N+1 finder).

It knows no ORM: an integration's hook (``appshell.databases.sqlalchemy.echo`` for
SQLAlchemy) calls :meth:`SQLEcho.record` once per statement the driver ran, and names the
folders of its ORM with :meth:`SQLEcho.skip_frames_in`, so that the line shown as the cause
of a statement is the user's, not the ORM's.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import typing as t

from ..exceptions import OneLineError

if t.TYPE_CHECKING:
    from types import CodeType, FrameType

__all__ = ["SQLEcho", "Statement", "register_ipython_magic", "unregister_ipython_magic"]

#: appshell's own frames are never the cause of a statement.
_APPSHELL = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: Code an ORM compiles at run time, named like ``<sqlalchemy generated warned() wrapper for
#: ...Session._flush>``: the wrappers a flush and a commit run through (attrs names its own
#: ``<attrs generated init ...>``).
_GENERATED = r"<[\w.-]+ generated "  # compiled on first use


def _library_folders() -> tuple[str, ...]:
    """The folders whose code is never the user's: the standard library's and every
    site-packages folder (a virtualenv's inside the project's folder too), each ending with
    a separator. The project's own code, installed in editable mode, stays where it is and
    is not in any of them."""
    # Asked of site (imported at start-up already), not sysconfig, whose path table costs
    # more than the rest of a session's database set-up.
    import site

    found = [os.path.dirname(os.__file__)]
    getsitepackages = getattr(site, "getsitepackages", None)
    if getsitepackages is not None:
        found += getsitepackages()
    found.append(site.getusersitepackages())
    # Folders put on sys.path by hand or by another interpreter's .pth file.
    found += [
        entry
        for entry in sys.path
        if os.path.basename(entry.rstrip(os.sep)) in ("site-packages", "dist-packages")
    ]
    folders: list[str] = []
    for folder in found:
        for spelling in {os.path.abspath(folder), os.path.realpath(folder)}:
            if (shown := os.path.join(spelling, "")) not in folders:
                folders.append(shown)
    return tuple(folders)


def _click_folder() -> tuple[str, ...]:
    """click's folder: a command run with ``cli(...)`` reaches the ORM through it."""
    file = getattr(sys.modules.get("click"), "__file__", None)
    return (os.path.join(os.path.dirname(os.path.abspath(file)), ""),) if file else ()


_IPYTHON_CELL = r"<ipython-input-(\d+)-[0-9a-f]+>"  # compiled on first use
#: How much of a statement's parameters a printed statement shows.
_PARAMETERS_SHOWN = 300


class Statement:
    """One statement a database ran, as ``sql.last`` shows it.

    :param sql: the SQL as sent to the driver.
    :param parameters: its parameters (for ``many``, the list of parameter sets).
    :param duration: how long the driver took, in seconds.
    :param database: the name of the database (the bind name, ``"default"``).
    :param line: the user's line that caused it (``"fix.py:12"``), None when none was found.
    :param many: run once per parameter set (``executemany``).
    :param error: the error the database raised, if it failed.
    :param at: instead of ``line``, where the user's frame was (see :data:`_Where`), made
        into ``line`` when first asked for: most statements' lines are never shown.

    A plain class (not a dataclass, whose making costs start-up in every session that has
    a database).
    """

    __slots__ = ("_at", "_line", "database", "duration", "error", "many", "parameters", "sql")

    def __init__(
        self,
        sql: str,
        parameters: t.Any,
        duration: float,
        database: str,
        line: str | None = None,
        many: bool = False,
        error: str | None = None,
        *,
        at: _Where | None = None,
    ) -> None:
        self.sql = sql
        self.parameters = parameters
        self.duration = duration
        self.database = database
        self._line = line
        self._at = at
        self.many = many
        self.error = error

    @property
    def line(self) -> str | None:
        """The user's line that caused it (``"fix.py:12"``), None when none was found."""
        if self._at is not None:
            self._line, self._at = _shown_at(self._at), None
        return self._line

    def __repr__(self) -> str:
        where = f" at {self.line}" if self.line else ""
        failed = f", failed: {self.error}" if self.error else ""
        return (
            f"<Statement on {self.database}{where}, {_duration(self.duration)}{failed}:"
            f" {_one_line(self.sql, 80)!r} {_parameters(self.parameters, self.many)}>"
        )


#: Where the user's frame that caused a statement was: its code object and the offset of its
#: instruction. The line number and the file's shown name are worked out (:func:`_shown_at`)
#: only when a line is shown (echo, the N+1 line, ``sql.last.line``), not for every
#: statement; the code object, not the frame, so that none of the frame's locals is kept.
_Where = tuple["CodeType", int]


#: A statement as :meth:`SQLEcho.record` keeps it: the SQL, its parameters, duration,
#: database, where (a :data:`_Where`), many, and its error's line.
_Last = tuple[str, t.Any, float, str, "_Where | None", bool, "str | None"]


def _statement(last: _Last) -> Statement:
    sql, parameters, duration, database, where, many, error = last
    return Statement(sql, parameters, duration, database, None, many, error, at=where)


def _line_at(where: _Where | None) -> str | None:
    return None if where is None else _shown_at(where)


def _shown_at(where: _Where, folder: str | None = None) -> str:
    """``file:line`` of a :data:`_Where`, the file shown relative to ``folder`` (the working
    folder when None) where it is inside it."""
    code, offset = where
    if folder is None:
        folder = os.getcwd()
    # Echo shows the same few lines again and again: each (code, offset)'s text is worked
    # out once per folder (the line table is walked in Python).
    key = (id(code), offset)
    known = _LINES.get(key)
    if known is not None and known[0] is code and known[1] == folder:
        return known[2]
    if len(_LINES) > 10_000:  # each prompt's code is new: keep no more than a session's
        _LINES.clear()
    lineno = None
    for start, end, line in code.co_lines():
        if start <= offset < end:
            lineno = line
            break
    if lineno is None:  # an instruction with no line of its own
        lineno = code.co_firstlineno
    shown = f"{_file_shown(code.co_filename)}:{lineno}"
    _LINES[key] = (code, folder, shown)
    return shown


#: Each (id of a code object, offset) shown: the code object (so that the id stays its own),
#: the folder it was shown relative to, and the ``file:line`` text.
_LINES: dict[tuple[int, int], tuple[CodeType, str, str]] = {}


class _Repeats:
    """What the N+1 finder keeps about one SQL text since the last prompt statement."""

    __slots__ = ("count", "distinct", "duration", "where")

    def __init__(self, where: _Where | None) -> None:
        self.count = 0
        self.duration = 0.0
        #: Where the text's first statement came from, the line the N+1 line names.
        self.where = where
        #: The parameter sets seen (two are enough to tell "with different parameters").
        self.distinct: set[str] = set()


class _EchoValueError(OneLineError, TypeError):
    """A value ``sql.echo`` cannot take: the user's mistake, shown as its one line."""

    shown_as = "TypeError"


class SQLEcho:
    """The shell's ``sql`` name: statement echo, counts, and the N+1 finder.

    :param threshold: the N+1 finder names an SQL text that ran this many times (with
        different parameters) in one prompt statement; 0 turns it off.
    :param echo: print each statement from the start (``--sql``).
    """

    def __init__(self, *, threshold: int = 10, echo: bool = False) -> None:
        if threshold < 0:
            raise ValueError(f"the N+1 threshold is a count of statements, not {threshold!r}")
        self.threshold = threshold
        self._echo = bool(echo)
        self._lock = threading.Lock()
        self._count = 0
        #: The last statement, as record() keeps it (a tuple, see _Last) until sql.last
        #: makes it a Statement.
        self._last: Statement | _Last | None = None
        self._repeats: dict[str, _Repeats] = {}
        self._skipped: tuple[str, ...] = (_APPSHELL, *_library_folders(), *_click_folder())
        self._generated: re.Pattern[str] | None = None
        #: Whether a frame of each file seen is never the user's: the walk outwards asks
        #: this once per file, not once per frame of every statement.
        self._skips: dict[str, bool | object] = {}
        #: The stream echo last wrote to, and whether it is coloured (asked again when the
        #: stream changes or echo is switched on).
        self._colored: tuple[t.Any, bool] | None = None
        #: The working folder echo shows files relative to (see _working_folder).
        self._folder: str | None = None

    # -- what the user sees ------------------------------------------------------------------

    @property
    def echo(self) -> bool:
        """Whether each statement is printed to stderr as it runs."""
        return self._echo

    @echo.setter
    def echo(self, value: bool) -> None:
        if not isinstance(value, (bool, int)):
            raise _EchoValueError(f"sql.echo is True or False, not {value!r}")
        self._echo = bool(value)
        self._colored = self._folder = None

    @property
    def count(self) -> int:
        """How many statements ran since the session began (or the last :meth:`reset`)."""
        return self._count

    @property
    def last(self) -> Statement | None:
        """The last statement that ran, None before the first."""
        with self._lock:
            last = self._last
            if isinstance(last, tuple):
                last = self._last = _statement(last)
            return last

    def reset(self) -> None:
        """Start counting again from 0 (and forget the last statement)."""
        with self._lock:
            self._count = 0
            self._last = None
            self._repeats.clear()

    def __repr__(self) -> str:
        state = "on" if self._echo else "off"
        toggle = "False" if self._echo else "True"
        statements = "1 statement" if self._count == 1 else f"{self._count} statements"
        return f"<sql echo {state}, {statements} so far; sql.echo = {toggle} to switch>"

    # -- what an ORM integration calls -------------------------------------------------------

    def skip_frames_in(self, *folders: str) -> None:
        """Never show a line of a file in ``folders`` (an ORM's packages) as the cause of a
        statement."""
        extra = tuple(os.path.join(os.path.abspath(folder), "") for folder in folders)
        self._skipped = (*self._skipped, *(f for f in extra if f not in self._skipped))
        self._skips = {}

    def record(
        self,
        statement: str,
        parameters: t.Any,
        duration: float,
        database: str,
        *,
        many: bool = False,
        error: BaseException | None = None,
    ) -> None:
        """Count one statement the driver ran (call it from the thread that ran it, after it
        ran: the user's line is found on the calling stack), and print it while echo is on.

        :param duration: how long it took, in seconds.
        :param database: the database's name (the bind name).
        :param many: ``parameters`` is a list of parameter sets (``executemany``).
        :param error: what the database raised, when the statement failed.
        """
        # Run for every statement, so kept to the few steps the count, sql.last and the N+1
        # line need. Finding the user's frame (which makes a frame object of each frame it
        # walks) is done only when a line is shown: with echo on, and for the first statement
        # of each SQL text since the last prompt statement, whose line the N+1 line names;
        # a repeat of the text is given that line (sql.last names the same line as the N+1
        # line). The line number and the Statement are made only when shown or asked for.
        repeats = self._repeats.get(statement) if self.threshold else None
        found = repeats is None or self._echo
        where = self._where(sys._getframe(1)) if found else repeats.where  # type: ignore[union-attr]
        failed = None if error is None else f"{type(error).__name__}: {error}".splitlines()[0]
        done = (statement, parameters, duration, database, where, many, failed)
        with self._lock:
            self._count += 1
            self._last = done
            if self.threshold:
                repeats = self._repeats.get(statement)
                if repeats is None:
                    repeats = self._repeats[statement] = _Repeats(where)
                repeats.count += 1
                repeats.duration += duration
                if len(repeats.distinct) < 2:
                    repeats.distinct.add(_shown(parameters, _PARAMETERS_SHOWN))
        if self._echo:
            stream = sys.stderr
            if stream is not None:  # None: stderr closed, nowhere to echo to
                folder = self._folder or self._working_folder()
                _write(_format(done, self._color(stream), folder), stream)

    def _working_folder(self) -> str:
        """The working folder echo shows files relative to: read once per prompt statement
        (or once for a script), not for every statement."""
        folder = self._folder = os.getcwd()
        return folder

    def _color(self, stream: t.Any) -> bool:
        """Whether echo colours what it writes to ``stream``."""
        colored = self._colored
        if colored is None or colored[0] is not stream:
            from ..term import use_color

            colored = self._colored = (stream, stream is sys.stderr and use_color(err=True))
        return colored[1]

    def after_statement(self) -> str | None:
        """The N+1 finder, called after each prompt statement: one line for each SQL text
        that ran at least ``threshold`` times with different parameters since the last
        call, naming it with its count and total time; None when there is none."""
        with self._lock:
            repeats, self._repeats = self._repeats, {}
        self._folder = None  # the next statement may run in another folder (os.chdir)
        if not self.threshold:
            return None
        lines = [
            f"N+1? {found.count} times in one statement{_from(_line_at(found.where))}"
            f" ({_duration(found.duration)} in all): {_one_line(sql, 120)}"
            for sql, found in repeats.items()
            if found.count >= self.threshold and len(found.distinct) > 1
        ]
        return "\n".join(lines) or None

    def user_line(self, frame: FrameType | None) -> str | None:
        """The first frame from ``frame`` outwards that is the user's, as ``file:line``; None
        when none is. Not the user's: appshell's frames, the standard library's, those of
        every site-packages folder and of a folder given to :meth:`skip_frames_in`, and code
        a library generated (an ORM's wrappers)."""
        where = self._where(frame)
        return None if where is None else _shown_at(where)

    def _where(self, frame: FrameType | None) -> _Where | None:
        """Where the first frame from ``frame`` outwards that is the user's is (across the
        greenlets an asyncio ORM runs in), None when none is."""
        where = self._first_users(frame)
        greenlet = sys.modules.get("greenlet")
        if where is not None or greenlet is None:
            return where
        # An asyncio ORM (as SQLAlchemy's) runs the driver in a greenlet whose stack ends
        # where the user's is suspended: the parents' stacks, outwards.
        parent = greenlet.getcurrent().parent
        while where is None and parent is not None:
            where, parent = self._first_users(parent.gr_frame), parent.parent
        return where

    def _first_users(self, frame: FrameType | None) -> _Where | None:
        """The first frame of the user's from ``frame`` outwards in one stack: one dictionary
        look-up per frame, each file's verdict made once (see :meth:`_skipped_file`)."""
        skips = self._skips
        while frame is not None:
            code = frame.f_code
            skipped = skips.get(code.co_filename)
            if skipped is None:
                skipped = skips[code.co_filename] = self._skipped_file(code.co_filename)
            if skipped is _BY_MODULE:
                skipped = self._skipped_module(frame.f_globals.get("__name__"))
            if not skipped:
                return (code, frame.f_lasti)
            frame = frame.f_back
        return None

    def _skipped_file(self, filename: str) -> bool | object:
        """Whether no frame of ``filename`` is ever the user's; :data:`_BY_MODULE` for code
        with no file, whose module tells."""
        if filename.startswith(self._skipped) or filename.startswith("<frozen"):
            return True
        if filename.startswith("<"):
            if self._generated is None:
                self._generated = re.compile(_GENERATED)
            return self._generated.match(filename) is not None or _BY_MODULE
        return False

    def _skipped_module(self, name: object) -> bool:
        """Whether code with no file, run with the globals of module ``name``, is a
        library's: a wrapper a library compiled from a string (SQLAlchemy 2.0's
        ``<string>`` methods of its sessions) runs in its module's globals; the user's
        ``-c``, stdin and cells run in ``__main__``'s or the shell's namespace."""
        module = sys.modules.get(name) if isinstance(name, str) else None
        file = getattr(module, "__file__", None)
        return isinstance(file, str) and file.startswith(self._skipped)


#: The verdict of a file with no file (``<string>``): ask each frame's module.
_BY_MODULE = object()


def _file_shown(filename: str) -> str:
    """A file as a line of echo names it: relative to the working folder when inside it,
    ``In [3]`` for an IPython cell, ``<stdin>`` and ``<string>`` as they are."""
    cell = re.fullmatch(_IPYTHON_CELL, filename)
    if cell is not None:
        return f"In [{cell.group(1)}]"
    if filename.startswith("<"):
        return filename
    named = _kernel_cell(filename)
    if named is not None:
        return named
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith(os.pardir + os.sep) else relative


def _kernel_cell(filename: str) -> str | None:
    """``In [3]`` for a file a Jupyter kernel compiled a cell to (``/tmp/ipykernel_…/….py``),
    as the running IPython names it (``format_code_name``), else None."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    compiler = getattr(get_ipython(), "compile", None)
    name_of = getattr(compiler, "format_code_name", None)
    named = name_of(filename) if callable(name_of) else None
    if not named:
        return None
    return str(named[1]).replace("In[", "In [", 1)


def _from(line: str | None) -> str:
    return f" from {line}" if line else ""


def _duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    milliseconds = seconds * 1000
    return f"{milliseconds:.2f} ms" if milliseconds < 10 else f"{milliseconds:.1f} ms"


def _one_line(sql: str, width: int) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _shown(value: t.Any, width: int) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _parameters(parameters: t.Any, many: bool) -> str:
    if many:
        sets = len(parameters) if hasattr(parameters, "__len__") else "?"
        return f"{sets} parameter sets {_shown(parameters, _PARAMETERS_SHOWN)}"
    if not parameters:
        return "no parameters"
    return _shown(parameters, _PARAMETERS_SHOWN)


def _format(done: _Last, color: bool, folder: str) -> str:
    """A statement as echo prints it: a header (database, the user's line, its file shown
    relative to ``folder``, duration), the SQL as the ORM wrote it, then its parameters (and
    its error, if it failed)."""
    text, parameters, duration, database, at, many, error = done
    where = f"  {_shown_at(at, folder)}" if at is not None else ""
    header = f"-- [{database}]{where}  {_duration(duration)}"
    sql = _TEXTS.get(text)
    if sql is None:  # an ORM echoes the same few texts again and again: each tidied once
        if len(_TEXTS) >= 1024:
            _TEXTS.clear()
        sql = _TEXTS[text] = "\n".join(line.rstrip() for line in text.strip().splitlines())
    footer = f"-- {_parameters(parameters, many)}"
    if color:
        header, footer = _paint(header, "36"), _paint(footer, "2")
    if error:
        failed = f"-- failed: {error}"
        return f"{header}\n{sql}\n{footer}\n{_paint(failed, '31') if color else failed}"
    return f"{header}\n{sql}\n{footer}" if sql else f"{header}\n{footer}"


#: Each SQL text echoed, as shown (see :func:`_format`).
_TEXTS: dict[str, str] = {}


def _paint(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def _write(text: str, stream: t.Any) -> None:
    stream.write(text + "\n")
    if not getattr(stream, "line_buffering", False):  # a terminal's stderr shows it now
        stream.flush()


def register_ipython_magic(shell: t.Any, sql: SQLEcho) -> None:
    """Give a running IPython ``shell`` the line magic ``%sql_echo on|off`` switching
    ``sql``'s echo (alone: show ``sql``). Call it only for a session that has a database."""

    def sql_echo(line: str) -> None:
        """%sql_echo on|off: print each SQL statement as it runs, or stop; alone, show the
        state and the count."""
        word = line.strip().lower()
        if word in ("on", "off"):
            sql.echo = word == "on"
        elif word:
            from ..exceptions import MagicError

            raise MagicError(f"%sql_echo takes on or off, not {line.strip()!r}.")
        print(repr(sql))

    shell.register_magic_function(sql_echo, "line", "sql_echo")


def unregister_ipython_magic(shell: t.Any) -> None:
    """Remove ``%sql_echo`` from ``shell`` (what :func:`register_ipython_magic` added)."""
    shell.magics_manager.magics["line"].pop("sql_echo", None)
