"""``cli.run(background=True)``: the shell's own app served while the prompt stays free.

A WSGI app is served by werkzeug from a thread; an ASGI app by uvicorn as a task of the
session's event loop (in a Jupyter kernel, the kernel's loop, which the session adopted),
sharing the lifespan the session runs (its requests get the lifespan's state), with the
session's signal handling left alone. Either way the handle has ``.url``, ``.port`` and
``.stop()``, and the shell stops it when it ends.
"""

from __future__ import annotations

import typing as t

import click

from ..exceptions import AppShellUsageError
from .runner import CommandResult

if t.TYPE_CHECKING:
    from ..loop import SessionLoop
    from ..scriptinfo import ScriptInfo
    from ..serving import BackgroundServer
    from ..serving.asgi import AsgiBackgroundServer

__all__ = ["start_server"]


def start_server(
    info: ScriptInfo,
    loop: SessionLoop,
    servers: list[BackgroundServer | AsgiBackgroundServer],
    *,
    background: bool = False,
    lifespan_state: dict[str, t.Any] | None = None,
    **options: t.Any,
) -> t.Any:
    """Serve ``info``'s app in the background and add its handle to ``servers``.

    An ASGI app's requests get (a copy of) ``lifespan_state``, what the session's lifespan
    made, as they would from a server that ran the lifespan itself.

    Every refusal (not background, reload, an unknown option, a port or host that will not
    do, the debugger on an ASGI app, uvicorn missing) is one line on stderr and a
    :class:`CommandResult` with exit code 2; the shell goes on.
    """
    if not background:
        click.echo(
            "appshell: cli.run() would block the prompt. Start the server in the"
            " background: server = cli.run(background=True, port=5000); server.url;"
            " server.stop()",
            err=True,
        )
        return CommandResult(2)
    if options.pop("reload", False):
        click.echo(
            "appshell: the reloader restarts the whole process, so it cannot run in the"
            " shell's background. Use `appshell run --reload` in a terminal.",
            err=True,
        )
        return CommandResult(2)
    host = options.pop("host", "127.0.0.1")
    port = options.pop("port", 5000)
    debugger = bool(options.pop("debugger", False))
    allow_remote = bool(options.pop("allow_remote_debugger", False))
    threaded = bool(options.pop("with_threads", True))
    if options:
        click.echo(
            "appshell: cli.run(background=True) takes host, port, debugger,"
            f" allow_remote_debugger and with_threads, not {', '.join(sorted(options))}.",
            err=True,
        )
        return CommandResult(2)

    from .. import serving

    app: t.Any = info.load_app()
    asgi = info.adapter.interface == "asgi"
    handle: BackgroundServer | AsgiBackgroundServer
    try:
        if asgi and debugger:
            raise AppShellUsageError(
                "there is no interactive debugger for ASGI apps: debugger=True is"
                " werkzeug's, for WSGI apps. Leave it out."
            )
        plan = serving.check(
            str(host),
            port,
            debugger=debugger,
            allow_remote_debugger=allow_remote,
            spelling=serving.PYTHON_SPELLING,
        )
        if asgi:
            from ..serving.asgi import serve_in_background as serve_on_loop

            served = app if lifespan_state is None else _with_state(app, lifespan_state)
            handle = serve_on_loop(served, plan, loop)
        else:
            handle = serving.serve_in_background(app, plan, threaded=threaded)
    except click.ClickException as e:
        click.echo(f"appshell: {e.format_message()}", err=True)
        return CommandResult(e.exit_code, exception=e)
    servers.append(handle)
    click.echo(f"Serving {info.adapter.name} on {handle.url} (stop with .stop())")
    return handle


def _with_state(app: t.Any, state: dict[str, t.Any]) -> t.Any:
    """``app`` called with ``state`` in each request's scope (the server runs no lifespan
    of its own, so it has none to give): a shallow copy per request, as the ASGI spec says."""

    async def with_state(scope: dict[str, t.Any], receive: t.Any, send: t.Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["state"] = {**state, **scope.get("state", {})}
        await app(scope, receive, send)

    return with_state
