"""``run --cert module:name``: the SSLContext's module is found beside the app, and what
went wrong (no module, no attribute, not an SSLContext) is said in one line."""

from __future__ import annotations

import signal
import ssl
import typing as t
import urllib.request
from pathlib import Path

import pytest

from .conftest import Result
from .test_run import _make_pem_pair, _start, _stop

Run = t.Callable[..., Result]

WSGI_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"over tls\\n"]
"""

CERTS = """\
import ssl
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain({cert!r}, {key!r})
number = 3
"""


def _project(tmp_path: Path) -> Path:
    """An app in a folder of its own, with the module of its SSLContext beside it; the
    command runs from the folder above, which is not on sys.path."""
    cert, key = _make_pem_pair(tmp_path, "tls")
    site = tmp_path / "site"
    site.mkdir()
    (site / "web.py").write_text(WSGI_APP)
    (site / "tlsconf.py").write_text(CERTS.format(cert=str(cert), key=str(key)))
    return cert


@pytest.mark.slow
def test_an_ssl_context_beside_the_app_serves_https(tmp_path: Path) -> None:
    cert = _project(tmp_path)
    proc, url = _start(
        ["--app", "site/web.py", "run", "--port", "0", "--cert", "tlsconf:context"],
        tmp_path,
        {},
        pattern=r"Running on (https://127\.0\.0\.1:\d+)",
    )
    try:
        client = ssl.create_default_context(cafile=str(cert))
        client.check_hostname = False
        with urllib.request.urlopen(url + "/", timeout=10, context=client) as response:
            assert response.read() == b"over tls\n"
    finally:
        _stop(proc, signal.SIGINT)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nosuch:context", "no module 'nosuch' was found"),
        ("tlsconf:nothing", "'tlsconf' has no attribute 'nothing'"),
        ("tlsconf:number", "'tlsconf:number' is an int, not an ssl.SSLContext"),
    ],
    ids=["no-module", "no-attribute", "not-a-context"],
)
def test_cert_import_path_says_what_failed(
    run_appshell: Run, tmp_path: Path, spec: str, message: str
) -> None:
    _project(tmp_path)
    result = run_appshell("--app", "site/web.py", "run", "--port", "0", "--cert", spec)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "Running on" not in result.stderr + result.stdout
