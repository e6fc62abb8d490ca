"""Scripted sessions: ``-c CODE``, a script file, stdin, ``--echo`` transcripts, ``.ipy`` files.

A script runs with the shell's namespace as its globals and the app context pushed, and
behaves as ``python`` runs it: a real ``__main__`` module, ``sys.argv`` and ``sys.path[0]``
as Python sets them, the user's own traceback, the script's own exit code. Top-level
``await`` works: a script that awaits runs one top-level statement at a time, those that
await on the session's event loop (:class:`SessionLoop`, which the REPL of ``-i`` goes on
using), the others with no loop running, as at the prompt (Django's ORM refuses to run
inside a running loop).
"""

from __future__ import annotations

import ast
import contextlib
import errno
import io
import os
import sys
import types
import typing as t

from ..exceptions import AppShellError, AppShellUsageError, ScriptError, format_at_prompt
from ..loop import SessionLoop

if t.TYPE_CHECKING:
    from types import CodeType

__all__ = ["ScriptError", "ScriptRunner", "exit_code_of"]

_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
# inspect.CO_COROUTINE: set on code that awaits at top level.
_CO_COROUTINE = 0x0080


def exit_code_of(exc: SystemExit) -> int:
    """The process exit code Python gives for ``SystemExit(exc.code)``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code
    print(code, file=sys.stderr)
    return 1


def read_script(path: str) -> bytes:
    """The bytes of the script file ``path``; also called before the app loads, so that a
    missing script is said before the app's start-up runs or a sandbox opens.

    :raises ScriptError: ``path`` is missing, a folder, or unreadable.
    """
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ScriptError(f"Cannot run {path!r}: there is no such file.") from None
    except IsADirectoryError:
        raise ScriptError(
            f"Cannot run {path!r}: it is a folder. Give the Python file to run, such as"
            f" {os.path.join(path, '__main__.py')!r}."
        ) from None
    except OSError as e:
        # What the system said, as python says it (a symbolic link loop: [Errno 40] ...).
        raise ScriptError(f"Cannot run {path!r}: [Errno {e.errno}] {e.strerror}.") from None


def _print_exception(exc: BaseException) -> None:
    sys.stderr.write(format_at_prompt(exc))


def _quiet_broken_pipe() -> None:
    """After the reader of stdout went away: stop writing there, as Python's docs advise."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def flush_output() -> int | None:
    """Flush stdout and stderr; returns 1 (quietly) if the reader of stdout is gone."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
            return 1
        except (OSError, ValueError):
            pass
    return None


class ScriptRunner:
    """Run code with ``namespace`` as its globals, on ``session``; each method returns the
    exit code (0, 1 when the code raised, the code's own ``sys.exit(n)``, 130 on Ctrl-C).

    :param namespace: the shell's names. The module a script runs in gets them as globals,
        and keeps the names the script defines (see :attr:`globals`, for ``-i``).
    """

    def __init__(
        self, namespace: dict[str, t.Any], session: SessionLoop, *, interactive: bool = False
    ) -> None:
        self.session = session
        #: With ``-i``: a ``sys.exit()`` is shown like an exception (as ``python -i`` does),
        #: because the REPL comes next.
        self.interactive = interactive
        self.module = types.ModuleType("__main__")
        self.module.__dict__.update(namespace)
        self.module.__dict__.setdefault("__builtins__", __builtins__)

    @property
    def globals(self) -> dict[str, t.Any]:
        """The script's globals: the shell's names and what the script defined."""
        return self.module.__dict__

    # -- entry points ----------------------------------------------------------------------

    def run_command(self, code: str, args: t.Sequence[str]) -> int:
        """``-c CODE ARGS...``: ``sys.argv`` is ``['-c', *ARGS]``."""
        sys.argv = ["-c", *args]
        self._set_main(None)
        sys.path.insert(0, "")
        return self._run_source(code, "<string>")

    def read_file(self, path: str, args: t.Sequence[str]) -> tuple[str, str | None]:
        """Set up ``sys.argv``, ``sys.path[0]`` and ``__main__`` for the script ``path``, as
        python does, and return (its absolute path, its text or None if undecodable).

        :raises ScriptError: ``path`` is missing, a folder, or unreadable.
        """
        raw = read_script(path)
        sys.argv = [path, *args]
        sys.path.insert(0, os.path.dirname(os.path.realpath(path)))
        # As python (3.9+): __file__ and the frames name the script by its absolute path.
        path = os.path.abspath(path)
        self._set_main(path)
        return path, self._decode(raw, path)

    def run_file(self, path: str, args: t.Sequence[str]) -> int:
        """``FILE ARGS...`` as ``python FILE ARGS...`` runs it."""
        path, source = self.read_file(path, args)
        return 1 if source is None else self._run_source(source, path)

    def run_stdin(self, args: t.Sequence[str] = (), *, echo: bool = False) -> int:
        """Run what stdin holds, as a script named ``<stdin>`` (or a transcript with ``echo``)."""
        source = self.read_stdin(args)
        if source is None:
            return 1
        if echo:
            return self.run_transcript(source, "<stdin>")
        return self._run_source(source, "<stdin>")

    def read_stdin(self, args: t.Sequence[str] = ()) -> str | None:
        """Set up ``sys.argv`` and the rest for a script on stdin and return its text.

        :raises ScriptError: stdin cannot be read.
        """
        sys.argv = ["-", *args]
        self._set_main(None)
        sys.path.insert(0, "")
        if sys.stdin is None:  # stdin closed (`<&-`): as python, there is nothing to run
            return ""
        try:
            raw = sys.stdin.buffer.read()
        except OSError as e:  # open for writing only (`0<&1`), say
            raise ScriptError(f"Cannot read the script on stdin: {e}.") from None
        return self._decode(raw, "<stdin>")

    def run_transcript_file(self, path: str, args: t.Sequence[str]) -> int:
        """``--echo FILE``: the file as a transcript (frames name it as given, so that a
        transcript reads the same on every machine)."""
        _, source = self.read_file(path, args)
        return 1 if source is None else self.run_transcript(source, path)

    # -- running -----------------------------------------------------------------------------

    def _set_main(self, path: str | None) -> None:
        # A real __main__ module, so that pickle and multiprocessing find what it defines.
        if path is not None:
            self.module.__file__ = path
        self.module.__dict__.setdefault("__name__", "__main__")
        self.module.__name__ = "__main__"
        self.module.__spec__ = None
        self.module.__loader__ = None
        sys.modules["__main__"] = self.module

    @staticmethod
    def _decode(raw: bytes, filename: str) -> str | None:
        try:
            from .source import source_text  # only scripts read from bytes need it

            return source_text(raw, filename)
        except SyntaxError as e:
            _print_exception(e)
            return None

    @staticmethod
    def _compile(
        source: str | bytes | ast.Module | ast.Interactive, filename: str, mode: str, flags: int = 0
    ) -> t.Any:
        """Compile as the script's code is compiled; with ``ast.PyCF_ONLY_AST``, the tree."""
        return compile(source, filename, mode, flags=_FLAGS | flags, dont_inherit=True)

    def _run_source(self, source: str, filename: str) -> int:
        try:
            codes = self._compile_script(source, filename)
        except (SyntaxError, ValueError) as e:
            _print_exception(e)
            return 1
        return self.run_code(*codes)

    def _compile_script(self, source: str, filename: str) -> list[CodeType]:
        """The code to run, in order: the whole script if it never awaits at top level, else
        each top-level statement (those sharing a line together), so that only those that
        await run on the loop. Compiled whole first, as python does a file: errors found
        only then (``return`` outside a function) stop it before anything runs."""
        whole = self._compile(source, filename, "exec")
        if not whole.co_flags & _CO_COROUTINE:
            return [whole]
        tree = self._compile(source, filename, "exec", ast.PyCF_ONLY_AST)
        futures = whole.co_flags & _future_flags()
        codes: list[CodeType] = []
        for index, (_, _, nodes) in enumerate(_statements(t.cast(ast.Module, tree))):
            # A string statement after the first is no docstring, and must not become the
            # docstring of a module of its own (replacing ``__doc__``): it does nothing.
            kept = [n for n in nodes if not (index and isinstance(n, ast.Expr) and _is_str(n))]
            if kept:
                piece = ast.Module(body=kept, type_ignores=[])
                codes.append(self._compile(piece, filename, "exec", futures))
        return codes

    def run_code(self, *codes: CodeType) -> int:
        """Run compiled ``codes`` in turn in the script's globals, until one raises; the exit
        code of what happened."""
        try:
            for code in codes:
                self.session.run(code, self.globals)
        except BaseException as e:
            return self._ended_by(e)
        finally:
            # The whole script is one statement: its N+1 line (``sql``) comes after it.
            self.session.prompt_statement_done()
        return 0

    def _ended_by(self, exc: BaseException) -> int:
        """Say how the code ended, if there is something to say; return its exit code."""
        if isinstance(exc, SystemExit):
            if self.interactive:
                _print_exception(exc)
            return exit_code_of(exc)
        if isinstance(exc, KeyboardInterrupt):
            print("KeyboardInterrupt", file=sys.stderr)
            return 130
        if isinstance(exc, (AppShellError, AppShellUsageError)):
            # appshell's own error, raised into the script (``client`` without httpx): its
            # one line, not appshell's frames.
            print("\n".join(exc._render_traceback_()), file=sys.stderr)
            return exc.exit_code
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            _quiet_broken_pipe()
        else:
            _print_exception(exc)
        return 1

    def run_transcript(self, source: str, filename: str) -> int:
        """Run ``source`` as if typed at the stdlib prompt, echoing it to stdout.

        Each top-level statement is printed with ``>>> `` and ``... `` prompts, then run;
        an expression's value is shown by ``sys.displayhook``. What a statement writes to
        stderr, its traceback included, goes into the transcript right after it, as on a
        terminal, and the transcript goes on. Returns 1 if any statement raised, the code
        of a ``sys.exit(n)``, else 0. Source that does not compile runs nothing: its
        SyntaxError is shown as python shows it (exit code 1).
        """
        try:
            # Compiled whole first, as python does a file: errors found only when compiling
            # (`return` outside a function) stop it before anything runs.
            self._compile(source, filename, "exec")
            tree = self._compile(source, filename, "exec", ast.PyCF_ONLY_AST)
        except (SyntaxError, ValueError) as e:
            _print_exception(e)
            return 1
        lines = source.splitlines()
        with _stderr_into_stdout():
            code = self._echo_statements(t.cast(ast.Module, tree), lines, filename)
        return code

    def _echo_statements(self, tree: ast.Module, lines: list[str], filename: str) -> int:
        out = sys.stdout
        failed = False
        for first, last, nodes in _statements(tree):
            text = lines[first - 1 : last]
            out.write(f">>> {text[0]}\n")
            for line in text[1:]:
                out.write(f"... {line}\n" if line else "...\n")
            if hasattr(nodes[-1], "body") or isinstance(nodes[-1], ast.Match):
                out.write("...\n")  # a compound statement ends with an empty line at the prompt
            code = self._compile(ast.Interactive(body=nodes), filename, "single")
            try:
                self.session.run(code, self.globals)
            except (SystemExit, KeyboardInterrupt) as e:
                return self._ended_by(e)
            except BaseException as e:
                _print_exception(e)
                failed = True
            finally:
                self.session.prompt_statement_done()
        out.write(">>>\n")
        return 1 if failed else 0

    def run_ipython(self, source: str, filename: str, shell: t.Any) -> int:
        """Run ``source`` through IPython's input transformations (``%magics``, ``!cmd``), with
        frames named after ``filename`` and its lines, on ``shell`` whose namespace is ours.

        A mistake IPython reports as a ``UsageError`` (an unknown ``%magic``) is one line, as
        ``ipython FILE`` shows it, not a traceback through IPython."""
        from IPython.core.error import UsageError

        try:
            python = shell.transform_cell(source)
            codes = self._compile_script(python, filename)
        except (SyntaxError, ValueError) as e:
            _print_exception(e)
            return 1
        try:
            for code in codes:
                self.session.run(code, self.globals)
        except BaseException as e:
            if type(e) is UsageError:
                print(f"UsageError: {e}", file=sys.stderr)
            elif hasattr(e, "_render_traceback_"):  # appshell's errors, as IPython shows them
                print("\n".join(e._render_traceback_()), file=sys.stderr)
            else:
                return self._ended_by(e)
            return 1
        finally:
            self.session.prompt_statement_done()
        return 0


@contextlib.contextmanager
def _stderr_into_stdout() -> t.Iterator[None]:
    """Send what is written to stderr into stdout, in order, as a terminal shows both.

    ``sys.stderr`` becomes ``sys.stdout``; file descriptor 2 (used by C code, subprocesses
    and logging handlers made before with the old ``sys.stderr``) becomes a copy of 1, and
    stdout is line buffered so that what those write lands after what was printed before.
    """
    out, err = sys.stdout, sys.stderr
    saved_fd: int | None = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        out.flush()
        err.flush()
        saved_fd = os.dup(2)
        os.dup2(out.fileno(), 2)
    line_buffered = getattr(out, "line_buffering", None)
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(line_buffering=True)
    sys.stderr = out
    try:
        yield
    finally:
        sys.stderr = err
        with contextlib.suppress(OSError, ValueError):
            out.flush()
        if isinstance(out, io.TextIOWrapper) and line_buffered is not None:
            with contextlib.suppress(OSError, ValueError):
                out.reconfigure(line_buffering=line_buffered)
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def _statements(tree: ast.Module) -> t.Iterator[tuple[int, int, list[ast.stmt]]]:
    """Top-level statements as (first line, last line, nodes); nodes sharing a line go together."""
    group: list[ast.stmt] = []
    first = last = 0
    for node in tree.body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
        end = node.end_lineno or node.lineno
        if group and start <= last:
            group.append(node)
            last = max(last, end)
            continue
        if group:
            yield first, last, group
        group, first, last = [node], start, end
    if group:
        yield first, last, group


def _is_str(node: ast.Expr) -> bool:
    return isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _future_flags() -> int:
    """The compiler flags of every ``from __future__`` feature."""
    import __future__

    return sum(getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
