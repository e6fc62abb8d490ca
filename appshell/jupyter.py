"""The IPython extension: ``%load_ext appshell`` attaches an app to a notebook (or IPython).

``%appshell --app IMPORT`` loads the app with the command line's discovery, pushes its app
context for every later cell and injects the shell's namespace (``cli`` included) into the
notebook. ``%appshell --detach`` (or ``%unload_ext appshell``) pops the context and removes
exactly the names it injected that the user has not reassigned since; so does the kernel's
shutdown. Also: ``%cli`` and the cell magic ``%%appshell_request [PATH]``.

This module holds what the magics do; the magics themselves are IPython's, in
:mod:`appshell.shell.magics` (imported only inside IPython). What load adds, unload removes:
the magics, the completer, the attachment, the kernel's shutdown hook.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import os
import typing as t

import click

from .exceptions import (
    AppShellError,
    AppShellUsageError,
    LoopRunning,
    MagicError,
    UserCodeError,
)
from .jupyter_await import AwaitTransformer, KernelShutdown, shell_loop
from .shell.dboptions import SessionRequest

if t.TYPE_CHECKING:
    from .adapters import AppAdapter
    from .scriptinfo import ScriptInfo
    from .shell.context import Namespace
    from .shell.runner import CommandRunner
    from .shell.session import ShellSession

__all__ = ["Attachment", "Notebook", "load_ipython_extension", "unload_ipython_extension"]

#: Set in a kernelspec written by ``appshell kernel install``: the kernel attaches at start.
KERNEL_ENV = {
    "app": "APPSHELL_KERNEL_APP",
    "env_file": "APPSHELL_KERNEL_ENV_FILE",
    "profile": "APPSHELL_KERNEL_PROFILE",
    "project_dir": "APPSHELL_KERNEL_PROJECT_DIR",
}


_NOT_ATTACHED = "No app attached: attach one with %appshell --app IMPORT."


class Attachment:
    """An app attached to an IPython shell: its open session, the names it added and, for as
    long as it is attached, the session's hooks into the cells (:class:`CellWatch`)."""

    def __init__(
        self, session: ShellSession, shell: t.Any, *, awaited: bool = False, folder: str = "."
    ) -> None:
        self.session = session
        #: The project folder the session opened in: it closes there too (its lifespan's
        #: relative paths are the project's, wherever the notebook is).
        self.folder = folder
        self._opened_awaiting = awaited
        self.info, self.adapter, self.namespace = session.info, session.adapter, session.namespace
        assert session.runner is not None, "the session is open"
        self.runner = session.runner
        from .shell.magics import watch_cells

        sql = session.databases.sql if session.databases is not None else None
        # Every cell runs in the session's context, where its app context is pushed.
        self._watch = watch_cells(shell, session.loop, sql, adapter=self.adapter, in_context=True)

    @property
    def awaited(self) -> bool:
        """Whether the detach has to be awaited: the session was opened awaiting, or has
        used the shell's loop since (its lifespan, a background server on it)."""
        return self._opened_awaiting or self.session.loop.started

    def detach(self, shell: t.Any) -> int:
        """Remove from ``shell`` the names still bound to what was added (a name the user has
        reassigned stays); close the session (teardown runs; a sandbox rolls back and says
        what it rolled back). Returns how many names went."""
        if self.awaited:
            # Its async parts stop on the loop, which may be running this very cell.
            self.session.loop.check_can_complete()
        removed = self._drop(shell)
        with self._watch.allowed(), contextlib.chdir(self.folder):
            self.session.close()
        return removed

    async def adetach(self, shell: t.Any) -> int:
        """:meth:`detach`, the session's async parts awaited on the running loop."""
        removed = self._drop(shell)
        with self._watch.allowed(), contextlib.chdir(self.folder):
            await self.session.aclose()
        return removed

    def _drop(self, shell: t.Any) -> int:
        self._watch.stop()
        before = len(shell.user_ns)
        shell.drop_by_id(dict(self.namespace))
        return before - len(shell.user_ns)


