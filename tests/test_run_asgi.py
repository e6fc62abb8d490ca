"""``appshell run`` and ``cli.run(background=True)`` for ASGI apps: real uvicorn servers on
loopback, driven through the real command."""

from __future__ import annotations

import signal
import socket
import textwrap
import typing as t
import urllib.request
from pathlib import Path

import pytest

from .test_run import _port_is_free, _seen, _start, _stop

pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

pytestmark = pytest.mark.slow

FASTAPI_APP = """\
import contextlib
from fastapi import FastAPI

@contextlib.asynccontextmanager
async def lifespan(app):
    app.state.greeting = "hello from the lifespan"
    yield

app = FastAPI(lifespan=lifespan)

@app.get("/")
def index():
    return {"greeting": app.state.greeting, "debug": app.debug, "version": "one"}
"""

STARLETTE_APP = """\
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

inner = Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])
app = Starlette(routes=[Mount("/api", app=inner)])
"""


@pytest.fixture
def fastapi_app(tmp_path: Path) -> Path:
    path = tmp_path / "main.py"
    path.write_text(FASTAPI_APP)
    return path


# The app of the background tests records each lifespan startup in a file.
RECORDING_APP = """\
import contextlib, os
from fastapi import FastAPI

@contextlib.asynccontextmanager
async def lifespan(app):
    with open(os.environ["STARTUPS"], "a") as record:
        record.write("startup\\n")
    app.state.greeting = "hello from the lifespan"
    yield

app = FastAPI(lifespan=lifespan)

@app.get("/")
def index():
    return {"greeting": getattr(app.state, "greeting", None)}
"""


def _json(url: str) -> t.Any:
    import json

    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _answers_eventually(url: str, part: bytes, seconds: float = 30) -> bool:
    """GET ``url`` until its body holds ``part`` (the reloader's child may be restarting;
    an app that fails to load answers 500 with its error)."""
    import http.client
    import time
    import urllib.error

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            body = e.read()
        except (OSError, http.client.HTTPException):
            body = b""
        if part in body:
            return True
        time.sleep(0.2)
    return False


def _without_uvicorn(folder: Path) -> dict[str, str]:
    """An environment in which ``import uvicorn`` fails, as it does without the extra."""
    shadow = folder / "no_uvicorn"
    shadow.mkdir()
    (shadow / "uvicorn.py").write_text("raise ImportError('No module named uvicorn')\n")
    return {"PYTHONPATH": str(shadow)}


