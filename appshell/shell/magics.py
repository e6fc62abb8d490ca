"""appshell's IPython magics, as one ``Magics`` class: ``%cli`` wherever a shell has an
in-shell runner (``appshell shell`` in IPython, a ``.ipy`` script, a notebook), and with the
notebook extension also ``%appshell`` (its options read by :func:`parse_options`) and
``%%appshell_request``. :func:`watch_cells` hooks a session into the cells a shell runs.

This module imports IPython when it is imported: only code that runs inside IPython imports
it (the extension's load hook and :meth:`CommandRunner.register_ipython_magic`).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import typing as t

import click
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from ..exceptions import MagicError
from ..loop import SessionLoop
from .dboptions import SessionRequest, session_keywords, session_switches

if t.TYPE_CHECKING:
    from ..adapters import AppAdapter
    from ..databases.echo import SQLEcho
    from ..jupyter import Notebook
    from .runner import CommandRunner

__all__ = [
    "AppShellMagics",
    "CellWatch",
    "async_unsafe_allowed",
    "install",
    "installed",
    "is_django",
    "parse_options",
    "request_awaits",
    "uninstall",
    "watch_cells",
]

#: The magics only the extension's notebook state can serve.
_NOTEBOOK_ONLY = (("line", "appshell"), ("cell", "appshell_request"))
_COMPLETION_KEY = "%cli"


@magics_class
class AppShellMagics(Magics):
    """appshell's magics in one IPython shell (one instance per shell).

    :param shell: the IPython shell.
    :param runner: returns the runner ``%cli`` uses now; raises an appshell usage error when
        there is none (a notebook with no app attached).
    :param notebook: the extension's state; without it (appshell's own IPython shell), the
        instance has ``%cli`` only.
    """

    def __init__(
        self,
        shell: t.Any,
        runner: t.Callable[[], CommandRunner],
        notebook: Notebook | None = None,
    ) -> None:
        super().__init__(shell)
        self.runner = runner
        self.notebook = notebook
        #: The instance this one took the place of, put back when this one is uninstalled.
        self.replaced: AppShellMagics | None = None
        if notebook is None:
            for kind, name in _NOTEBOOK_ONLY:
                del self.magics[kind][name]

    @line_magic
    def cli(self, line: str) -> None:
        """%cli [COMMAND [ARGS]...]: run an appshell command in this process, as
        cli("COMMAND ARGS...") does; alone, list the commands."""
        runner = self.runner()
        if line.strip():
            runner(line)
        else:
            print(repr(runner))

    @line_magic
    def appshell(self, line: str) -> t.Any:
        """%appshell [--app IMPORT] [--env-file FILE] [--profile NAME] [--cli MODULE:GROUP]
        [--strict] [--no-startup] [--no-lifespan] [--sandbox/--no-sandbox] [--read-only]
        [--sql] [--no-models] | --detach

        Attach an app to this notebook: load it as the command line does (no --app: the
        environment, .env and pyproject.toml), keep its app context pushed for every later
        cell, and add the shell's names (cli included). Alone, when an app is attached:
        show what is attached. --detach pops the context and removes the names it added.
        --cli names a custom script's group (a manage.py's ``cli``): its commands are the
        ones ``cli(...)`` runs, its ``@shell_context`` providers add their names, as its
        ``shell`` command would. The other options are the shell's: a sandbox is rolled
        back, read-only ended, when the app is detached (--detach, %unload_ext appshell, the
        kernel's shutdown).
        """
        return self._notebook().appshell(line)

    @cell_magic
    def appshell_request(self, line: str, cell: str) -> None:
        """%%appshell_request [PATH]: run the cell inside a test request for PATH (default /).

        A cell that raises fails as any cell that raises does. An app whose test request is
        entered on the event loop (Quart's) has the cell awaited instead: the extension's
        input transformer turns it into an awaited :meth:`appshell_request_async`.
        """
        __tracebackhide__ = True  # IPython leaves this frame out of the tracebacks it shows
        adapter = self._notebook().attached_adapter()
        context = adapter.request_context(line.strip() or "/")
        if context is None:
            raise MagicError(_no_request(adapter, awaited=False))
        with context:
            # Raised inside the request, so that its teardown sees the error as it would.
            _raise_error_of(self.shell, self._run_keeping_errors(line, cell))

    async def appshell_request_async(self, line: str, cell: str) -> None:
        """``%%appshell_request``, its request entered and the cell run on the running loop:
        what the input transformer makes of the cell when :func:`request_awaits`."""
        __tracebackhide__ = True
        adapter = self._notebook().attached_adapter()
        context = adapter.async_request_context(line.strip() or "/")
        if context is None:
            raise MagicError(_no_request(adapter, awaited=True))
        async with context:
            _raise_error_of(self.shell, await self._arun_keeping_errors(line, cell))

    def complete_cli(self, _shell: t.Any, event: t.Any) -> list[str]:
        """The ``%cli`` completer: the names of the commands."""
        from ..exceptions import AppShellUsageError

        try:
            runner = self.runner()
        except AppShellUsageError:
            return []
        return runner.complete_line(event.line)

    def _notebook(self) -> Notebook:
        assert self.notebook is not None  # only registered with a notebook
        return self.notebook

    def _run_keeping_errors(self, line: str, cell: str) -> t.Any:
        """Run ``cell`` as a cell of its own (magics, its last value shown), but leave showing
        its error to the cell of the magic, which re-raises it: shown once, and that cell
        fails. Returns IPython's ExecutionResult."""
        with _errors_left_to_caller(self.shell, _magic_line(line)) as body:
            return self.shell.run_cell(body(cell), store_history=False)  # type: ignore[union-attr]

    async def _arun_keeping_errors(self, line: str, cell: str) -> t.Any:
        """:meth:`_run_keeping_errors`, the cell awaited in the caller's task (so in the
        request it entered): a cell that awaits runs on the running loop."""
        shell: t.Any = self.shell
        with _errors_left_to_caller(shell, _magic_line(line)) as body:
            cell = body(cell)
            try:
                transformed, failed = shell.transform_cell(cell), None
            except Exception:
                transformed, failed = cell, sys.exc_info()
            return await shell.run_cell_async(
                cell,
                store_history=False,
                transformed_cell=transformed,
                preprocessing_exc_tuple=failed,
            )


@click.command("%appshell", add_help_option=False)
@click.option("--app", "-A", default=None)
@click.option("--env-file", "-e", default=None)
@click.option("--profile", default=None)
@click.option("--cli", default=None)
@click.option("--detach", is_flag=True)
@session_switches
def _appshell_options(**given: t.Any) -> tuple[bool, SessionRequest]:
    # The session's switches become its keywords as the shell command's do.
    detach = given.pop("detach")
    own = {key: given.pop(key) for key in ("app", "env_file", "profile", "cli")}
    return detach, SessionRequest(**own, options=session_keywords(given))


def parse_options(line: str) -> tuple[bool, SessionRequest]:
    """A ``%appshell`` line: whether it detaches, and the session it asks for.

    :raises MagicError: a line that does not split into words, or a bad option.
    """
    try:
        parsed = _appshell_options.main(shlex.split(line), standalone_mode=False)
    except ValueError as e:
        raise MagicError(f"Could not read the arguments {line!r}: {e}.") from None
    except click.ClickException as e:
        raise MagicError(e.format_message()) from None
    return t.cast("tuple[bool, SessionRequest]", parsed)


class CellWatch:
    """A session hooked into the cells ``shell`` runs: after each cell, the session's
    after-statement callbacks (``sql``'s N+1 line, written while the cell's output is
    still the cell's: in a kernel, its stderr); when the session has databases, the line
    magic ``%sql_echo``; for a Django project's ``adapter``, Django's async-unsafe calls
    allowed while each cell runs (a kernel runs every cell inside its running event loop),
    the environment as it was after it. With ``in_context``, the code of every cell runs in
    the session's context, awaited or not (see :meth:`_run_code`). :meth:`stop` undoes it
    all."""

    def __init__(
        self,
        shell: t.Any,
        loop: SessionLoop,
        sql: SQLEcho | None,
        *,
        adapter: t.Any = None,
        in_context: bool = False,
    ) -> None:
        from ..databases.echo import register_ipython_magic

        self.shell, self.loop, self.sql, self.adapter = shell, loop, sql, adapter
        # IPython runs each piece of a cell's code through its run_code method: the
        # shell's own (or what was set on it before) is kept, and called in the context.
        self._shadowed = shell.__dict__.get("run_code") if in_context else None
        runner: t.Any = shell.run_code if in_context else None
        outer = getattr(runner, "__self__", None)
        if isinstance(outer, CellWatch):
            # An app attached in appshell's IPython: its cells run in its session's context
            # alone, not in the shell's session's too.
            runner = outer._code_runner
        self._code_runner: t.Any = runner
        if in_context:
            shell.run_code = self._run_code
        self._saved: list[str | None] = []  # while a cell runs: the variable's value before
        shell.events.register("post_run_cell", self._after_cell)
        if is_django(adapter):
            # Around the cell's own code only: set after the other pre_run_cell callbacks,
            # unset before the other post_run_cell callbacks.
            shell.events.register("pre_run_cell", self._before_cell)
            shell.events.callbacks["post_run_cell"].insert(0, self._end_allowance)
        self._line_magics = shell.magics_manager.magics["line"]
        self._kept = self._line_magics.get("sql_echo")
        if sql is not None:
            register_ipython_magic(shell, sql)

    async def _run_code(self, code: t.Any, result: t.Any = None, *, async_: bool = False) -> t.Any:
        """IPython's ``run_code``, in the session's context: a statement that does not
        await sees the context variables the session set (Quart's app context), and what
        any statement sets is there for the next. Code running in the context already
        (a cell that awaits, run by the session's loop) just runs."""
        run = t.cast("t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]", self._code_runner)
        loop = self.loop
        if loop.runs_here():
            return await run(code, result, async_=async_)
        # The kernel's variables of this cell go in with it (its output is this cell's).
        cell = loop.ambient_here()
        if async_:
            return await loop.acomplete(_awaited(cell, run(code, result, async_=True)))
        return loop.call(_run_to_end, cell, run(code, result, async_=False))

    def _before_cell(self, _info: t.Any = None) -> None:
        if not self._saved:
            self._saved.append(_allow_async_unsafe())

    def _after_cell(self, _result: t.Any = None) -> None:
        self.loop.prompt_statement_done()

    def _end_allowance(self, _result: t.Any = None) -> None:
        while self._saved:
            _restore_async_unsafe(self._saved.pop())

    def allowed(self) -> t.ContextManager[None]:
        """Django's async-unsafe calls allowed within the block, for a Django project (the
        session's close: it may run in the kernel's loop, in a cell or at its shutdown)."""
        return async_unsafe_allowed(self.adapter)

    def stop(self) -> None:
        """Undo it all, putting back the ``%sql_echo`` the shell had before (the one of
        ``appshell shell``'s own session)."""
        from ..databases.echo import unregister_ipython_magic

        if self._code_runner is not None and self.shell.__dict__.get("run_code") is not None:
            if self._shadowed is None:
                del self.shell.run_code
            else:
                self.shell.run_code = self._shadowed
            self._code_runner = None
        for event, callback in (
            ("post_run_cell", self._after_cell),
            ("pre_run_cell", self._before_cell),
            ("post_run_cell", self._end_allowance),
        ):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(event, callback)
        self._end_allowance()
        if self.sql is None:
            return
        unregister_ipython_magic(self.shell)
        if self._kept is not None:
            self._line_magics["sql_echo"] = self._kept


#: How a session is hooked into the cells of a shell (the IPython backend, the notebook).
watch_cells = CellWatch


def _run_to_end(cell: dict[t.Any, t.Any], coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
    """The value of ``coroutine``, which never suspends (IPython's run_code for code that
    does not await), run here with the ``cell``'s variables."""
    with SessionLoop.holding(cell):
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
    coroutine.close()
    raise RuntimeError("IPython's run_code suspended for code that does not await")


async def _awaited(cell: dict[t.Any, t.Any], coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
    """``coroutine`` awaited with the ``cell``'s variables."""
    with SessionLoop.holding(cell):
        return await coroutine


_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def is_django(adapter: t.Any) -> bool:
    return getattr(adapter, "framework", None) == "django"


@contextlib.contextmanager
def async_unsafe_allowed(adapter: t.Any) -> t.Iterator[None]:
    """Within the block, for a Django project's ``adapter``, Django runs its synchronous ORM
    calls even inside a running event loop; the environment is as it was after."""
    if not is_django(adapter):
        yield
        return
    previous = _allow_async_unsafe()
    try:
        yield
    finally:
        _restore_async_unsafe(previous)


def _allow_async_unsafe() -> str | None:
    """Set ``DJANGO_ALLOW_ASYNC_UNSAFE`` (Django reads it at every async-unsafe call);
    returns its value before."""
    previous = os.environ.get(_ASYNC_UNSAFE)
    os.environ[_ASYNC_UNSAFE] = "true"
    return previous


def _restore_async_unsafe(previous: str | None) -> None:
    if os.environ.get(_ASYNC_UNSAFE) != "true":
        return  # changed by the cell itself: the user's value stays
    if previous is None:
        os.environ.pop(_ASYNC_UNSAFE, None)
    else:
        os.environ[_ASYNC_UNSAFE] = previous


def request_awaits(notebook: Notebook) -> bool:
    """Whether a test request of the app attached to ``notebook`` is entered on the event
    loop (Quart's), so that ``%%appshell_request`` cells have to be awaited."""
    attachment = notebook.attachment
    return attachment is not None and attachment.adapter.async_request_context("/") is not None


def _no_request(adapter: AppAdapter, *, awaited: bool) -> str:
    """Why ``%%appshell_request`` cannot run a cell in a test request of the app."""
    if not awaited and adapter.async_request_context("/") is not None:
        return (
            f"A test request of {adapter.name} is entered on the event loop, so the cell has"
            " to be awaited: turn on %autoawait and run %%appshell_request again."
        )
    return (
        f"%%appshell_request runs a cell inside a test request, which Flask and Quart apps"
        f" have and {adapter.name} ({adapter.framework}) has not: make a request with"
        " client instead, or attach a Flask or Quart app."
    )


def _raise_error_of(shell: t.Any, result: t.Any) -> None:
    """Raise the error of the cell run as ``result`` (an ExecutionResult), if it had one,
    shown from the cell's own first frame: the magic's call and IPython's frames around
    the cell are nothing the user wrote."""
    __tracebackhide__ = True
    if isinstance(result.error_before_exec, SyntaxError):
        raise CellSyntaxError(shell, result.error_before_exec)
    error = result.error_in_exec
    frames = error.__traceback__ if error is not None else None
    while frames is not None and frames.tb_frame.f_globals is not shell.user_global_ns:
        frames = frames.tb_next
    if frames is not None:
        lines = shell.InteractiveTB.structured_traceback(type(error), error, frames)
        with contextlib.suppress(AttributeError, TypeError):  # an exception with __slots__
            error._render_traceback_ = lambda: lines
    result.raise_error()


def _magic_line(line: str) -> str:
    return f"%%appshell_request {line.strip()}".rstrip()


@contextlib.contextmanager
def _errors_left_to_caller(shell: t.Any, magic_line: str) -> t.Iterator[t.Callable[[str], str]]:
    """While a cell runs inside a cell magic's: its errors are not shown (the magic
    re-raises them, shown once in the magic's cell). The block is given what makes the
    body of the magic's cell the code to run: under the magic cell's own number (IPython
    counted that cell before running it), its lines numbered as in the notebook."""
    kept = shell.custom_exceptions, shell.CustomTB
    shell.set_custom_exc((BaseException,), lambda *_args, **_kwargs: [])
    shell.execution_count -= 1
    try:
        # A cell magic in the body has to stay its first line. The magic's own line, as a
        # comment: IPython drops a leading empty line.
        yield lambda body: body if body.startswith("%%") else f"# {magic_line}\n{body}"
    finally:
        shell.execution_count += 1
        shell.custom_exceptions, shell.CustomTB = kept


class CellSyntaxError(Exception):
    """A syntax error in the body of a cell magic, shown as IPython shows one in a cell of
    its own (re-raised as the SyntaxError itself, IPython would list its own frames)."""

    def __init__(self, shell: t.Any, error: SyntaxError) -> None:
        super().__init__(str(error))
        self.lines: list[str] = shell.SyntaxTB.structured_traceback(type(error), error, [])

    def _render_traceback_(self) -> list[str]:
        return self.lines


def installed(shell: t.Any) -> AppShellMagics | None:
    """The instance registered in ``shell``, if any."""
    found = shell.magics_manager.registry.get(AppShellMagics.__name__)
    return found if isinstance(found, AppShellMagics) else None


def install(
    shell: t.Any, runner: t.Callable[[], CommandRunner], notebook: Notebook | None = None
) -> AppShellMagics:
    """Register a new instance in ``shell`` (in place of the one there, which it keeps to put
    back when it is uninstalled), with the ``%cli`` completer."""
    magics = AppShellMagics(shell, runner, notebook)
    magics.replaced = installed(shell)
    if magics.replaced is not None:
        _withdraw(shell, magics.replaced)
    _publish(shell, magics)
    return magics


def uninstall(shell: t.Any, magics: AppShellMagics) -> None:
    """Remove what :func:`install` added, and put back the instance it replaced."""
    _withdraw(shell, magics)
    if magics.replaced is not None:
        _publish(shell, magics.replaced)


def _publish(shell: t.Any, magics: AppShellMagics) -> None:
    shell.register_magics(magics)
    shell.set_hook("complete_command", magics.complete_cli, str_key=_COMPLETION_KEY)


def _withdraw(shell: t.Any, magics: AppShellMagics) -> None:
    manager = shell.magics_manager
    for kind, table in magics.magics.items():
        for name, method in table.items():
            if manager.magics[kind].get(name) == method:
                del manager.magics[kind][name]
    if manager.registry.get(AppShellMagics.__name__) is magics:
        del manager.registry[AppShellMagics.__name__]
    # set_hook binds the hook to the shell: the chain holds it as that method's __func__.
    completers: t.Any = getattr(shell, "strdispatchers", {}).get("complete_command")
    chain = completers.strs.get(_COMPLETION_KEY) if completers is not None else None
    if chain is None:
        return
    chain.chain[:] = [
        entry for entry in chain.chain if getattr(entry[1], "__func__", None) != magics.complete_cli
    ]
    if not chain.chain:
        del completers.strs[_COMPLETION_KEY]
