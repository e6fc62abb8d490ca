"""Serving an ASGI app with uvicorn: in the foreground (``run``), under uvicorn's reloader
(``run --reload``), or as a task of the shell's event loop (``cli.run(background=True)``).

appshell binds the listening socket itself, so that port 0 has a real port to announce
before anything else is printed, and the reloader's parent holds the socket across restarts.
uvicorn's own signal handling is kept out in every form: in the foreground SIGINT and SIGTERM
end the server with exit 0 (uvicorn raises the signal again once it has stopped), and in the
shell the session's handlers stay the session's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import typing as t

import click

from ..exceptions import AppShellError, AppShellUsageError
from ..term import use_color
from .tls import CertFiles, TlsOption, write_adhoc_pair
from .wsgi import FailedApp

if t.TYPE_CHECKING:
    from types import FrameType

    from ..loop import SessionLoop
    from .plan import ServePlan

__all__ = ["AsgiBackgroundServer", "FailedAsgiApp", "reloaded_app", "serve", "serve_in_background"]

#: What to install when uvicorn is missing.
INSTALL_HINT = "pip install 'appshell[asgi]'"
#: How the reloader's parent tells each new child which app to load: the import string of
#: ``--app`` or ``APPSHELL_APP``, or empty for the default discovery.
APP_VARIABLE = "APPSHELL_RELOAD_APP"
#: What the reloader's children import and call (``factory=True``) to get the app.
_RELOAD_TARGET = f"{__name__}:reloaded_app"


def _uvicorn() -> t.Any:
    try:
        import uvicorn
    except ImportError:
        raise AppShellUsageError(
            "Serving an ASGI app needs uvicorn, which is not installed. Install appshell's"
            f" ASGI extra: {INSTALL_HINT}"
        ) from None
    return uvicorn


# -- the socket ---------------------------------------------------------------------------


def _listen(plan: ServePlan) -> socket.socket:
    """The listening socket of ``plan`` (for port 0, on a port the system picked)."""
    family = socket.AF_INET6 if ":" in plan.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((plan.host, plan.port))
        # Listening at once queues the connections made before the server first runs.
        listener.listen(128)
    except OSError as e:
        listener.close()
        # The port was free when the plan was checked: something took it since.
        raise AppShellUsageError(
            f"Port {plan.port} on {plan.host} is not available: {e.strerror or 'it is in use'}."
            " Pick another port (0 picks a free one)."
        ) from None
    listener.set_inheritable(True)
    return listener


def _url(listener: socket.socket, *, https: bool = False) -> tuple[str, int, str]:
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return host, port, f"{'https' if https else 'http'}://{shown}:{port}"


def _config(app: t.Any, **settings: t.Any) -> t.Any:
    return _uvicorn().Config(app, interface="asgi3", use_colors=use_color(err=True), **settings)


# -- the foreground ---------------------------------------------------------------------


def serve(
    app: t.Any,
    plan: ServePlan,
    *,
    notes: t.Sequence[str] = (),
    reload: bool = False,
    import_path: str | None = None,
    extra_files: list[str] | None = None,
    exclude_patterns: list[str] | None = None,
    tls: TlsOption | None = None,
) -> None:
    """Serve the ASGI ``app`` in the foreground until Ctrl-C or SIGTERM, then free the port.

    The URL served is printed first (on stderr), then ``notes``. With ``reload`` the app
    is not served from this process: each child of uvicorn's reloader loads it again, from
    ``import_path`` (None: found as appshell finds an app with none given). ``tls`` is the
    ``--cert`` the plan checked: files are given to uvicorn as files, ``adhoc`` is made
    into files for the server's life, and an SSLContext is used as it is.

    :raises AppShellUsageError: uvicorn is not installed, the port was taken since the
        plan was checked, or an SSLContext was given with ``reload``.
    """
    _uvicorn()
    if reload and tls is not None and not isinstance(tls, CertFiles | str):
        raise AppShellUsageError(
            "--reload serves the app from new processes, which cannot be handed an SSLContext"
            " object: give the certificate as --cert FILE --key FILE (or --cert adhoc)."
        )
    with contextlib.ExitStack() as stack:
        settings = _tls_settings(tls, stack)
        listener = _listen(plan)
        stack.callback(listener.close)
        url = _url(listener, https=tls is not None)[2]
        # On stderr, where werkzeug prints it for a WSGI app: one place for scripts to read.
        click.echo(f" * Running on {url} (Press CTRL+C to quit)", err=True)
        for note in notes:
            click.echo(note)
        if reload:
            _supervise(listener, import_path, extra_files, exclude_patterns, settings)
        else:
            config = _config(app, **settings)
            if tls is not None and not settings:  # the user's own SSLContext
                config.load()
                config.ssl = tls
            _serve_until_signalled(config, [listener])


def _tls_settings(tls: TlsOption | None, stack: contextlib.ExitStack) -> dict[str, str]:
    """uvicorn's ``ssl_certfile`` and ``ssl_keyfile`` for ``tls`` ({} for none, or for an
    SSLContext); an ``adhoc`` pair is written to a folder removed when ``stack`` closes."""
    if tls == "adhoc":
        import tempfile

        tls = write_adhoc_pair(stack.enter_context(tempfile.TemporaryDirectory()))
    if isinstance(tls, CertFiles):
        return {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
    return {}


class _StartupFailed(SystemExit):
    """The app's lifespan startup failed (exit 1: the user's error, which uvicorn logged)."""


class _StoppedStarting(BaseException):
    """Ctrl-C or SIGTERM before the app's startup finished: uvicorn looks at ``should_exit``
    only once it has started, so the wait for the startup is ended by this, raised."""


def _serve_until_signalled(config: t.Any, sockets: list[socket.socket]) -> None:
    """Run a uvicorn server on ``sockets`` until SIGINT or SIGTERM (also while the app's
    startup hangs or blocks); a second SIGINT stops it without waiting for open connections.

    :raises _StartupFailed: exit 1, the app's startup failed (the user's error, whose
        traceback uvicorn logged), not uvicorn's own code for it.
    """
    import logging

    from uvicorn.config import STARTUP_FAILURE

    server = _uvicorn().Server(config)
    server.capture_signals = contextlib.nullcontext
    stopped_starting = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped_starting
        if server.should_exit and signum == signal.SIGINT:
            server.force_exit = True
        server.should_exit = True
        if not server.started and not stopped_starting:
            stopped_starting = True
            # The startup, interrupted where it blocked, is not a failure to log.
            logging.getLogger("uvicorn.error").disabled = True
            raise _StoppedStarting

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=sockets)
    except _StoppedStarting:
        return
    except SystemExit as e:
        if server.started or e.code != STARTUP_FAILURE:
            raise
        if not stopped_starting:
            raise _StartupFailed(1) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _child(config: t.Any, sockets: list[socket.socket]) -> None:
    """What each child of the reloader runs (pickled to it: a function of this module).

    A child whose app's startup failed lives on, answering every request with that failure:
    the reloader's socket would otherwise take connections nobody answers until a fix is
    saved.
    """
    try:
        _serve_until_signalled(config, sockets)
    except _StartupFailed:
        failure = AppShellError(
            "The app's lifespan startup failed: its traceback is in the server's output."
        )
        failed = FailedAsgiApp(failure, "start")
        config.app, config.factory, config.lifespan = failed, False, "off"
        config.loaded = False
        _serve_until_signalled(config, sockets)


def _supervise(
    listener: socket.socket,
    import_path: str | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
    settings: dict[str, str],
) -> None:
    from uvicorn.supervisors import ChangeReload

    os.environ[APP_VARIABLE] = import_path or ""
    folders = {os.getcwd(), *(os.path.dirname(os.path.abspath(f)) for f in extra_files or ())}
    config = _config(
        _RELOAD_TARGET,
        factory=True,
        reload=True,
        reload_dirs=sorted(folders),
        reload_includes=[os.path.basename(f) for f in extra_files or ()] or None,
        reload_excludes=exclude_patterns or None,
        **settings,
    )
    supervisor = _reloader_class(ChangeReload)
    # The supervisor stops on SIGINT/SIGTERM by itself, ending its child with SIGTERM.
    supervisor(config, target=functools.partial(_child, config), sockets=[listener]).run()


def _reloader_class(change_reload: type) -> type:
    """uvicorn's reloader, or, when it polls file times (no watchfiles installed), one that
    notes the times at each restart, before the new child reads the files.

    uvicorn's polling reloader forgets the times at a restart and notes them again on its
    next poll, a quarter of a second or more later: a file saved in between (the fix saved
    right after the error was seen) was never noticed, and the error stayed served.
    """
    from uvicorn.supervisors.basereload import BaseReload
    from uvicorn.supervisors.statreload import StatReload

    if not issubclass(change_reload, StatReload):
        return change_reload

    class NotingReload(StatReload):
        def restart(self) -> None:
            noted = {}
            for path in self.iter_py_files():
                with contextlib.suppress(OSError):
                    noted[path] = path.stat().st_mtime
            self.mtimes = noted
            BaseReload.restart(self)

    return NotingReload


class FailedAsgiApp:
    """An ASGI app that answers every request with the error that kept the real app from
    loading (or starting: ``what_failed``) in a reloader's child, so that the child lives on
    and saving a fix restarts."""

    def __init__(self, error: BaseException, what_failed: str = "load") -> None:
        self._failure = FailedApp(error)
        self._what_failed = what_failed

    def report(self) -> None:
        self._failure.report()

    async def __call__(self, scope: dict[str, t.Any], receive: t.Any, send: t.Any) -> None:
        if scope["type"] != "http":
            return
        self.report()
        text = f"The app did not {self._what_failed}; fix it and save, and the server restarts.\n\n"
        body = (text + self._failure.text).encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def reloaded_app() -> t.Any:
    """The app, loaded in a child of the reloader as ``appshell run`` loads it."""
    from ..scriptinfo import ScriptInfo

    info = ScriptInfo(os.environ.get(APP_VARIABLE) or None)
    try:
        return info.load_app()
    except Exception as e:
        app = FailedAsgiApp(e)
        app.report()
        return app


# -- in the shell ---------------------------------------------------------------------------


class AsgiBackgroundServer:
    """A uvicorn server running as a task of the shell's event loop.

    ``.url``, ``.host``, ``.port`` (the one bound, also for port 0), ``.running``, ``.stop()``,
    as :class:`~appshell.serving.wsgi.BackgroundServer` has.
    """

    def __init__(self, server: t.Any, task: t.Any, listener: socket.socket) -> None:
        self._server = server
        self._task = task
        self.host, self.port, self.url = _url(listener)
        # However the server ends (stopped, failed, cancelled at exit), the port is freed.
        task.add_done_callback(lambda _: listener.close())

    @property
    def running(self) -> bool:
        return not self._task.done()

    def stop(self) -> t.Awaitable[None] | None:
        """Stop serving and free the port, waiting for the server to end.

        Called from code that runs on the loop itself (an ``async def``, a script that
        awaits) it cannot wait there: it returns an awaitable instead, so that
        ``await server.stop()`` waits (and, the server stopped already, returns at once);
        not awaited, the server still ends within a tenth of a second, at its next tick.
        """
        import asyncio

        self._server.should_exit = True
        task = self._task
        loop = task.get_loop()
        if _on_thread_of(loop):
            # A task, not a coroutine: a caller that does not await it (a notebook cell, the
            # shell stopping its servers) leaves nothing unawaited behind.
            ending: asyncio.Task[None] = loop.create_task(_ended(task))
            return ending
        if task.done():
            return None
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(_ended(task), loop).result(timeout=15)
        else:
            loop.run_until_complete(_ended(task))
        return None

    def __repr__(self) -> str:
        return f"<AsgiBackgroundServer {self.url} {'running' if self.running else 'stopped'}>"


async def _ended(task: t.Any) -> None:
    """Wait for ``task`` to end, whatever it ends with (its failure is not this caller's)."""
    import asyncio

    await asyncio.wait([task])


def _on_thread_of(loop: t.Any) -> bool:
    import asyncio

    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def serve_in_background(app: t.Any, plan: ServePlan, session: SessionLoop) -> AsgiBackgroundServer:
    """Serve the ASGI ``app`` as a task of ``session``'s loop, in a copy of its context.

    The app's lifespan is the session's and is not run again; no signal handler is
    installed. Returns once the server listens (when the loop can be waited for here).

    :raises AppShellUsageError: uvicorn is not installed, or the port was taken.
    """
    import asyncio

    _uvicorn()
    listener = _listen(plan)
    server = _uvicorn().Server(_config(app, lifespan="off", log_level="warning"))
    server.capture_signals = contextlib.nullcontext
    loop = session.loop
    # A copy of the session's context (its app context included): the statement calling
    # this runs inside the session context itself, which a task cannot enter meanwhile.
    task = loop.create_task(server.serve(sockets=[listener]), context=session.context.copy())

    async def started() -> None:
        while not server.started and not task.done():
            await asyncio.sleep(0.01)

    if not loop.is_running():
        loop.run_until_complete(started())
    elif not _on_thread_of(loop):
        asyncio.run_coroutine_threadsafe(started(), loop).result(timeout=15)
    if task.done():
        listener.close()
        error = task.exception()
        if isinstance(error, SystemExit | OSError):
            raise AppShellUsageError(f"The server on port {plan.port} did not start.") from None
        task.result()
    return AsgiBackgroundServer(server, task, listener)
