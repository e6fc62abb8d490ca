"""The ASGI lifespan run by the session, through the real command, on real apps."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import APPSHELL, Result, _clean_environ

pytestmark = pytest.mark.slow

RECORD = """
def record(event):
    with open("lifespan.log", "a") as f:
        f.write(event + "\\n")
"""

FASTAPI_APP = (
    """
import contextlib, os
import aiosqlite
from fastapi import FastAPI, Request
"""
    + RECORD
    + """
@contextlib.asynccontextmanager
async def lifespan(app):
    if os.environ.get("FAIL") == "startup":
        raise RuntimeError("the database is not there")
    if os.environ.get("FAIL") == "hang":
        import asyncio
        print("starting", flush=True)
        await asyncio.sleep(3600)
    db = await aiosqlite.connect(":memory:")
    await db.execute("create table items (name text)")
    await db.executemany("insert into items values (?)", [("apple",), ("pear",)])
    app.state.db = db
    record("startup")
    yield {"db": db}
    await db.close()
    record("shutdown")
    if os.environ.get("FAIL") == "shutdown":
        raise RuntimeError("could not close the pool")

app = FastAPI(lifespan=lifespan)

@app.get("/items")
async def items(request: Request):
    async with request.state.db.execute("select name from items") as cursor:
        return [row[0] async for row in cursor]
"""
)

STARLETTE_APP = (
    """
import contextlib
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
"""
    + RECORD
    + """
@contextlib.asynccontextmanager
async def lifespan(app):
    app.state.greeting = "hello"
    record("startup")
    yield {"count": 41}
    record("shutdown")

async def hello(request):
    return JSONResponse({"count": request.state.count + 1})

app = Starlette(routes=[Mount("/api", app=Starlette(routes=[Route("/hello", hello)]))],
                lifespan=lifespan)
"""
)

LITESTAR_APP = (
    """
import os
from litestar import Litestar, get
from litestar.datastructures import State
"""
    + RECORD
    + """
async def open_pool(app):
    if os.environ.get("FAIL") == "startup":
        raise RuntimeError("no pool for litestar")
    app.state.pool = ["conn"]
    record("startup")

async def close_pool(app):
    record("shutdown")

@get("/pool")
async def pool(state: State) -> dict:
    return {"pool": state.pool}

app = Litestar([pool], on_startup=[open_pool], on_shutdown=[close_pool], logging_config=None)
"""
)

QUART_APP = (
    """
import os
from quart import Quart, current_app
"""
    + RECORD
    + """
app = Quart(__name__)

@app.before_serving
async def opened():
    if os.environ.get("FAIL") == "startup":
        raise RuntimeError("no pool for quart")
    app.config["POOL"] = "pool"
    record("startup")

@app.after_serving
async def closed():
    record("shutdown")

@app.shell_context_processor
def names():
    return {"pool_name": current_app.config["POOL"]}

@app.get("/pool")
async def pool():
    return {"pool": current_app.config["POOL"]}
"""
)

BARE_APP = """
class Bare:
    async def __call__(self, scope, receive, send):
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"bare"})

