"""``appshell run``: werkzeug's development server, as ``flask run`` starts it."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import traceback
import typing as t

import click

from ..envfiles import debug_option
from ..exceptions import AppShellUsageError
from ..scriptinfo import ScriptInfo
from ..term import warn

if t.TYPE_CHECKING:
    import ssl


class CertParamType(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """``--cert``: an existing file, ``adhoc``, or the import string of an SSLContext."""

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        import ssl

        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            value = click.STRING(value, param, ctx).lower()
            if value == "adhoc":
                try:
                    import cryptography  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
                except ImportError:
                    raise click.BadParameter(
                        "Using ad-hoc certificates requires the cryptography library.",
                        ctx,
                        param,
                    ) from None
                return value

            from werkzeug.utils import import_string

            obj = import_string(value, silent=True)
            if isinstance(obj, ssl.SSLContext):
                return obj
            raise


def _validate_key(ctx: click.Context, param: click.Parameter, value: t.Any) -> t.Any:
    """``--key`` goes with a certificate file; it turns ``cert`` into a (cert, key) pair."""
    import ssl

    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"
    is_context = isinstance(cert, ssl.SSLContext)

    if value is not None:
        if is_adhoc:
            raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)
        if is_context:
            raise click.BadParameter(
                'When "--cert" is an SSLContext object, "--key" is not used.', ctx, param
            )
        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)
        ctx.params["cert"] = cert, value
    elif cert and not (is_adhoc or is_context):
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """A list of paths separated by the OS's path separator, each checked as a click.Path."""

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        items = self.split_envvar_value(value)
        convert = super().convert
        return [convert(item, param, ctx) for item in items]


@click.command("run", short_help="Run a development server.")
@click.option("--host", "-h", default="127.0.0.1", help="The interface to bind to.")
@click.option("--port", "-p", default=5000, help="The port to bind to.")
@click.option(
    "--cert", type=CertParamType(), is_eager=True, help="Specify a certificate file to use HTTPS."
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    help="The key file to use when specifying a certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Enable or disable the reloader. By default the reloader is active if debug is enabled.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Enable or disable the debugger. By default the debugger is active if debug is enabled.",
)
@click.option(
    "--with-threads/--without-threads", default=True, help="Enable or disable multithreading."
)
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    help=f"Extra files that trigger a reload on change, separated by {os.path.pathsep!r}.",
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Files matching these fnmatch patterns will not trigger a reload on change,"
        f" separated by {os.path.pathsep!r}."
    ),
)
@click.option(
    "--allow-remote-debugger",
    is_flag=True,
    help="Allow the debugger on a host that is not loopback. The debugger runs any code sent"
    " to it: only on a network you trust.",
)
@click.pass_context
def run_command(
    ctx: click.Context,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    cert: ssl.SSLContext | tuple[str, str | None] | t.Literal["adhoc"] | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
    allow_remote_debugger: bool,
) -> None:
    """Run a local development server.

    This server is for development only. It does not provide the stability, security, or
    performance of production WSGI servers. The reloader and debugger are on with '--debug'.
    """
    from werkzeug.serving import is_running_from_reloader, run_simple

    from ..envfiles import get_debug_flag

    info = ctx.ensure_object(ScriptInfo)
    try:
        app: t.Any = info.load_app()
    except Exception as e:
        if not is_running_from_reloader():
            raise
        # In the reloader's child: show the error now, serve it on every request, and keep
        # watching files so that fixing the code restarts the server.
        traceback.print_exc()
        err = e

        def app(environ: t.Any, start_response: t.Any) -> t.Any:
            raise err from None

    debug = get_debug_flag()
    if reload is None:
        reload = debug
    if debugger is None:
        debugger = debug

    if not is_running_from_reloader():
        if debugger and not _is_loopback(host):
            if not allow_remote_debugger:
                raise AppShellUsageError(
                    f"Refusing to run the debugger on {host!r}: it runs any code sent to it,"
                    " and that host is reachable from other machines. Serve on 127.0.0.1, turn"
                    " the debugger off with --no-debugger, or pass --allow-remote-debugger if"
                    " you trust the network."
                )
            warn(
                f"the debugger is on and {host!r} is not loopback: anyone who can reach"
                f" {host}:{port} can run code on this machine."
            )
        check_port_free(host, port)
        if info.app_import_path is not None:
            click.echo(f" * Serving app '{info.app_import_path}'")
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")

    # SIGTERM stops the server cleanly, as Ctrl-C does (the reloader handles it itself).
    signal.signal(signal.SIGTERM, _interrupt)

    run_simple(
        host,
        port,
        app,
        use_reloader=reload,
        use_debugger=debugger,
        threaded=with_threads,
        ssl_context=cert,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )


# As in flask.cli: `appshell run --debug` works as well as `appshell --debug run`.
run_command.params.insert(0, debug_option)


def _interrupt(signum: int, frame: t.Any) -> None:
    raise KeyboardInterrupt


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """werkzeug on a busy port prints two lines and exits 1: say it in one, with exit 2."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise AppShellUsageError(f"Cannot serve on {host!r}: {e.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            reason = "it is in use" if e.errno == errno.EADDRINUSE else e.strerror
            raise AppShellUsageError(
                f"Port {port} on {host} is not available: {reason}. Stop what uses it, or"
                " pick another with --port (0 picks a free one)."
            ) from None
