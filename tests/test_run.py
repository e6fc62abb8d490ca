"""``appshell run``: a real werkzeug server on loopback, in a subprocess."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import typing as t
import urllib.request
from pathlib import Path

import pytest

from .conftest import APPS, APPSHELL, _clean_environ

pytestmark = pytest.mark.slow


def _start(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    pattern: str = r"Running on (http://127\.0\.0\.1:\d+)",
) -> tuple[subprocess.Popen[str], str]:
    full_env = _clean_environ() | env
    proc = subprocess.Popen(
        [str(APPSHELL), *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    _seen[proc.pid] = seen

    def read(stdout: t.IO[str]) -> None:
        for line in stdout:
            seen.append(line)
            lines.put(line)

    # A thread reads, so that a silent server cannot block the test past its deadline; it
    # keeps everything the server prints, for _stop_and_read.
    reader = threading.Thread(target=read, args=(proc.stdout,), daemon=True)
    reader.start()
    _readers[proc.pid] = reader
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        match = re.search(pattern, line)
        if match:
            return proc, match.group(1)
    _stop(proc, signal.SIGKILL)
    pytest.fail("the server did not say where it runs:\n" + "".join(seen))


def _port_is_free(url: str) -> bool:
    """Whether a new server could listen on the port (as werkzeug does, with SO_REUSEADDR:
    connections of the stopped server in TIME_WAIT do not count; a listener does)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_readers: dict[int, threading.Thread] = {}
_seen: dict[int, list[str]] = {}


def _stop_and_read(proc: subprocess.Popen[str]) -> str:
    """Stop the server and return all it printed."""
    _stop(proc, signal.SIGINT)
    return "".join(_seen.pop(proc.pid, []))


def _stop(proc: subprocess.Popen[str], sig: int) -> int:
    """Send ``sig``, wait for the exit code, and release the pipe."""
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader = _readers.pop(proc.pid, None)
        if reader is not None:
            reader.join(timeout=5)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    return {"APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3")}


