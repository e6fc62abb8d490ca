"""Where and how an app may be served, checked once, and the servers that serve it.

``appshell run`` and ``cli.run(background=True)`` ask the same questions before a socket is
opened: is the port a port, does the host resolve, is the port free there, may the interactive
debugger be reachable from there, do the TLS files hold what they claim. :func:`check` answers
them and returns a :class:`ServePlan`; each failure is one :class:`~.exceptions.AppShellUsageError`
line (exit code 2). A server for the app's interface serves a plan: :mod:`.wsgi` (werkzeug) for
WSGI apps, :mod:`.asgi` (uvicorn) for ASGI apps, behind the same plan.

Modules: :mod:`.plan` (the checks), :mod:`.tls` (``--cert``/``--key``), :mod:`.wsgi`,
:mod:`.asgi`. Nothing heavy is imported at module level: werkzeug, uvicorn, asyncio and ssl
only when serving.
"""

from __future__ import annotations

from .plan import CLI_SPELLING, PYTHON_SPELLING, ServePlan, Spelling, check, parse_port
from .tls import CertFiles, ContextPath, TlsOption, import_context, load_tls, tls_from_options
from .wsgi import BackgroundServer, FailedApp, serve, serve_in_background

__all__ = [
    "CLI_SPELLING",
    "PYTHON_SPELLING",
    "BackgroundServer",
    "CertFiles",
    "ContextPath",
    "FailedApp",
    "ServePlan",
    "Spelling",
    "TlsOption",
    "check",
    "import_context",
    "load_tls",
    "parse_port",
    "serve",
    "serve_in_background",
    "tls_from_options",
]
