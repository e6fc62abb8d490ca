"""One shell session, the single road into a shell: ``shell``, ``flask shell`` and ``%appshell``.

A :class:`ShellSession` holds everything a session is made of, from the moment the app is
loaded to the moment the last teardown has run: the ScriptInfo and its app, the app context
it pushed, the :class:`SessionLoop` every statement runs on, the shell-context providers, the
profile, the namespace built from them, the ``cli`` runner, and :meth:`ShellSession.close`.
The command line and the notebook extension each build one, so the namespace they give is
the same by construction.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import platform
import sys
import types
import typing as t

import click

from ..exceptions import format_user_exception, trim_traceback

if t.TYPE_CHECKING:
    from types import CodeType, TracebackType

    from ..groups import AppGroup
    from ..profiles import Profile
    from ..scriptinfo import ScriptInfo
    from .backends import Backend
    from .context import Namespace
    from .runner import CommandRunner

__all__ = ["SessionLoop", "ShellSession", "choose_profile", "make_banner"]

# inspect.CO_COROUTINE, without importing inspect: set on code that awaits at top level.
_CO_COROUTINE = 0x0080
# Banner lines list at most this many names of one source before folding the rest.
_FOLD_AFTER = 8

Provider = tuple[str, t.Callable[[], t.Any]]


class SessionLoop:
    """One event loop and one context for a whole session, so ``await`` keeps state.

    Every statement runs in the same :class:`contextvars.Context`, and a statement that
    awaits runs as a task of the same loop in that context: a context variable set by one
    statement (an app or request context pushed at the prompt) is there for the next.
    The loop itself is made the first time something awaits: asyncio is not imported for a
    session that never does.

    Between statements a REPL keeps the loop running while its prompt waits (see
    :meth:`run_while`, :meth:`threaded` and :meth:`adopt`), so tasks made at the prompt
    go on; a synchronous statement always runs with no loop running, as at a plain prompt.
    A task that fails with nobody to see it has its traceback shown once (at once while
    the prompt is idle, else when the statement ends); tasks still pending when the session
    closes are cancelled and named in one line.
    """

    def __init__(self) -> None:
        self.context = contextvars.copy_context()
        self._loop: t.Any = None
        # The loop runs in this thread while a REPL reads on the main one (python REPL).
        self._thread: t.Any = None
        self._threaded = False
        # The task of the awaited statement running now, if any.
        self._statement: t.Any = None
        self._failed: list[t.Any] = []
        #: Whether Ctrl-C cancelled the last awaited statement.
        self.interrupted = False

    @property
    def loop(self) -> t.Any:
        """The session's event loop, made when first needed."""
        if self._loop is None:
            import asyncio

            self._watch(asyncio.new_event_loop())
        return self._loop

    @property
    def started(self) -> bool:
        """Whether the loop was made (something awaited): else no task can exist."""
        return self._loop is not None

    def run(self, code: CodeType, globals: dict[str, t.Any], locals: t.Any = None) -> t.Any:
        """Evaluate compiled ``code``; if it awaits, run it to completion on the loop."""
        if self._loop is not None and not self._threaded:
            import asyncio

            # Code that asks for "the" event loop gets the session's.
            asyncio.set_event_loop(self._loop)
        result = self.context.run(eval, code, globals, locals if locals is not None else globals)
        if _CO_COROUTINE & code.co_flags and isinstance(result, types.CoroutineType):
            result = self.complete(result)
        return result

    def complete(self, coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
        """Run ``coroutine`` on the session loop in the session context.

        Ctrl-C while it waits cancels this coroutine only, and raises KeyboardInterrupt;
        Ctrl-C while its own code runs raises KeyboardInterrupt in that code, as Python does.
        """
        if self._threaded:
            return self._complete_in_thread(coroutine)
        import asyncio

        loop = self.loop
        asyncio.set_event_loop(loop)
        task = loop.create_task(coroutine, context=self.context)
        self._statement = task
        self.interrupted = False
        try:
            with self._ctrl_c_cancels(task):
                try:
                    result = loop.run_until_complete(task)
                except asyncio.CancelledError:
                    if not self.interrupted:
                        raise
                    result = None
            if self.interrupted:
                # The coroutine was cancelled by Ctrl-C while the loop waited for it.
                raise KeyboardInterrupt from None
            return result
        except KeyboardInterrupt:
            # Ctrl-C in the loop itself: cancel the task and let it unwind. If the
            # coroutine itself was interrupted the task is finished already, and running
            # the loop for it again would never return.
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
            raise
        finally:
            self._statement = None
            self._report_failures()

    def close(self) -> None:
        """Cancel the tasks still pending (named in one line) and close the loop (if one
        was ever made)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        import asyncio

        self._stop_thread()
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                self._say_cancelled(pending)
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def run_while(self, read: t.Callable[[], t.Any]) -> t.Any:
        """``read()`` (a prompt) in a thread of its own while the loop runs here, so that
        the session's tasks go on while it waits; its value, or what it raised.

        Without a loop (nothing ever awaited) ``read`` is simply called.
        """
        if self._loop is None:
            return read()
        import asyncio
        import concurrent.futures
        import threading

        done: concurrent.futures.Future[t.Any] = concurrent.futures.Future()

        def reader() -> None:
            try:
                done.set_result(read())
            except BaseException as e:
                done.set_exception(e)

        threading.Thread(target=reader, name="appshell-prompt", daemon=True).start()
        loop = self._loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.wrap_future(done, loop=loop))
        return done.result()

    @contextlib.contextmanager
    def threaded(self) -> t.Iterator[None]:
        """Within the block the loop runs in a second thread of its own, from the first
        ``await`` on (at once if it was made already), and the caller's thread is free to
        read input: an awaited statement is handed to that thread and waited for."""
        self._threaded = True
        try:
            if self._loop is not None:
                self._start_thread()
            yield
        finally:
            self._stop_thread()
            self._threaded = False

    def adopt(self, loop: t.Any) -> t.Any:
        """Use ``loop`` (a REPL's own, IPython's) as the session loop if none was made yet.
        Returns the session loop: ``loop`` or the one made before."""
        if self._loop is None:
            self._watch(loop)
        return self._loop

    def _watch(self, loop: t.Any) -> None:
        """Make ``loop`` the session's, and see every task made on it end."""
        self._loop = loop
        if loop.get_task_factory() is not None:
            return  # someone else's: their tasks are theirs to report

        def make_task(loop: t.Any, coro: t.Any, **options: t.Any) -> t.Any:
            import asyncio

            task = asyncio.Task(coro, loop=loop, **options)
            task.add_done_callback(self._task_done)
            return task

        loop.set_task_factory(make_task)

    def _task_done(self, task: t.Any) -> None:
        if task is self._statement or task.cancelled():
            return
        self._failed.append(task)
        if self._statement is None:
            # Idle: once the tasks awaiting this one had their turn (they see its error).
            task.get_loop().call_soon(self._report_failures)

    def _report_failures(self) -> None:
        """Show the traceback of each failed task whose error nobody took (once)."""
        failed, self._failed = self._failed, []
        for task in failed:
            # Set while an exception is held that no result()/exception() call took.
            if not getattr(task, "_log_traceback", False):
                continue
            error = task.exception()  # taken now: asyncio will not log it again
            sys.stdout.flush()
            stream = sys.stderr
            stream.write(f"Task {task.get_name()!r} ({self._coroutine_name(task)}) failed:\n")
            stream.write(format_user_exception(error))
            stream.flush()

    def _start_thread(self) -> None:
        import asyncio
        import threading

        loop = self.loop

        def run_loop() -> None:
            asyncio.set_event_loop(loop)
            while True:
                try:
                    loop.run_forever()
                    return  # stopped by _stop_thread
                except (SystemExit, KeyboardInterrupt):
                    # exit() in an awaited statement ends its task and leaves the loop:
                    # the task's callback, run by the loop going on, hands it over.
                    continue

        self._thread = threading.Thread(target=run_loop, name="appshell-loop", daemon=True)
        self._thread.start()

    def _stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        thread.join()

    def _complete_in_thread(self, coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
        """:meth:`complete` with the loop in its own thread: Ctrl-C here (the signal
        comes to this thread) cancels the task there, and a second one stops waiting."""
        import asyncio
        import concurrent.futures

        if self._thread is None:
            self._start_thread()
        loop = self._loop
        self.interrupted = False
        done: concurrent.futures.Future[t.Any] = concurrent.futures.Future()

        def start() -> None:
            task = loop.create_task(coroutine, context=self.context)
            self._statement = task
            done.set_running_or_notify_cancel()

            def finished(task: t.Any) -> None:
                self._statement = None
                if task.cancelled():
                    done.set_exception(asyncio.CancelledError())
                elif task.exception() is not None:
                    done.set_exception(task.exception())
                else:
                    done.set_result(task.result())
                self._report_failures()

            task.add_done_callback(finished)

        loop.call_soon_threadsafe(start)
        try:
            error = done.exception()
        except KeyboardInterrupt:
            self.interrupted = True
            loop.call_soon_threadsafe(self._cancel_statement)
            with contextlib.suppress(BaseException):
                done.exception()  # a second Ctrl-C stops waiting for it to unwind
            raise KeyboardInterrupt from None
        if error is not None:
            raise error
        return done.result()

    def _cancel_statement(self) -> None:
        if self._statement is not None:
            self._statement.cancel()

    @contextlib.contextmanager
    def _ctrl_c_cancels(self, task: t.Any) -> t.Iterator[None]:
        """Within the block, Ctrl-C while the loop waits cancels ``task`` (the awaited
        statement) and no other: the default handler would raise KeyboardInterrupt in
        whichever task runs. Ctrl-C while ``task``'s own code runs, or a second one, raises
        KeyboardInterrupt there as usual. A handler the user installed is left alone."""
        import asyncio
        import signal
        import threading

        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield
            return
        loop = task.get_loop()

        def on_ctrl_c(signum: int, frame: t.Any) -> None:
            if self.interrupted or task.done() or asyncio.current_task(loop) is task:
                raise KeyboardInterrupt
            self.interrupted = True
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake the loop if it sleeps

        signal.signal(signal.SIGINT, on_ctrl_c)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    @staticmethod
    def _coroutine_name(task: t.Any) -> str:
        coroutine = task.get_coro()
        return str(getattr(coroutine, "__qualname__", None) or coroutine)

    @classmethod
    def _say_cancelled(cls, tasks: list[t.Any]) -> None:
        """One line naming the tasks cancelled at the session's end."""
        from ..term import warn

        names = ", ".join(f"{task.get_name()} ({cls._coroutine_name(task)})" for task in tasks)
        count = f"{len(tasks)} task{'s' if len(tasks) > 1 else ''}"
        warn(f"{count} still running at exit cancelled: {names}.")


def choose_profile(given: str | None = None) -> Profile:
    """The profile a session starts with: ``given`` (``--profile``), else the environment
    (``APPSHELL_SHELL_PROFILE``, ``APPSHELL_PROFILE``), else ``[tool.appshell] profile``,
    else ``default``.

    :raises ProfileError: the profile chosen is missing or invalid.
    """
    from ..profiles import load_profile, project_profile_name

    name = (
        given
        or os.environ.get("APPSHELL_SHELL_PROFILE")
        or os.environ.get("APPSHELL_PROFILE")
        or project_profile_name()
        or "default"
    )
    return load_profile(name)


class ShellSession:
    """A shell session on one app: open it, use its namespace, close it.

    :param info: the ScriptInfo that loads the app (loaded by :meth:`open`, if not yet).
    :param group: the root group whose commands ``cli(...)`` runs in the shell.
    :param groups: the AppGroups the session runs under, outermost first: their
        ``@group.shell_context`` providers are merged, in that order.
    :param profile: the profile (default: :func:`choose_profile`).
    :param strict: a provider, profile import or startup code that raises ends the session.
    :param startup: run the profile's startup code.
    :param command_obj: what commands run by ``cli(...)`` find as ``ctx.obj`` (default:
        ``info``; ``flask shell`` gives Flask's own ScriptInfo).
    :param prog_name: the name usage lines of ``cli(...)`` commands show.
    """

    def __init__(
        self,
        info: ScriptInfo,
        *,
        group: click.Group,
        groups: t.Sequence[AppGroup] = (),
        profile: Profile | None = None,
        strict: bool = False,
        startup: bool = True,
        command_obj: t.Any = None,
        prog_name: str = "appshell",
    ) -> None:
        self.info = info
        self.group = group
        self.groups = tuple(groups)
        self.profile = profile if profile is not None else choose_profile()
        self.strict = strict
        self.startup = startup
        self.command_obj = command_obj
        self.prog_name = prog_name
        #: The event loop and context every statement of the session runs in.
        self.loop = SessionLoop()
        self.runner: CommandRunner | None = None
        self._namespace: Namespace | None = None
        self._app_context: t.ContextManager[t.Any] | None = None
        self._closed = False

    @classmethod
    def for_command(
        cls, ctx: click.Context, *, profile: Profile | None = None, **options: t.Any
    ) -> ShellSession:
        """The session of a command running in ``ctx`` (``shell``, ``flask shell``)."""
        from ..groups import enclosing_groups
        from ..scriptinfo import ScriptInfo

        info = ctx.ensure_object(ScriptInfo)
        root = ctx.find_root()
        return cls(
            info,
            group=t.cast(click.Group, root.command),
            groups=enclosing_groups(ctx),
            profile=profile,
            command_obj=info.commands_obj,
            prog_name=root.info_name or "appshell",
            **options,
        )

    @property
    def adapter(self) -> t.Any:
        """The app's adapter (loading the app if it is not loaded yet)."""
        return self.info.adapter

    @property
    def namespace(self) -> Namespace:
        """The namespace the session starts with (built by :meth:`open`)."""
        if self._namespace is None:
            raise RuntimeError("the session is not open")
        return self._namespace

    def providers(self) -> list[Provider]:
        """The session's shell-context providers, in merge order."""
        from ..groups import collect_providers

        return collect_providers(self.groups)

    def open(self) -> Namespace:
        """Load the app, push its context for the session and build the namespace.

        The user's errors (their module, factory, providers with ``strict``) propagate; the
        session is closed again before they do.
        """
        from .context import build_namespace
        from .runner import CommandRunner

        adapter = self.adapter
        try:
            if not adapter.context_is_active():
                context = adapter.app_context()
                context.__enter__()
                self._app_context = context
            # Made after the push: every statement sees the app context.
            self.loop = SessionLoop()
            self.runner = CommandRunner(
                self.group, self.info, prog_name=self.prog_name, obj=self.command_obj
            )
            self._namespace = build_namespace(
                adapter,
                self.providers(),
                runner=self.runner,
                profile=self.profile,
                session=self.loop if self.startup else None,
                strict=self.strict,
            )
        except BaseException:
            self.close()
            raise
        return self._namespace

    def banner(self, backend: Backend, *, color: bool) -> str:
        """The first lines of the shell (see :func:`make_banner`)."""
        return make_banner(self.info, self.namespace, backend, color=color)

    def close(self, *, context_may_be_lost: bool = False) -> bool:
        """End the session: stop its background servers, close its loop, pop the app
        context (the app's teardown runs). Safe to call twice.

        A teardown that raises has its traceback printed, as the user's code it is; the
        return value is then False, so that the caller can keep a script's own exit code
        and still report the failure.

        :param context_may_be_lost: the context was pushed in a notebook cell whose context
            variables the kernel dropped (ipykernel#749): nothing is left to pop then.
        """
        if self._closed:
            return True
        self._closed = True
        if self.runner is not None:
            self.runner.close()
        self.loop.close()
        context, self._app_context = self._app_context, None
        if context is None:
            return True
        lost: tuple[type[Exception], ...] = (
            (LookupError, ValueError, RuntimeError, AssertionError) if context_may_be_lost else ()
        )
        try:
            context.__exit__(None, None, None)
        except lost:
            return True
        except Exception as e:
            # The teardown is the user's code, called by the framework through contextlib:
            # its traceback starts at the user's frame, and is not chained to whatever ended
            # the session (that was shown already).
            sys.stdout.flush()
            e.__suppress_context__ = True
            shown = e.with_traceback(_from_app_frame(e.__traceback__))
            click.echo(format_user_exception(shown), err=True, nl=False)
            return False
        return True

    def __enter__(self) -> Namespace:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def make_banner(info: ScriptInfo, namespace: Namespace, backend: Backend, *, color: bool) -> str:
    """The first lines of a shell: versions, the app and where it came from, and the names
    of ``namespace`` grouped by their source."""
    from .. import __version__
    from .runner import CommandRunner

    def style(text: str, **styles: t.Any) -> str:
        return click.style(text, **styles) if color else text

    adapter = info.adapter
    versions = [f"Python {platform.python_version()}", f"appshell {__version__}"]
    framework = type(adapter).framework_version()
    if framework is not None:
        versions.append(" ".join(framework))
    if backend.name != "python":
        versions.append(f"{backend.name} {backend.version() or ''}".strip())
    lines = [style(" · ".join(versions), dim=True)]
    lines.append(f"App: {style(adapter.name, bold=True)} ({info.app_origin})")
    groups = namespace.by_source()
    width = max(map(len, groups), default=0)
    for source, names in groups.items():
        lines.append(f"  {style(source.ljust(width), fg='cyan')}  {_fold(names)}")
    if isinstance(namespace.get("cli"), CommandRunner):
        lines.append(
            style(
                "Commands run in the shell: cli('routes --sort rule'), cli.routes(sort='rule');"
                " cli lists them.",
                dim=True,
            )
        )
    return "\n".join(lines) + "\n"


def _fold(names: list[str]) -> str:
    if len(names) <= _FOLD_AFTER:
        return ", ".join(names)
    return ", ".join(names[:_FOLD_AFTER]) + f", … (+{len(names) - _FOLD_AFTER} more)"


def _from_app_frame(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` from its first frame outside appshell, the standard library and installed
    packages: a teardown is called by the framework, through contextlib, from appshell."""
    import sysconfig

    paths = sysconfig.get_paths()
    libraries = tuple(
        os.path.join(paths[key], "") for key in ("stdlib", "platstdlib", "purelib", "platlib")
    )
    current = trim_traceback(tb)
    while current is not None and current.tb_frame.f_code.co_filename.startswith(libraries):
        current = trim_traceback(current.tb_next)
    return current if current is not None else tb