def test_run_serves_the_demo_app_until_interrupted(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    proc, url = _start(["--app", "appshell.demo", "run", "--port", "0"], tmp_path, demo_env)
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            assert response.read() == b"ok\n"
        request = urllib.request.Request(
            f"{url}/notes",
            data=json.dumps({"title": "from a test"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        with urllib.request.urlopen(f"{url}/notes", timeout=10) as response:
            assert [n["title"] for n in json.load(response)] == ["from a test"]
    finally:
        code = _stop(proc, signal.SIGINT)
    assert code == 0
    assert _port_is_free(url)


def test_run_serves_a_flask_app(tmp_path: Path) -> None:
    app = tmp_path / "hello.py"
    app.write_text(
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "@app.route('/')\n"
        "def index():\n"
        "    return 'hello from flask'\n"
    )
    proc, url = _start(["--app", "hello", "run", "--port", "0"], tmp_path, {})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"hello from flask"
    finally:
        _stop(proc, signal.SIGINT)
    assert _port_is_free(url)


def test_run_without_an_app_is_a_usage_error(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("run", "--port", "0")
    assert result.returncode == 2
    assert "--app" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_reports_a_broken_app_as_the_users_error(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--app", str(APPS / "run_raises.py"), "run", "--port", "0")
    assert result.returncode == 1
    assert 'run_raises.py", line' in result.stderr
    assert "appshell" + os.sep not in result.stderr.split("run_raises.py")[0]


def test_port_0_prints_the_url_served_and_sigterm_stops_cleanly(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    proc, url = _start(["--app", "appshell.demo", "run", "--port", "0"], tmp_path, demo_env)
    port = int(url.rsplit(":", 1)[1])
    assert port != 0
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        assert response.read() == b"ok\n"
    assert not _port_is_free(url)
    assert _stop(proc, signal.SIGTERM) == 0
    assert _port_is_free(url)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_reloader_restarts_on_a_change_and_stops_with_its_child(
    tmp_path: Path, sig: int
) -> None:
    app = tmp_path / "reloading.py"
    app.write_text(
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "@app.route('/')\n"
        "def index():\n"
        "    return 'version one'\n"
    )
    proc, url = _start(["--app", "reloading", "run", "--port", "0", "--reload"], tmp_path, {})
    try:
        assert _get_eventually(url, b"version one")
        app.write_text(app.read_text().replace("version one", "version two"))
        assert _get_eventually(url, b"version two")
    finally:
        code = _stop(proc, sig)
    assert code == 0
    assert _port_is_free(url)


def _get_eventually(url: str, expected: bytes, seconds: float = 20) -> bool:
    """GET ``url`` until it answers ``expected`` (the reloader's child may be restarting)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.read() == expected:
                    return True
        except (OSError, http.client.HTTPException):
            pass  # the reloader's child is restarting: it may drop a request half-way
        time.sleep(0.2)
    return False


def test_the_debugger_is_refused_on_a_host_that_is_not_loopback(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    result = run_appshell("--app", "appshell.demo", "run", "--host", "0.0.0.0", "--debugger")
    assert result.returncode == 2
    assert "--allow-remote-debugger" in result.stderr
    assert "Traceback" not in result.stderr
    # --debug turns the debugger on too.
    result = run_appshell("--app", "appshell.demo", "--debug", "run", "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "--allow-remote-debugger" in result.stderr


def test_a_busy_port_is_one_line_and_exit_2(run_appshell: t.Callable[..., t.Any]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_appshell("--app", "appshell.demo", "run", "--port", str(port))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert f"Port {port}" in lines[0]
    assert "in use" in lines[0]


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("port", ["abc", "70000", "-1", "5000.5"], ids=str)
def test_a_port_that_is_not_a_port_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any], port: str
) -> None:
    # 70000 used to serve on 4464, -1 to say "Servname not supported", abc three lines.
    result = run_appshell("--app", "appshell.demo", "run", "--port", port)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"{port!r} is not a port" in line
    assert "0 to 65535" in line or "1 to 65535" in line


def test_a_host_that_does_not_resolve_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    result = run_appshell(
        "--app", "appshell.demo", "run", "--host", "no.such.host.invalid", "--port", "0"
    )
    assert result.returncode == 2
    assert "'no.such.host.invalid': the host does not resolve" in _one_line(result.stderr)


@pytest.fixture
def pem_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key, made by the openssl command."""
    return _make_pem_pair(tmp_path, "good")


def _make_pem_pair(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    try:
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
                *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        pytest.skip("the openssl command is not installed")
    return cert, key


@pytest.mark.parametrize("broken", ["cert", "key"], ids=["cert-not-pem", "key-not-pem"])
def test_tls_files_that_are_not_pem_name_the_file(
    run_appshell: t.Callable[..., t.Any],
    tmp_path: Path,
    pem_pair: tuple[Path, Path],
    broken: str,
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("this is not a certificate\n")
    cert, key = (junk, pem_pair[1]) if broken == "cert" else (pem_pair[0], junk)

    result = run_appshell(
        "--app", "appshell.demo", "run", "--port", "0", "--cert", str(cert), "--key", str(key)
    )

    assert result.returncode == 2
    kind = "certificate" if broken == "cert" else "private key"
    assert f"{str(junk)!r} is not a PEM {kind}" in _one_line(result.stderr)


def test_a_key_that_is_not_the_certificates_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, pem_pair: tuple[Path, Path]
) -> None:
    _, other_key = _make_pem_pair(tmp_path, "other")
    result = run_appshell(
        "--app",
        "appshell.demo",
        "run",
        "--port",
        "0",
        "--cert",
        str(pem_pair[0]),
        "--key",
        str(other_key),
    )
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert str(pem_pair[0]) in line
    assert str(other_key) in line
    assert "the key is not the certificate's" in line


def test_https_with_a_pem_pair(
    tmp_path: Path, demo_env: dict[str, str], pem_pair: tuple[Path, Path]
) -> None:
    import ssl

    cert, key = pem_pair
    proc, url = _start(
        ["--app", "appshell.demo", "run", "--port", "0", "--cert", str(cert), "--key", str(key)],
        tmp_path,
        demo_env,
        pattern=r"Running on (https://127\.0\.0\.1:\d+)",
    )
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with urllib.request.urlopen(f"{url}/health", timeout=10, context=context) as response:
            assert response.read() == b"ok\n"
    finally:
        _stop(proc, signal.SIGINT)


def test_reload_after_a_syntax_error_shows_only_the_users_frames_and_recovers(
    tmp_path: Path,
) -> None:
    app = tmp_path / "saved.py"
    good = (
        "from flask import Flask\napp = Flask(__name__)\napp.add_url_rule('/', 'i', lambda: 'up')\n"
    )
    app.write_text(good)
    proc, url = _start(["--app", "saved", "run", "--port", "0", "--reload"], tmp_path, {})
    try:
        assert _get_eventually(url, b"up")
        app.write_text(good + "def broken(:\n")
        page = _get_status_eventually(url, 500)
        assert 'saved.py", line 4' in page
        assert "SyntaxError" in page
        app.write_text(good.replace("'up'", "'fixed'"))
        assert _get_eventually(url, b"fixed")
    finally:
        output = _stop_and_read(proc)
    failure = output[output.index("reloading") :]
    assert "SyntaxError: invalid syntax" in failure
    # Only the user's file: none of appshell's, werkzeug's or importlib's frames.
    for internal in ("appshell" + os.sep, "werkzeug", "importlib", "Traceback"):
        assert internal not in failure, failure


def _get_status_eventually(url: str, status: int, seconds: float = 20) -> str:
    """GET ``url`` until it answers with ``status``; the body of that answer."""
    import urllib.error

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                code, body = response.status, response.read()
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read()
        except (OSError, http.client.HTTPException):
            code, body = 0, b""
        if code == status:
            return body.decode()
        time.sleep(0.2)
    pytest.fail(f"{url} never answered {status}")


def test_no_colour_into_a_pipe(tmp_path: Path, demo_env: dict[str, str]) -> None:
    proc, url = _start(["--app", "appshell.demo", "run", "--port", "0"], tmp_path, demo_env)
    with urllib.request.urlopen(f"{url}/health", timeout=10):
        pass
    time.sleep(0.5)  # the request's log line
    output = _stop_and_read(proc)
    assert "GET /health" in output
    assert "\x1b[" not in output


@pytest.mark.parametrize(
    ("no_color", "coloured"), [(True, False), (False, True)], ids=["NO_COLOR", "terminal"]
)
def test_colour_on_a_terminal_unless_no_color(
    tmp_path: Path, demo_env: dict[str, str], no_color: bool, coloured: bool
) -> None:
    import io

    import pexpect

    env = {k: v for k, v in _clean_environ().items() if k != "NO_COLOR"} | demo_env
    if no_color:
        env["NO_COLOR"] = "1"
    child = pexpect.spawn(
        str(APPSHELL),
        ["--app", "appshell.demo", "run", "--port", "0"],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    log = io.StringIO()
    child.logfile_read = log
    try:
        child.expect(r"Running on (http://127\.0\.0\.1:\d+)")
        with urllib.request.urlopen(f"{child.match.group(1)}/health", timeout=10):
            pass
        child.expect(r"GET /health[^\n]*\n")
    finally:
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
    assert ("\x1b[" in log.getvalue()) is coloured


def test_routes_json(run_appshell: t.Callable[..., t.Any], tmp_path: Path) -> None:
    (tmp_path / "routed.py").write_text(
        "from flask import Flask\n"
        "app = Flask(__name__, static_folder=None)\n"
        "app.config['SERVER_NAME'] = 'example.test'\n"
        "@app.route('/b', methods=['POST', 'GET'])\n"
        "def b():\n"
        "    return ''\n"
        "@app.route('/a', subdomain='api')\n"
        "def a():\n"
        "    return ''\n"
    )
    result = run_appshell("--app", "routed", "routes", "--json", "--sort", "rule")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"rule": "/a", "endpoint": "a", "methods": ["GET"], "host": None, "subdomain": "api"},
        {
            "rule": "/b",
            "endpoint": "b",
            "methods": ["GET", "POST"],
            "host": None,
            "subdomain": None,
        },
    ]
    result = run_appshell("--app", "routed", "routes", "--json", "--all-methods")
    methods = {r["rule"]: r["methods"] for r in json.loads(result.stdout)}
    assert methods["/b"] == ["GET", "HEAD", "OPTIONS", "POST"]
