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
    # A thread reads, so that a silent server cannot block the test past its deadline.
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    _readers[proc.pid] = reader
    seen: list[str] = []
    _seen[proc.pid] = seen
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
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


def test_allow_remote_debugger_warns_and_serves(tmp_path: Path, demo_env: dict[str, str]) -> None:
    proc, _ = _start(
        [
            "--app",
            "appshell.demo",
            "run",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--debugger",
            "--allow-remote-debugger",
        ],
        tmp_path,
        demo_env,
        pattern=r"Running on (http://127\.0\.0\.1:\d+)",
    )
    output = _stop_and_read(proc)
    assert "the debugger is on" in output
    assert "anyone who can reach" in output


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