class Summary:
    """What was injected: a table in Jupyter (HTML), plain text in a terminal; under the
    title, the lines the shell's banner starts with when a database option is on."""

    def __init__(self, title: str, namespace: Namespace, session: ShellSession) -> None:
        databases = session.databases
        self.title = "\n".join([title, *(databases.banner_lines() if databases else [])])
        self.records = namespace.describe()

    def __repr__(self) -> str:
        width = max((len(r["name"]) for r in self.records), default=0)
        swidth = max((len(r["source"]) for r in self.records), default=0)
        rows = [
            f"  {r['name'].ljust(width)}  {r['source'].ljust(swidth)}  {r['type']}"
            for r in self.records
        ]
        return "\n".join([self.title, *rows])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(r['name'])}</code></td>"
            f"<td>{html.escape(r['source'])}</td><td>{html.escape(r['type'])}</td></tr>"
            for r in self.records
        )
        title = html.escape(self.title).replace("\n", "<br>")
        return (
            f"<p>{title}</p><table><thead><tr><th>name</th><th>source</th>"
            f"<th>type</th></tr></thead><tbody>{rows}</tbody></table>"
        )


class Notebook:
    """What the extension's magics do in one IPython shell: the app attached, if any.

    :param shell: the IPython shell.
    :param shell_runner: the ``cli`` runner the shell had before the extension was loaded
        (``appshell shell`` in IPython), which ``%cli`` uses while no app is attached.
    """

    def __init__(self, shell: t.Any, shell_runner: CommandRunner | None = None) -> None:
        self.shell = shell
        self.shell_runner = shell_runner
        self.attachment: Attachment | None = None
        #: The ScriptInfo the input transformer loaded, for the magic of the same line.
        self.loaded: tuple[SessionRequest, ScriptInfo] | None = None
        self.transformer: AwaitTransformer | None = None
        #: In a kernel: what detaches when the kernel shuts down.
        self.shutdown: KernelShutdown | None = None
        # Found now, while sys.stdout is the kernel's (an attach at the kernel's start runs
        # with it redirected).
        self._cell_variables = _cell_variables(shell)

    # -- %appshell ---------------------------------------------------------------------------

    def appshell(self, line: str) -> t.Any:
        """``%appshell LINE`` (see :meth:`AppShellMagics.appshell`)."""
        from .shell.magics import parse_options

        detach, request = parse_options(line)
        if detach:
            print(self._detach(say=True))
            return None
        if not line.strip() and self.attachment is not None:
            return self.status()
        return self.attach(request)

    def status(self) -> Summary | str:
        if self.attachment is None:
            return "appshell: no app attached. Attach one with %appshell --app IMPORT."
        info = self.attachment.info
        title = f"appshell: {self.attachment.adapter.name} ({info.app_origin}) is attached."
        return Summary(title, self.attachment.namespace, self.attachment.session)

    def attach(self, request: SessionRequest) -> Summary:
        """Attach the app ``request`` asks for (detaching the one attached before); returns
        what was injected.

        The session's loop is the shell's (see :func:`shell_loop`): an ASGI app's lifespan
        runs there. In a kernel, whose loop is running, such an app is attached by
        :meth:`aattach` (the input transformer of :mod:`appshell.jupyter_await` makes
        ``%appshell`` lines await it).
        """
        session = self.session_for(request)
        host = session.host_loop
        if host is not None and host.is_running() and session.opening_awaits():
            raise LoopRunning()  # before anything is detached or pushed
        # Only once the new app has loaded: a failed attach leaves the old one attached.
        beside = _opens_beside(session)
        if not beside:
            self._detach(say=False)
        folder = request.folder or os.getcwd()
        with _open_errors(session), contextlib.chdir(folder):
            namespace = session.open()
        if beside:
            self._detach(say=False)
        return self._attached(session, namespace, awaited=False, folder=folder)

    async def aattach(self, request: SessionRequest) -> Summary:
        """:meth:`attach` on the running loop (the kernel's), awaited: an ASGI app's
        lifespan startup has finished when it returns, and what it made lives on that loop."""
        session = self.session_for(request)
        beside = _opens_beside(session)
        if not beside:
            await self.adetach(say=False)
        with _open_errors(session):
            namespace = await session.aopen()
        if beside:
            await self.adetach(say=False)
        return self._attached(session, namespace, awaited=True, folder=os.getcwd())

    def session_for(self, request: SessionRequest) -> ShellSession:
        """The session for an app, loaded (not yet open); the ScriptInfo the input transformer
        loaded for the same line is reused."""
        from .cli import cli as root
        from .groups import import_group
        from .shell.session import ShellSession, choose_profile, root_context

        where = request.folder or os.getcwd()
        try:
            with contextlib.chdir(where), _variable_kept("FLASK_RUN_FROM_CLI"):
                # As the group's command line reads --env-file, --app and their variables.
                group = import_group(request.cli) if request.cli is not None else None
                ctx = root_context(root, group, request.app, request.env_file)
                cached, self.loaded = self.loaded, None
                if cached is not None and cached[0] == request:
                    ctx.obj = cached[1]
                else:
                    ctx.obj.load_app()
                chosen = choose_profile(request.profile)
        except click.ClickException as e:
            raise MagicError(e.format_message()) from None
        except Exception as e:
            raise UserCodeError(e) from None

        return ShellSession.for_command(
            ctx,
            profile=chosen,
            handle_sigterm=False,  # the kernel's
            host_loop=shell_loop(self.shell),
            ambient=(*self._cell_variables, *_cell_variables(self.shell)),
            **request.options,
        )

    def _attached(
        self, session: ShellSession, namespace: Namespace, *, awaited: bool, folder: str = "."
    ) -> Summary:
        self.loaded = None
        self.shell.push(dict(namespace))
        self.attachment = Attachment(session, self.shell, awaited=awaited, folder=folder)
        title = (
            f"appshell: attached {session.adapter.name} ({session.info.app_origin}); its app"
            f" context stays pushed. {len(namespace)} names added:"
        )
        return Summary(title, namespace, session)

    def awaited(self) -> bool:
        """Whether the app attached was attached by awaiting (its detach awaits too)."""
        return self.attachment is not None and self.attachment.awaited

    def _detach(self, *, say: bool) -> str | None:
        if self.attachment is None:
            return "appshell: no app attached." if say else None
        attachment = self.attachment
        removed = attachment.detach(self.shell)  # raises before it detaches anything
        self.attachment = None
        return self._detached(attachment, removed) if say else None

    async def adetach(self, *, say: bool) -> str | None:
        """Detach the app attached, if any, awaiting its session's async parts."""
        if self.attachment is None:
            return "appshell: no app attached." if say else None
        attachment, self.attachment = self.attachment, None
        removed = await attachment.adetach(self.shell)
        return self._detached(attachment, removed) if say else None

    @staticmethod
    def _detached(attachment: Attachment, removed: int) -> str:
        return (
            f"appshell: detached {attachment.adapter.name}; its app context is popped and"
            f" {removed} names removed."
        )

    # -- for %cli and %%appshell_request ------------------------------------------------

    def runner(self) -> CommandRunner:
        """The runner ``%cli`` uses: the attached app's, else the shell's own."""
        if self.attachment is not None:
            return self.attachment.runner
        if self.shell_runner is not None:
            return self.shell_runner
        raise MagicError(_NOT_ATTACHED)

    def attached_adapter(self) -> AppAdapter:
        """The adapter of the app attached (``%%appshell_request`` asks it for a request)."""
        if self.attachment is None:
            raise MagicError(_NOT_ATTACHED)
        adapter: AppAdapter = self.attachment.adapter
        return adapter


