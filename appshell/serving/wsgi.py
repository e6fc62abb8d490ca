"""Serving a WSGI app with werkzeug: in the foreground (``run``) or from a thread
(``cli.run(background=True)``), and what the reloader serves while the app does not load."""

from __future__ import annotations

import signal
import sys
import threading
import typing as t

import click

from ..exceptions import AppShellUsageError, UserCodeError, format_user_exception
from ..term import use_color

if t.TYPE_CHECKING:
    from .plan import ServePlan

__all__ = ["BackgroundServer", "FailedApp", "serve", "serve_in_background"]


def _werkzeug_colour() -> None:
    import werkzeug.serving

    # werkzeug styles its log (request lines, "Press CTRL+C to quit") with ANSI codes on any
    # stream; its module switch is the only way to keep them out of files and NO_COLOR.
    if not use_color(err=True):
        werkzeug.serving._log_add_style = False


class FailedApp:
    """A WSGI app that answers every request with the error that kept the real one from
    loading, the user's frames only. The reloader serves it, so that saving a fix restarts."""

    def __init__(self, error: BaseException) -> None:
        if isinstance(error, UserCodeError):
            error = error.original
        if isinstance(error, click.ClickException):
            self.text = f"Error: {error.format_message()}\n"
        else:
            self.text = format_user_exception(error)

    def report(self) -> None:
        """Write the error to stderr, as the server's log."""
        sys.stderr.write(self.text)
        sys.stderr.flush()

    def __call__(
        self, environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
    ) -> list[bytes]:
        self.report()
        body = f"The app did not load; fix it and save, and the server restarts.\n\n{self.text}"
        start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain; charset=utf-8")])
        return [body.encode()]


def serve(
    app: t.Any,
    plan: ServePlan,
    *,
    reload: bool = False,
    threaded: bool = True,
    extra_files: list[str] | None = None,
    exclude_patterns: list[str] | None = None,
) -> None:
    """Serve the WSGI ``app`` in the foreground until Ctrl-C or SIGTERM."""
    from werkzeug.serving import run_simple

    _werkzeug_colour()
    _let_errors_reach_the_debugger(app, plan)
    # SIGTERM ends the server as Ctrl-C does: cleanly, with exit 0 (the reloader's child too).
    signal.signal(signal.SIGTERM, _interrupt)
    run_simple(
        plan.host,
        plan.port,
        app,
        use_reloader=reload,
        use_debugger=plan.debugger,
        threaded=threaded,
        ssl_context=plan.tls,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )


def _let_errors_reach_the_debugger(app: t.Any, plan: ServePlan) -> None:
    """With the debugger on, ask an app that answers its own errors with a page of its own
    (a Django project's 500 page) to let them through to the debugger instead."""
    if plan.debugger:
        propagate = getattr(app, "propagate_errors", None)
        if callable(propagate):
            propagate()


def _interrupt(signum: int, frame: t.Any) -> None:
    raise KeyboardInterrupt


class BackgroundServer:
    """A server on a thread of this process (``cli.run(background=True)``).

    ``.url``, ``.host``, ``.port`` (the one bound, also for port 0), ``.running``, ``.stop()``.
    """

    def __init__(self, server: t.Any, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host: str = server.host
        self.port: int = server.port
        scheme = "https" if getattr(server, "ssl_context", None) else "http"
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{scheme}://{shown}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and free the port (waits for the server thread to end)."""
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __repr__(self) -> str:
        return f"<BackgroundServer {self.url} {'running' if self.running else 'stopped'}>"


def serve_in_background(app: t.Any, plan: ServePlan, *, threaded: bool = True) -> BackgroundServer:
    """Serve the WSGI ``app`` from a daemon thread; the caller keeps the handle to stop it.

    :raises AppShellUsageError: when the port was taken between :func:`check` and now.
    """
    from werkzeug.serving import make_server

    _werkzeug_colour()
    _let_errors_reach_the_debugger(app, plan)
    if plan.debugger:
        from werkzeug.debug import DebuggedApplication

        app = DebuggedApplication(app, evalex=True)
    try:
        server = make_server(plan.host, plan.port, app, threaded=threaded, ssl_context=plan.tls)
    except (OSError, SystemExit) as e:
        # werkzeug exits when the bind fails; the port was free when it was checked.
        reason = getattr(e, "strerror", None) or "it is in use"
        raise AppShellUsageError(
            f"Port {plan.port} on {plan.host} is not available: {reason}."
        ) from None
    thread = threading.Thread(
        target=server.serve_forever, name=f"appshell-server-{server.port}", daemon=True
    )
    thread.start()
    return BackgroundServer(server, thread)
