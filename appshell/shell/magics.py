"""appshell's IPython magics, as one ``Magics`` class: ``%cli`` wherever a shell has an
in-shell runner (``appshell shell`` in IPython, a ``.ipy`` script, a notebook), and with the
notebook extension also ``%appshell`` and ``%%appshell_request``.

This module imports IPython when it is imported: only code that runs inside IPython imports
it (the extension's load hook and :meth:`CommandRunner.register_ipython_magic`).
"""

from __future__ import annotations

import typing as t

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

if t.TYPE_CHECKING:
    from ..jupyter import Notebook
    from .runner import CommandRunner

__all__ = ["AppShellMagics", "install", "installed", "uninstall"]

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
        """%appshell [--app IMPORT] [--env-file FILE] [--profile NAME] [--strict] | --detach

        Attach an app to this notebook: load it as the command line does (no --app: the
        environment, .env and pyproject.toml), keep its app context pushed for every later
        cell, and add the shell's names (cli included). Alone, when an app is attached:
        show what is attached. --detach pops the context and removes the names it added.
        """
        return self._notebook().appshell(line)

    @cell_magic
    def appshell_request(self, line: str, cell: str) -> None:
        """%%appshell_request [PATH]: run the cell inside a test request for PATH (default /).

        A cell that raises fails as any cell that raises does.
        """
        __tracebackhide__ = True  # IPython leaves this frame out of the tracebacks it shows
        with self._notebook().request(line.strip() or "/"):
            result = self._run_keeping_errors(cell)
            # Raised inside the request, so that its teardown sees the error as it would.
            if isinstance(result.error_before_exec, SyntaxError):
                raise CellSyntaxError(self.shell, result.error_before_exec)
            result.raise_error()

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

    def _run_keeping_errors(self, cell: str) -> t.Any:
        """Run ``cell`` as a cell of its own (magics, its last value shown), but leave showing
        its error to the cell of the magic, which re-raises it: shown once, and that cell
        fails. Returns IPython's ExecutionResult."""
        shell: t.Any = self.shell
        kept = shell.custom_exceptions, shell.CustomTB
        shell.set_custom_exc((BaseException,), lambda *_args, **_kwargs: [])
        try:
            return shell.run_cell(cell, store_history=False)
        finally:
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