@contextlib.contextmanager
def _open_errors(session: ShellSession) -> t.Iterator[None]:
    """Opening a session: appshell's errors as they are, other click errors in one line."""
    from .shell.magics import async_unsafe_allowed

    try:
        with async_unsafe_allowed(session.adapter):  # for Django: a kernel's loop runs
            yield
    except (AppShellError, AppShellUsageError):
        raise  # shown in one line, or as the user's traceback, by IPython
    except click.ClickException as e:
        raise MagicError(e.format_message()) from None


def _opens_beside(session: ShellSession) -> bool:
    """Whether ``session`` opens before the app attached is detached, so that a lifespan
    startup that fails leaves that app attached: an app whose context is pushed where the
    cells run (Flask's) opens after it instead, which a lifespan never fails."""
    return session.lifespan and session.adapter.lifespan_app() is not None


@contextlib.contextmanager
def _variable_kept(name: str) -> t.Iterator[None]:
    """Put the environment variable ``name`` back as it was: the command line's group sets
    Flask's (an app module's ``app.run()`` does nothing while it loads), which a later
    cell's own ``app.run()`` must not find set."""
    before = os.environ.get(name)
    try:
        yield
    finally:
        os.environ.pop(name, None)
        os.environ.update({} if before is None else {name: before})


