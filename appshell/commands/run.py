"""``appshell run``: the development server, with the options ``flask run`` has.

The command only turns options into a :class:`~appshell.serving.ServePlan` and loads the
app; every check and the serving itself live in :mod:`appshell.serving`, which
``cli.run(background=True)`` uses too.
"""

from __future__ import annotations

import os
import typing as t

import click

from .. import serving
from ..envfiles import debug_option
from ..exceptions import AppShellUsageError
from ..scriptinfo import ScriptInfo


class PortType(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A TCP port, 0 to 65535; a bad one is one line and exit 2 (see :func:`serving.parse_port`)."""

    name = "port"

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        try:
            return serving.parse_port(value)
        except AppShellUsageError as e:
            from ..options import variable_of

            variable = variable_of(ctx, param) if ctx is not None and param is not None else None
            if variable is None or param is None or ctx is None:
                raise
            raise AppShellUsageError(
                f"Invalid value for {param.get_error_hint(ctx)} (set by {variable}):"
                f" {e.format_message()}"
            ) from None


class PathListType(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """Several paths in one value, joined by the OS's path separator, as PATH is."""

    name = "paths"

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        return [item for item in str(value).split(os.path.pathsep) if item]


class RunCommand(click.Command):
    """``run``: ``--cert`` and ``--key`` mean something only together, so they are read
    together, once both are parsed, into the one ``cert`` value the command receives."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        key = ctx.params.pop("key", None)
        if not ctx.resilient_parsing:
            ctx.params["cert"] = serving.tls_from_options(ctx.params.get("cert"), key)
        return rest


_SEP = os.path.pathsep


@click.command("run", cls=RunCommand, short_help="Run a development server.")
@click.option("--host", "-h", metavar="HOST", default="127.0.0.1", help="Address to listen on.")
@click.option(
    "--port", "-p", type=PortType(), default=5000, help="Port to listen on; 0 picks a free one."
)
@click.option(
    "--cert",
    metavar="FILE|adhoc|MODULE:NAME",
    help="Serve HTTPS: a PEM certificate file (with --key), 'adhoc' for a throw-away"
    " certificate, or the import path of an ssl.SSLContext.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False),
    help="The PEM private key of the --cert file.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart the server when a source file changes. [default: on with --debug]",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Show werkzeug's interactive debugger when a request fails (WSGI apps only)."
    " [default: on with --debug]",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    help="Handle each request on its own thread.",
)
@click.option(
    "--extra-files",
    type=PathListType(),
    help=f"More files whose change restarts the server with --reload, joined by {_SEP!r}.",
)
@click.option(
    "--exclude-patterns",
    type=PathListType(),
    metavar="PATTERNS",
    help=f"fnmatch patterns of files whose change does not restart the server, joined by {_SEP!r}.",
)
@click.option(
    "--allow-remote-debugger",
    is_flag=True,
    help="Let the debugger run on a host other machines can reach. Anyone who reaches it can"
    " run code here: only on a network you trust.",
)
@click.pass_context
def run_command(
    ctx: click.Context,
    host: str,
    port: int,
    cert: serving.TlsOption | serving.ContextPath | None,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
    allow_remote_debugger: bool,
) -> None:
    """Serve the app: a WSGI app with werkzeug's development server, an ASGI app
    (FastAPI, Starlette, Litestar, Quart) with uvicorn.

    For development only: neither is set up for production here. '--debug' turns on the
    reloader, and for a WSGI app the debugger.
    """
    from werkzeug.serving import is_running_from_reloader

    from ..envfiles import get_debug_flag

    info = ctx.ensure_object(ScriptInfo)
    debug = get_debug_flag()
    in_child = is_running_from_reloader()
    app = None
    if isinstance(cert, serving.ContextPath):
        # The module that holds it is often beside the app: importable once the app is.
        app = _load(info, in_child)
        cert = serving.import_context(cert)
    if not in_child and info.adapter.interface == "asgi":
        _run_asgi(
            info,
            host,
            port,
            cert=cert,
            reload=debug if reload is None else reload,
            debugger=debugger,
            debug=debug,
            extra_files=extra_files,
            exclude_patterns=exclude_patterns,
        )
        return
    debugger = debug if debugger is None else debugger
    if in_child:
        # The reloader's parent checked all of it and holds the socket: a second bind probe
        # would find the port taken by the parent itself.
        plan = serving.ServePlan(host, port, debugger, serving.load_tls(cert))
    else:
        plan = serving.check(
            host, port, debugger=debugger, allow_remote_debugger=allow_remote_debugger, tls=cert
        )
    app = _load(info, in_child) if app is None else app
    if not in_child:
        if info.app_import_path is not None:
            click.echo(f" * Serving app '{info.app_import_path}'")
        click.echo(f" * Debug mode: {'on' if _debug_mode(info, debug) else 'off'}")
    serving.serve(
        app,
        plan,
        reload=debug if reload is None else reload,
        threaded=with_threads,
        extra_files=extra_files or None,
        exclude_patterns=exclude_patterns or None,
    )


# As with `flask run`, `appshell run --debug` works as well as `appshell --debug run`.
run_command.params.insert(0, debug_option)


def _debug_mode(info: ScriptInfo, debug: bool) -> bool:
    """What the app itself holds as its debug mode (Django's ``DEBUG`` setting), which is
    what the user sees when a request fails; ``debug`` (--debug) where it holds none."""
    # A plugin's adapter may predate debug_mode().
    held = getattr(info.adapter, "debug_mode", None)
    value = held() if callable(held) else None
    return debug if value is None else bool(value)


def _load(info: ScriptInfo, in_child: bool) -> t.Any:
    """The app; in the reloader's child an app that fails to load is served as its error,
    so that the child keeps watching the files and saving a fix restarts it."""
    try:
        return info.load_app()
    except Exception as e:
        if not in_child:
            raise
        app = serving.FailedApp(e)
        app.report()
        return app


def _run_asgi(
    info: ScriptInfo,
    host: str,
    port: int,
    *,
    cert: serving.TlsOption | None,
    reload: bool,
    debugger: bool | None,
    debug: bool,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Serve an ASGI app on uvicorn; what only werkzeug offers is refused in one line."""
    from ..serving import asgi

    if debugger:
        raise AppShellUsageError(
            "There is no interactive debugger for ASGI apps: --debugger is werkzeug's, for"
            " WSGI apps. Leave it out; --debug still turns on the app's debug mode."
        )
    if reload and info.create_app is not None:
        raise AppShellUsageError(
            "--reload serves an ASGI app from a new process, which reaches it by import"
            " string: give the app with --app MODULE:NAME (or APPSHELL_APP)."
        )
    plan = serving.check(host, port, tls=cert)
    app = info.load_app()
    notes = [f" * Debug mode: {'on' if _debug_mode(info, debug) else 'off'}"]
    if info.app_import_path is not None:
        notes.insert(0, f" * Serving app '{info.app_import_path}'")
    asgi.serve(
        app,
        plan,
        notes=notes,
        reload=reload,
        import_path=info.app_import_path,
        extra_files=extra_files or None,
        exclude_patterns=exclude_patterns or None,
        tls=cert,
    )
