"""Where and how an app may be served, checked once, and the servers that serve it.

``appshell run`` and ``cli.run(background=True)`` ask the same questions before a socket is
opened: is the port a port, does the host resolve, is the port free there, may the interactive
debugger be reachable from there, do the TLS files hold what they claim. :func:`check` answers
them and returns a :class:`ServePlan`; each failure is one :class:`~.exceptions.AppShellUsageError`
line (exit code 2). Serving a plan is the job of a server for the app's interface: werkzeug's
for WSGI apps (:func:`serve`, :func:`serve_in_background`). An ASGI server is meant to sit
beside it, behind the same plan.

Nothing heavy is imported here at module level: werkzeug and ssl only when serving.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import os
import re
import signal
import socket
import sys
import threading
import typing as t

import click

from .exceptions import AppShellUsageError, UserCodeError, format_user_exception
from .term import use_color, warn

if t.TYPE_CHECKING:
    import ssl

__all__ = [
    "CLI_SPELLING",
    "PYTHON_SPELLING",
    "BackgroundServer",
    "CertFiles",
    "FailedApp",
    "ServePlan",
    "Spelling",
    "check",
    "parse_port",
    "serve",
    "serve_in_background",
    "tls_from_options",
]


class CertFiles(t.NamedTuple):
    """``--cert FILE --key FILE``: the certificate chain and its private key, as paths."""

    cert: str
    key: str


#: What ``--cert`` stands for once understood: two files, ``"adhoc"`` (a throw-away
#: certificate made at start), or an ``ssl.SSLContext`` the user built.
TlsOption: t.TypeAlias = "CertFiles | t.Literal['adhoc'] | ssl.SSLContext"


@dataclasses.dataclass(frozen=True)
class Spelling:
    """How a message names the settings: as options on the command line or as keywords."""

    port: str
    no_debugger: str
    allow_remote: str


CLI_SPELLING = Spelling("--port", "--no-debugger", "--allow-remote-debugger")
PYTHON_SPELLING = Spelling("port=", "debugger=False", "allow_remote_debugger=True")


@dataclasses.dataclass(frozen=True)
class ServePlan:
    """Checked settings for one server. ``tls`` is a loaded context, ``"adhoc"`` or None."""

    host: str
    port: int
    debugger: bool = False
    tls: ssl.SSLContext | t.Literal["adhoc"] | None = None


# -- the checks -------------------------------------------------------------------------------


def parse_port(value: object) -> int:
    """``value`` as a TCP port (0 to 65535; 0 lets the system pick a free one).

    :raises AppShellUsageError: for anything else, such as ``"abc"``, ``70000`` or ``-1``.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        number = int(value)
    if number is None or not 0 <= number <= 65535:
        raise AppShellUsageError(
            f"{value!r} is not a port: a port is a whole number from 1 to 65535, or 0 to let"
            " the system pick a free one."
        )
    return number


def check(
    host: str,
    port: object,
    *,
    debugger: bool = False,
    allow_remote_debugger: bool = False,
    tls: TlsOption | None = None,
    spelling: Spelling = CLI_SPELLING,
) -> ServePlan:
    """Check everything about serving on ``host``:``port`` that can be known before serving.

    Warns (one line) when the debugger is allowed on a host other machines can reach.

    :raises AppShellUsageError: the port is not a port, the host does not resolve, the port
        is taken, the debugger would be reachable from other machines without
        ``allow_remote_debugger``, or the TLS files are not a certificate and its key.
    """
    number = parse_port(port)
    address = _resolve(host, number)
    if debugger and not _is_loopback(address[4][0]):
        if not allow_remote_debugger:
            raise AppShellUsageError(
                f"Refusing to run the debugger on {host!r}: it runs any code sent to it, and"
                " that host is reachable from other machines. Serve on 127.0.0.1, turn the"
                f" debugger off with {spelling.no_debugger}, or pass {spelling.allow_remote}"
                " if you trust the network."
            )
        warn(
            f"the debugger is on and {host!r} is not loopback: anyone who can reach this"
            " server can run code on this machine."
        )
    _probe(host, number, address, spelling)
    return ServePlan(host, number, debugger, load_tls(tls))


_Address = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[t.Any, ...]]