def _cell_variables(shell: t.Any) -> tuple[contextvars.ContextVar[t.Any], ...]:
    """A kernel's context variables of the cell running now: the message its output
    streams, its displays, its result and the kernel answer (ipykernel's), which has to be
    the cell running when a session's task prints or displays, and the cell's own while
    its code runs in the session's context."""
    import sys

    answering = (
        sys.stdout,
        sys.stderr,
        getattr(shell, "display_pub", None),
        getattr(shell, "displayhook", None),
        shell,
        getattr(shell, "kernel", None),
    )
    found = (value for each in answering for value in getattr(each, "__dict__", {}).values())
    return tuple(dict.fromkeys(var for var in found if isinstance(var, contextvars.ContextVar)))


def load_ipython_extension(shell: t.Any) -> None:
    """``%load_ext appshell``: register the magics; attach at once in an appshell kernel."""
    from .shell import magics

    before = magics.installed(shell)
    if before is not None and before.notebook is not None:
        return
    # In appshell's own IPython shell, %cli keeps the shell's runner until an app is attached.
    notebook = Notebook(shell, shell_runner=before.runner() if before is not None else None)
    magics.install(shell, notebook.runner, notebook)
    notebook.transformer = AwaitTransformer(notebook)
    shell.input_transformers_cleanup.append(notebook.transformer)
    notebook.shutdown = KernelShutdown.install(notebook)

    if os.environ.get(KERNEL_ENV["app"]) or os.environ.get(KERNEL_ENV["project_dir"]):
        _attach_from_kernel_env(notebook)
        return
    print(
        "appshell loaded: attach an app with %appshell --app IMPORT (or just %appshell to use"
        " APPSHELL_APP, .env or pyproject.toml)."
    )


def _attach_from_kernel_env(notebook: Notebook) -> None:
    """Attach the app an appshell kernel names. While the kernel starts (the extension
    loaded by its command line), what attaching prints is shown nowhere: it is kept and
    shown under the first cell, and a failure's first line goes to the kernel's log."""
    import io
    import sys

    shell = notebook.shell
    starting = getattr(shell, "kernel", None) is not None and not getattr(
        shell, "parent_header", None
    )
    kept_out, kept_err = io.StringIO(), io.StringIO()
    out, err = (kept_out, kept_err) if starting else (sys.stdout, sys.stderr)
    app = os.environ.get(KERNEL_ENV["app"]) or None
    failure: list[str] = []
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            summary = notebook.attach(
                SessionRequest(
                    app,
                    os.environ.get(KERNEL_ENV["env_file"]) or None,
                    os.environ.get(KERNEL_ENV["profile"]) or None,
                    folder=os.environ.get(KERNEL_ENV["project_dir"]) or None,
                )
            )
        except click.ClickException as e:
            failure = _not_attached(app, e)
            print("\n".join(failure), file=sys.stderr)
        else:
            print(summary.title)
    if failure and starting:
        print(failure[0], file=sys.__stderr__, flush=True)
    if starting:
        _say_at_first_cell(shell, kept_out.getvalue(), kept_err.getvalue())


def _not_attached(app: str | None, error: click.ClickException) -> list[str]:
    """Why a kernel's app is not attached: one line, then the app's traceback if it raised."""
    first = (
        f"appshell: {app or 'the app'} could not be attached, so this notebook has none of"
        f" its names: {error.format_message()}"
    )
    render = getattr(error, "_render_traceback_", None)
    lines: list[str] = render() if callable(render) else []
    if lines == [f"appshell: {error.format_message()}"]:
        lines = []  # appshell's own error: its one line says it all
    return [first, *lines]


def _say_at_first_cell(shell: t.Any, out: str, err: str) -> None:
    """Write ``out`` and ``err`` under the first cell the kernel runs."""
    import sys

    def say(*_args: t.Any) -> None:
        shell.events.unregister("pre_run_cell", say)
        sys.stdout.write(out)
        sys.stdout.flush()
        sys.stderr.write(err)
        sys.stderr.flush()

    shell.events.register("pre_run_cell", say)


def unload_ipython_extension(shell: t.Any) -> None:
    """``%unload_ext appshell``: detach, and remove what loading added."""
    from .shell import magics

    found = magics.installed(shell)
    if found is None or found.notebook is None:
        return
    notebook = found.notebook
    notebook._detach(say=False)
    magics.uninstall(shell, found)
    if notebook.shutdown is not None:
        notebook.shutdown.remove()
    with contextlib.suppress(ValueError):
        shell.input_transformers_cleanup.remove(notebook.transformer)
