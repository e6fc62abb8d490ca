"""``appshell run``: a real werkzeug server on loopback, in a subprocess."""

from __future__ import annotations

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


def _start(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
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
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        match = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return proc, match.group(1)
    _stop(proc, signal.SIGKILL)
    pytest.fail("the server did not say where it runs:\n" + "".join(seen))


def _port_is_free(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_readers: dict[int, threading.Thread] = {}


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