def _resolve(host: str, port: int) -> _Address:
    # werkzeug binds IPv6 when the host has a colon and IPv4 otherwise: ask for that family.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
    raise AppShellUsageError(
        f"Cannot serve on {host!r}: the host does not resolve to an"
        f" {'IPv6' if family == socket.AF_INET6 else 'IPv4'} address ({reason}). Give an"
        " address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all of its"
        " interfaces) or a name that resolves to one."
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _probe(host: str, port: int, address: _Address, spelling: Spelling) -> None:
    """Bind the address once, as the server will, to turn werkzeug's two-line exit into one."""
    family, kind, proto, _, sockaddr = address
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise AppShellUsageError(
                    f"Port {port} on {host} is not available: it is in use. Stop what uses"
                    f" it, or pick another with {spelling.port} (0 picks a free one)."
                ) from None
            reason = {
                errno.EADDRNOTAVAIL: f"{host} is not an address of this machine",
                errno.EACCES: "ports below 1024 need administrator rights",
            }.get(e.errno or 0, e.strerror or str(e))
            raise AppShellUsageError(f"Cannot serve on {host} port {port}: {reason}.") from None


# -- TLS --------------------------------------------------------------------------------------


def tls_from_options(cert: str | None, key: str | None) -> TlsOption | None:
    """Understand ``--cert`` and ``--key`` together: two files, ``adhoc``, or an SSLContext.

    ``cert`` is a file, ``adhoc`` (any case), or an import path (``module:name`` or
    ``module.name``) of an ``ssl.SSLContext``. Only a certificate file takes a key.

    :raises click.BadParameter: the pair does not make sense, ``ssl`` is missing, ``adhoc``
        without the cryptography package, or ``cert`` names nothing of the three.
    """
    if cert is None:
        if key is not None:
            raise click.BadParameter(
                "a key needs its certificate: add --cert.", param_hint="'--key'"
            )
        return None
    try:
        import ssl
    except ImportError:
        raise click.BadParameter(
            "this Python has no ssl module, so it cannot serve HTTPS.", param_hint="'--cert'"
        ) from None
    if os.path.exists(cert):
        if os.path.isdir(cert):
            raise click.BadParameter(f"{cert!r} is a folder, not a file.", param_hint="'--cert'")
        if key is None:
            raise click.BadParameter(
                f"the certificate {cert!r} needs its private key: add --key FILE.",
                param_hint="'--key'",
            )
        return CertFiles(os.path.realpath(cert), os.path.realpath(key))
    if cert.lower() == "adhoc":
        if key is not None:
            raise click.BadParameter(
                "'adhoc' makes its own key: leave --key out.", param_hint="'--key'"
            )
        try:
            import cryptography  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
        except ImportError:
            raise click.BadParameter(
                "'adhoc' certificates are made with the cryptography package:"
                " pip install cryptography.",
                param_hint="'--cert'",
            ) from None
        return "adhoc"
    context = _imported(cert)
    if not isinstance(context, ssl.SSLContext):
        raise click.BadParameter(
            f"{cert!r} is not a file, 'adhoc', or the import path of an ssl.SSLContext"
            " (module:name).",
            param_hint="'--cert'",
        )
    if key is not None:
        raise click.BadParameter(
            f"{cert!r} is an SSLContext, which holds its own key: leave --key out.",
            param_hint="'--key'",
        )
    return context


def _imported(path: str) -> object:
    """The object ``module:attr.attr`` (or ``module.attr``) names; None if nothing is there."""
    import importlib

    if ":" in path:
        module_name, _, attrs = path.partition(":")
        tries = [(module_name, attrs)]
    else:
        # Without a colon the whole path may be a module, or a module and one attribute.
        head, _, tail = path.rpartition(".")
        tries = [(path, ""), *([(head, tail)] if head else [])]
    for name, rest in tries:
        if not name or name.startswith("."):
            continue
        try:
            found: object = importlib.import_module(name)
        except ImportError:
            continue
        except Exception as e:
            raise UserCodeError(e) from None
        for attr in filter(None, rest.split(".")):
            found = getattr(found, attr, None)
        return found
    return None


_PEM = {
    "certificate": re.compile(rb"-----BEGIN [A-Z0-9 ]*CERTIFICATE-----"),
    "private key": re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
}


def load_tls(tls: TlsOption | None) -> ssl.SSLContext | t.Literal["adhoc"] | None:
    """Files become a loaded SSLContext, so that a bad file is found before serving.

    :raises AppShellUsageError: naming the file that is not PEM, or the pair that does not fit.
    """
    if not isinstance(tls, CertFiles):
        return tls
    import ssl

    for kind, path in (("certificate", tls.cert), ("private key", tls.key)):
        try:
            with open(path, "rb") as file:
                text = file.read()
        except OSError as e:
            raise AppShellUsageError(f"Cannot read the {kind} {path!r}: {e.strerror}.") from None
        if not _PEM[kind].search(text):
            raise AppShellUsageError(
                f"{path!r} is not a PEM {kind} (a text file with a '-----BEGIN"
                f" ...{kind.upper()}-----' line). Give the {kind} in PEM form, or --cert adhoc"
                " for a throw-away one."
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except ssl.SSLError as e:
        mismatch = e.reason == "KEY_VALUES_MISMATCH"
        reason = "the key is not the certificate's" if mismatch else (e.reason or str(e))
        raise AppShellUsageError(
            f"Cannot serve HTTPS with the certificate {tls.cert!r} and the key {tls.key!r}:"
            f" {reason}. Give the key the certificate was made with."
        ) from None
    return context


# -- serving with werkzeug (WSGI) ---------------------------------------------------------


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
