"""The checks made before serving: port, host, whether the port is free, the debugger rule."""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import re
import socket
import typing as t

from ..exceptions import AppShellUsageError
from ..term import warn
from .tls import TlsOption, load_tls

if t.TYPE_CHECKING:
    import ssl

__all__ = ["CLI_SPELLING", "PYTHON_SPELLING", "ServePlan", "Spelling", "check", "parse_port"]


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