def test_run_port_0_prints_the_url_first_serves_and_sigterm_frees_the_port(
    tmp_path: Path, fastapi_app: Path
) -> None:
    proc, url = _start(["--app", "main:app", "run", "--port", "0"], tmp_path, {})
    try:
        assert int(url.rsplit(":", 1)[1]) != 0
        # The lifespan ran before the first request: the server is the app's.
        assert _json(url + "/") == {
            "greeting": "hello from the lifespan",
            "debug": False,
            "version": "one",
        }
        assert not _port_is_free(url)
        printed = list(_seen[proc.pid])
    finally:
        code = _stop(proc, signal.SIGTERM)
    assert code == 0
    assert _port_is_free(url)
    assert printed[0].startswith(f" * Running on {url}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_starlette_app_with_a_mount_stops_cleanly(tmp_path: Path, sig: int) -> None:
    (tmp_path / "mounted.py").write_text(STARLETTE_APP)
    proc, url = _start(["--app", "mounted:app", "run", "--port", "0"], tmp_path, {})
    try:
        with urllib.request.urlopen(url + "/api/ping", timeout=10) as response:
            assert response.read() == b"pong"
    finally:
        code = _stop(proc, sig)
    assert code == 0
    assert _port_is_free(url)


# An app whose lifespan startup fails, awaits for ever, or blocks the loop (STARTUP).
STARTUP_APP = """\
import asyncio, contextlib, os, time
from starlette.applications import Starlette

@contextlib.asynccontextmanager
async def lifespan(app):
    print("starting", flush=True)
    if os.environ["STARTUP"] == "fail":
        raise RuntimeError("the database is not there")
    if os.environ["STARTUP"] == "hang":
        await asyncio.sleep(3600)
    time.sleep(3600)
    yield

app = Starlette(lifespan=lifespan)
"""


def test_a_startup_that_fails_is_the_users_error(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    (tmp_path / "startup.py").write_text(STARTUP_APP)
    result = run_appshell("--app", "startup:app", "run", "--port", "0", env={"STARTUP": "fail"})
    assert result.returncode == 1, result.stderr
    assert "RuntimeError: the database is not there" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("startup", ["hang", "block"])
def test_a_startup_that_never_finishes_is_stopped_by_a_signal(
    tmp_path: Path, startup: str, sig: int
) -> None:
    (tmp_path / "startup.py").write_text(STARTUP_APP)
    args = ["--app", "startup:app", "run", "--port", "0"]
    proc, _ = _start(args, tmp_path, {"STARTUP": startup}, pattern="(starting)")
    assert _stop(proc, sig) == 0
    printed = "".join(_seen.pop(proc.pid, []))
    assert "Traceback" not in printed, printed


def test_debug_sets_the_apps_debug_mode_without_a_debugger(
    tmp_path: Path, fastapi_app: Path
) -> None:
    proc, url = _start(
        ["--app", "main:app", "run", "--debug", "--no-reload", "--port", "0"], tmp_path, {}
    )
    try:
        assert _json(url + "/")["debug"] is True
        printed = "".join(_seen[proc.pid])
    finally:
        assert _stop(proc, signal.SIGTERM) == 0
    assert "Debug mode: on" in printed


def test_an_apps_own_debug_mode_stays_on(tmp_path: Path) -> None:
    # FastAPI(debug=True) with no --debug: the app is served as it made itself.
    (tmp_path / "main.py").write_text(FASTAPI_APP.replace("FastAPI(", "FastAPI(debug=True, "))
    proc, url = _start(["--app", "main:app", "run", "--no-reload", "--port", "0"], tmp_path, {})
    try:
        assert _json(url + "/")["debug"] is True
        printed = "".join(_seen[proc.pid])
    finally:
        assert _stop(proc, signal.SIGTERM) == 0
    assert "Debug mode: on" in printed


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_reload_restarts_after_a_file_change(tmp_path: Path, fastapi_app: Path, sig: int) -> None:
    proc, url = _start(["--app", "main:app", "run", "--port", "0", "--reload"], tmp_path, {})
    try:
        assert _answers_eventually(url + "/", b'"version":"one"')
        fastapi_app.write_text(FASTAPI_APP.replace('"one"', '"two"'))
        assert _answers_eventually(url + "/", b'"version":"two"')
    finally:
        code = _stop(proc, sig)
    assert code == 0
    assert _port_is_free(url)


# Breaks the app at its load, or at its lifespan startup (a reloader's child that took
# connections it never answered).
BROKEN = {
    "load": (FASTAPI_APP + "def broken(:\n", b"SyntaxError"),
    "startup": (
        FASTAPI_APP.replace("app.state.greeting =", 'raise RuntimeError("no db")\n    x ='),
        b"lifespan startup failed",
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_reload_serves_a_broken_app_as_its_error_until_it_is_fixed(
    tmp_path: Path, fastapi_app: Path, broken: str
) -> None:
    source, shown = BROKEN[broken]
    proc, url = _start(["--app", "main:app", "run", "--port", "0", "--reload"], tmp_path, {})
    try:
        assert _answers_eventually(url + "/", b'"version":"one"')
        fastapi_app.write_text(source)
        assert _answers_eventually(url + "/", shown)
        fastapi_app.write_text(FASTAPI_APP.replace('"one"', '"fixed"'))
        assert _answers_eventually(url + "/", b'"version":"fixed"')
    finally:
        assert _stop(proc, signal.SIGTERM) == 0


def test_a_save_right_after_a_restart_is_not_lost(tmp_path: Path) -> None:
    # uvicorn's polling reloader forgot the file times at a restart and noted them again on
    # its next poll: a fix saved in between was never seen (the error stayed served).
    import multiprocessing
    import os

    from uvicorn.config import Config
    from uvicorn.supervisors.statreload import StatReload

    from appshell.serving.asgi import _reloader_class

    source = tmp_path / "main.py"
    source.write_text("version = 1\n")
    config = Config(app="main:app", reload=True, reload_dirs=[str(tmp_path)], reload_delay=0.01)
    # The children run ``dict(sockets=[])``: they start and end, and nothing else.
    reloader = _reloader_class(StatReload)(config, target=dict, sockets=[])
    reloader.process = multiprocessing.get_context("spawn").Process(target=dict)
    reloader.process.start()

    def touch(seconds: int) -> None:
        stamp = source.stat().st_mtime + seconds
        os.utime(source, (stamp, stamp))

    try:
        assert reloader.should_restart() is None
        touch(2)
        assert reloader.should_restart() == [source.resolve()]
        reloader.restart()
        touch(2)
        assert reloader.should_restart() == [source.resolve()]
    finally:
        reloader.process.join(30)


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_the_debugger_is_refused_on_an_asgi_app(
    run_appshell: t.Callable[..., t.Any], fastapi_app: Path
) -> None:
    result = run_appshell("--app", "main:app", "run", "--port", "0", "--debugger")
    assert result.returncode == 2
    assert "no interactive debugger for ASGI apps" in _one_line(result.stderr)


def test_a_busy_port_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any], fastapi_app: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_appshell("--app", "main:app", "run", "--port", str(port))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"Port {port}" in line
    assert "in use" in line


def test_run_without_uvicorn_names_the_extra(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, fastapi_app: Path
) -> None:
    result = run_appshell("--app", "main:app", "run", "--port", "0", env=_without_uvicorn(tmp_path))
    assert result.returncode == 2
    assert "pip install 'appshell[asgi]'" in _one_line(result.stderr)


BACKGROUND_SCRIPT = """\
import socket, threading, urllib.request
import httpx

opened = getattr(app.state, "greeting", None) is not None
print("session lifespan:", opened)
server = cli.run(background=True, port=0)
assert server.port != 0 and server.url == f"http://127.0.0.1:{server.port}", server.url

# From the session's own loop...
async with httpx.AsyncClient() as http:
    greeting = (await http.get(server.url + "/")).json()["greeting"]
    print("loop: same state" if greeting == getattr(app.state, "greeting", None) else greeting)

# ...and from a thread, while the loop runs.
answers = []
def fetch():
    with urllib.request.urlopen(server.url + "/", timeout=10) as response:
        answers.append(response.read().decode())
thread = threading.Thread(target=fetch)
thread.start()
while thread.is_alive():
    await asyncio.sleep(0.05)
print("thread:", answers[0].startswith('{"greeting"'))

await server.stop()
print("after stop:", server.running)
with socket.socket() as probe:
    # As a new server would bind: closed connections in TIME_WAIT do not count.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", server.port))
    print("port freed")
"""


def test_a_background_server_is_a_task_of_the_session_loop(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    (tmp_path / "recording.py").write_text(RECORDING_APP)
    startups = tmp_path / "startups.txt"
    script = tmp_path / "serve.py"
    script.write_text("import asyncio\n" + BACKGROUND_SCRIPT)
    result = run_appshell(
        "--app", "recording:app", "shell", str(script), env={"STARTUPS": str(startups)}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Serving FastAPI on http://127.0.0.1:" in out
    # The server shares the session's lifespan state and never runs the lifespan itself:
    # the only startup recorded is the session's (none where the session runs no lifespan).
    assert "loop: same state" in out
    session_ran_it = "session lifespan: True" in out
    recorded = startups.read_text().splitlines() if startups.exists() else []
    assert recorded == (["startup"] if session_ran_it else [])
    assert "thread: True" in out
    assert "after stop: False" in out
    assert "port freed" in out


def test_a_background_server_left_running_is_stopped_with_the_session(
    run_appshell: t.Callable[..., t.Any], fastapi_app: Path
) -> None:
    code = textwrap.dedent(
        """\
        server = cli.run(background=True, port=0)
        print(server.port, server.running)
        """
    )
    result = run_appshell("--app", "main:app", "shell", "-c", code, timeout=30)
    assert result.returncode == 0, result.stderr
    port, running = result.stdout.split()[-2:]
    assert running == "True"
    assert _port_is_free(f"http://127.0.0.1:{port}")


def test_a_second_await_of_stop_does_nothing(
    run_appshell: t.Callable[..., t.Any], fastapi_app: Path
) -> None:
    code = textwrap.dedent(
        """\
        server = cli.run(background=True, port=0)
        await server.stop()
        await server.stop()
        print("stopped twice:", server.running)
        """
    )
    result = run_appshell("--app", "main:app", "shell", "-c", code, timeout=30)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert "stopped twice: False" in result.stdout


@pytest.mark.parametrize(
    ("code", "expected", "without_uvicorn"),
    [
        ("cli.run(background=True, port=0, debugger=True)", "no interactive debugger", False),
        ("cli.run(background=True, port=0)", "pip install 'appshell[asgi]'", True),
    ],
    ids=["debugger", "no-uvicorn"],
)
def test_a_background_server_refused_is_one_line_and_the_shell_goes_on(
    run_appshell: t.Callable[..., t.Any],
    tmp_path: Path,
    fastapi_app: Path,
    code: str,
    expected: str,
    without_uvicorn: bool,
) -> None:
    env = _without_uvicorn(tmp_path) if without_uvicorn else {}
    result = run_appshell(
        "--app", "main:app", "shell", "-c", f"r = {code}\nprint('exit', r.exit_code)", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "exit 2" in result.stdout
    assert expected in _one_line(result.stderr)
