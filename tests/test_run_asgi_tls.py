"""``appshell run --cert`` for ASGI apps: HTTPS on uvicorn, real servers on loopback, with the
checks the WSGI server has."""

from __future__ import annotations

import json
import signal
import ssl
import typing as t
import urllib.request
from pathlib import Path

import pytest

from .test_run import _make_pem_pair, _port_is_free, _start, _stop
from .test_run_asgi import _one_line

pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

pytestmark = pytest.mark.slow

APP = """\
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
def index():
    return {"secure": True}
"""

HTTPS = r"Running on (https://127\.0\.0\.1:\d+)"


@pytest.fixture
def pem_pair(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "main.py").write_text(APP)
    return _make_pem_pair(tmp_path, "good")


def _get(url: str, context: ssl.SSLContext) -> t.Any:
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        return json.load(response)


def _trusting(cert: Path | None) -> ssl.SSLContext:
    """A client context that trusts ``cert`` (None: that checks nothing, for adhoc)."""
    if cert is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    return context


@pytest.mark.parametrize("reload", [False, True], ids=["plain", "reload"])
def test_https_with_a_pem_pair(tmp_path: Path, pem_pair: tuple[Path, Path], reload: bool) -> None:
    cert, key = pem_pair
    args = ["--app", "main:app", "run", "--port", "0", "--cert", str(cert), "--key", str(key)]
    proc, url = _start([*args, *(["--reload"] if reload else [])], tmp_path, {}, pattern=HTTPS)
    try:
        assert _get(url + "/", _trusting(cert)) == {"secure": True}
    finally:
        code = _stop(proc, signal.SIGTERM)
    assert code == 0
    assert _port_is_free(url)


def test_https_adhoc_makes_a_certificate_for_this_machine(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    (tmp_path / "main.py").write_text(APP)
    proc, url = _start(
        ["--app", "main:app", "run", "--port", "0", "--cert", "adhoc"], tmp_path, {}, pattern=HTTPS
    )
    try:
        assert _get(url + "/", _trusting(None)) == {"secure": True}
        # The certificate names this machine: a client that trusts it checks the host name.
        served = ssl.get_server_certificate(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        checking = ssl.create_default_context(cadata=served)
        assert checking.check_hostname
        local = url.replace("127.0.0.1", "localhost")
        assert _get(local + "/", checking) == {"secure": True}
    finally:
        assert _stop(proc, signal.SIGTERM) == 0


SSL_CONTEXT_MODULE = """\
import ssl
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain({cert!r}, {key!r})
"""


def test_https_with_an_ssl_context_by_import_path(
    tmp_path: Path, pem_pair: tuple[Path, Path]
) -> None:
    cert, key = pem_pair
    (tmp_path / "certs.py").write_text(SSL_CONTEXT_MODULE.format(cert=str(cert), key=str(key)))
    proc, url = _start(
        ["--app", "main:app", "run", "--port", "0", "--cert", "certs:context"],
        tmp_path,
        {"PYTHONPATH": str(tmp_path)},
        pattern=HTTPS,
    )
    try:
        assert _get(url + "/", _trusting(cert)) == {"secure": True}
    finally:
        assert _stop(proc, signal.SIGTERM) == 0


def test_an_ssl_context_with_reload_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, pem_pair: tuple[Path, Path]
) -> None:
    cert, key = pem_pair
    (tmp_path / "certs.py").write_text(SSL_CONTEXT_MODULE.format(cert=str(cert), key=str(key)))
    result = run_appshell(
        *("--app", "main:app", "run", "--port", "0", "--reload", "--cert", "certs:context"),
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "cannot be handed an SSLContext" in _one_line(result.stderr)


@pytest.mark.parametrize("broken", ["cert", "key"], ids=["cert-not-pem", "key-not-pem"])
def test_tls_files_that_are_not_pem_name_the_file(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, pem_pair: tuple[Path, Path], broken: str
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("this is not a certificate\n")
    cert, key = (junk, pem_pair[1]) if broken == "cert" else (pem_pair[0], junk)
    result = run_appshell(
        "--app", "main:app", "run", "--port", "0", "--cert", str(cert), "--key", str(key)
    )
    assert result.returncode == 2
    kind = "certificate" if broken == "cert" else "private key"
    assert f"{str(junk)!r} is not a PEM {kind}" in _one_line(result.stderr)


def test_a_key_that_is_not_the_certificates_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, pem_pair: tuple[Path, Path]
) -> None:
    _, other_key = _make_pem_pair(tmp_path, "other")
    result = run_appshell(
        *("--app", "main:app", "run", "--port", "0"),
        *("--cert", str(pem_pair[0]), "--key", str(other_key)),
    )
    assert result.returncode == 2
    assert "the key is not the certificate's" in _one_line(result.stderr)


def test_adhoc_without_cryptography_is_exit_2_naming_the_package(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    (tmp_path / "main.py").write_text(APP)
    shadow = tmp_path / "no_cryptography"
    shadow.mkdir()
    (shadow / "cryptography.py").write_text("raise ImportError('No module named cryptography')\n")
    result = run_appshell(
        "--app",
        "main:app",
        "run",
        "--port",
        "0",
        "--cert",
        "adhoc",
        env={"PYTHONPATH": f"{shadow}:{tmp_path}"},
    )
    assert result.returncode == 2
    assert "pip install cryptography" in result.stderr
    assert "Traceback" not in result.stderr