app = Bare()
"""

APPS = {
    "fastapi": FASTAPI_APP,
    "starlette": STARLETTE_APP,
    "litestar": LITESTAR_APP,
    "quart": QUART_APP,
    "bare": BARE_APP,
}


def write_app(folder: Path, kind: str) -> str:
    (folder / f"{kind}_app.py").write_text(textwrap.dedent(APPS[kind]))
    return f"{kind}_app:app"


def recorded(folder: Path) -> list[str]:
    log = folder / "lifespan.log"
    return log.read_text().split() if log.exists() else []


def shell(folder: Path, app: str, *args: str, **env: str) -> Result:
    full_env = {**_clean_environ(), **env}
    proc = subprocess.run(
        [str(APPSHELL), "--app", app, "shell", *args],
        cwd=folder,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_client_reads_what_the_lifespan_opened(tmp_path: Path) -> None:
    app = write_app(tmp_path, "fastapi")
    result = shell(tmp_path, app, "-c", 'r = await client.get("/items"); print(r.json())')
    assert result == (0, "['apple', 'pear']\n", "")
    assert recorded(tmp_path) == ["startup", "shutdown"]


@pytest.mark.parametrize(
    ("kind", "code", "printed"),
    [
        (
            "starlette",
            'r = await client.get("/api/hello"); print(r.json(), state, app.state.greeting)',
            "{'count': 42} {'count': 41} hello",
        ),
        ("litestar", 'r = await client.get("/pool"); print(r.json())', "{'pool': ['conn']}"),
        (
            "quart",
            "from quart import current_app\n"
            'r = await client.get("/pool"); print(r.json(), pool_name, current_app.name)',
            "{'pool': 'pool'} pool quart_app",
        ),
    ],
    ids=["starlette-mounted", "litestar-on-startup", "quart-before-serving"],
)
def test_each_framework_starts_and_stops_once(
    tmp_path: Path, kind: str, code: str, printed: str
) -> None:
    app = write_app(tmp_path, kind)
    result = shell(tmp_path, app, "-c", code)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == printed
    assert recorded(tmp_path) == ["startup", "shutdown"]


def test_an_app_without_lifespan_support_is_fine(tmp_path: Path) -> None:
    app = write_app(tmp_path, "bare")
    result = shell(
        tmp_path, app, "-c", 'r = await client.get("/"); print(r.text, "state" in dir())'
    )
    assert result == (0, "bare False\n", "")


def test_sys_exit_keeps_its_code_and_shuts_down(tmp_path: Path) -> None:
    app = write_app(tmp_path, "fastapi")
    result = shell(tmp_path, app, "-c", "import sys; sys.exit(3)")
    assert result.returncode == 3
    assert recorded(tmp_path) == ["startup", "shutdown"]


def test_a_script_that_raises_still_shuts_down(tmp_path: Path) -> None:
    app = write_app(tmp_path, "fastapi")
    (tmp_path / "fix.py").write_text("print(len(state))\nraise ValueError('bad row')\n")
    result = shell(tmp_path, app, "fix.py")
    assert result.returncode == 1
    assert result.stdout == "1\n"
    assert "ValueError: bad row" in result.stderr
    assert recorded(tmp_path) == ["startup", "shutdown"]


def test_no_lifespan_skips_it(tmp_path: Path) -> None:
    app = write_app(tmp_path, "fastapi")
    result = shell(tmp_path, app, "--no-lifespan", "-c", 'print(hasattr(app.state, "db"))')
    assert result == (0, "False\n", "")
    assert recorded(tmp_path) == []


@pytest.mark.parametrize(
    "kind", ["fastapi", "quart", "litestar"], ids=["fastapi-raises", "quart-failed", "litestar"]
)
def test_a_startup_that_fails_is_the_users_error(tmp_path: Path, kind: str) -> None:
    app = write_app(tmp_path, kind)
    result = shell(tmp_path, app, "-c", "print('ran')", FAIL="startup")
    assert result.returncode == 1
    assert result.stdout == ""
    message = {"fastapi": "the database is not there"}.get(kind, f"no pool for {kind}")
    assert message in result.stderr
    assert "appshell/" not in result.stderr
    if kind != "quart":
        # From the user's frame: no framework's, anyio's or contextlib's frames before it,
        # and the hook's own error, not the task group's that wrapped it (Litestar).
        first = "Traceback (most recent call last):\n  File " + repr(str(tmp_path / kind))[:-1]
        assert result.stderr.replace("'", '"').startswith(first.replace("'", '"')), result.stderr
        assert "ExceptionGroup" not in result.stderr
    # Litestar runs its on_shutdown hooks itself when an on_startup hook fails.
    assert recorded(tmp_path) == (["shutdown"] if kind == "litestar" else [])


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [("print('ran')", 1), ("import sys; sys.exit(3)", 3)],
    ids=["clean-end-becomes-1", "script-code-wins"],
)
def test_a_shutdown_that_raises(tmp_path: Path, code: str, exit_code: int) -> None:
    app = write_app(tmp_path, "fastapi")
    result = shell(tmp_path, app, "-c", code, FAIL="shutdown")
    assert result.returncode == exit_code
    assert result.stderr.endswith("RuntimeError: could not close the pool\n")
    assert "appshell/" not in result.stderr
    assert recorded(tmp_path) == ["startup", "shutdown"]


def start(folder: Path, app: str, code: str, **env: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(APPSHELL), "--app", app, "shell", "-c", code],
        cwd=folder,
        env={**_clean_environ(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() in ("ready\n", "starting\n")
    time.sleep(0.2)
    return proc


@pytest.mark.parametrize(
    "code",
    [
        "import asyncio; print('ready', flush=True); await asyncio.sleep(30)",
        "import time; print('ready', flush=True); time.sleep(30)",
    ],
    ids=["while-awaiting", "while-sleeping"],
)
def test_sigterm_runs_the_shutdown_once(tmp_path: Path, code: str) -> None:
    app = write_app(tmp_path, "fastapi")
    proc = start(tmp_path, app, code)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert recorded(tmp_path) == ["startup", "shutdown"]


def test_ctrl_c_ends_a_startup_that_never_finishes(tmp_path: Path) -> None:
    app = write_app(tmp_path, "fastapi")
    proc = start(tmp_path, app, "print('ran')", FAIL="hang")
    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "ran" not in stdout
    assert "Traceback" not in stderr
    assert recorded(tmp_path) == []


def flask_like(folder: Path) -> str:
    (folder / "plain.py").write_text(
        "import flask\napp = flask.Flask(__name__)\n"
        "@app.get('/')\ndef index():\n    return 'flask'\n"
    )
    return "plain:app"


def test_a_wsgi_session_imports_no_asyncio_nor_httpx(tmp_path: Path) -> None:
    app = flask_like(tmp_path)
    code = "import sys; print('asyncio' in sys.modules, 'httpx' in sys.modules)"
    result = shell(tmp_path, app, "-c", code)
    assert result == (0, "False False\n", "")


@pytest.mark.parametrize("end", ["exit", "sigterm"], ids=["exit()", "sigterm-at-the-prompt"])
def test_the_python_repl_shuts_down_once(tmp_path: Path, end: str) -> None:
    pexpect = pytest.importorskip("pexpect")
    app = write_app(tmp_path, "fastapi")
    child = pexpect.spawn(
        str(APPSHELL),
        ["--app", app, "shell", "--repl", "python", "-q", "--no-history"],
        cwd=str(tmp_path),
        env=_clean_environ(),
        encoding="utf-8",
        timeout=30,
    )
    child.expect(">>> ")
    child.sendline('r = await client.get("/items"); print(r.json())')
    child.expect(r"\['apple', 'pear'\]")
    child.expect(">>> ")
    if end == "exit":
        child.sendline("exit()")
    else:
        child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == (0 if end == "exit" else 143)
    assert recorded(tmp_path) == ["startup", "shutdown"]
