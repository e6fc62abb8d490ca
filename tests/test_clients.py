"""``client`` in every namespace: made on first use, bound to the shell's own app object."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from appshell.adapters import adapter_for
from appshell.clients import LazyClient, make_client

from .conftest import Result

Run = t.Callable[..., Result]

FLASK_APP = """
import flask
app = flask.Flask(__name__)
app.config["GREETING"] = "hello"

@app.get("/")
def index():
    return flask.current_app.config["GREETING"]
"""

WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]
"""

ASGI_APP = """
class Echo:
    async def __call__(self, scope, receive, send):
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

app = Echo()
"""


def test_lazy_client_is_made_once_on_first_use() -> None:
    made: list[object] = []

    class Fake:
        def get(self, path: str) -> str:
            return f"got {path}"

    def factory() -> Fake:
        made.append(Fake())
        return t.cast(Fake, made[-1])

    client = LazyClient(factory)
    assert repr(client) == "<client: made on first use>"
    assert made == []
    assert client.get("/a") == "got /a"
    assert client.get("/b") == "got /b"
    assert len(made) == 1
    assert client.made is made[0]


def test_a_plain_wsgi_app_gets_werkzeug_client() -> None:
    from werkzeug.test import Client

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    client = make_client(adapter_for(app))
    assert isinstance(client, Client)
    assert client.get("/").data == b"ok"


@pytest.mark.slow
def test_flask_client_is_called_plainly_and_sees_the_shell_changes(
    tmp_path: Path, run_appshell: Run
) -> None:
    (tmp_path / "blog.py").write_text(FLASK_APP)
    code = "app.config['GREETING'] = 'changed'; print(client.get('/').text)"
    result = run_appshell("--app", "blog:app", "shell", "-c", code)
    assert result == (0, "changed\n", "")


@pytest.mark.slow
def test_a_plain_wsgi_app_in_the_shell(tmp_path: Path, run_appshell: Run) -> None:
    (tmp_path / "plain.py").write_text(WSGI_APP)
    result = run_appshell("--app", "plain:app", "shell", "-c", "print(client.get('/x').text)")
    assert result == (0, "/x\n", "")


@pytest.mark.slow
def test_asgi_client_is_awaited(tmp_path: Path, run_appshell: Run) -> None:
    (tmp_path / "echo.py").write_text(ASGI_APP)
    code = "r = await client.get('/items'); print(r.status_code, r.text, r.url)"
    result = run_appshell("--app", "echo:app", "shell", "-c", code)
    assert result == (0, "200 /items http://testserver/items\n", "")


@pytest.mark.slow
def test_client_costs_nothing_until_used(tmp_path: Path, run_appshell: Run) -> None:
    (tmp_path / "echo.py").write_text(ASGI_APP)
    code = "import sys; print('httpx' in sys.modules, repr(client))"
    result = run_appshell("--app", "echo:app", "shell", "-c", code)
    assert result == (0, "False <client: made on first use>\n", "")


@pytest.mark.slow
def test_client_is_listed_as_a_default(tmp_path: Path, run_appshell: Run) -> None:
    (tmp_path / "blog.py").write_text(FLASK_APP)
    result = run_appshell("--app", "blog:app", "shell", "--print-context", "--json")
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["client"]["source"] == "default"
    assert records["client"]["type"] == "appshell.clients.LazyClient"


@pytest.mark.slow
def test_a_client_the_app_defines_wins(tmp_path: Path, run_appshell: Run) -> None:
    (tmp_path / "blog.py").write_text(
        FLASK_APP + "\n@app.shell_context_processor\ndef names():\n    return {'client': 42}\n"
    )
    result = run_appshell("--app", "blog:app", "shell", "-c", "print(client)")
    assert result == (0, "42\n", "")
    listing = run_appshell("--app", "blog:app", "shell", "--print-context", "--json")
    records = {r["name"]: r for r in json.loads(listing.stdout)}
    assert records["client"]["source"] == "adapter"
    assert records["client"]["overrides"] == ["default"]


@pytest.mark.slow
def test_without_httpx_client_says_which_extra(tmp_path: Path, run_appshell: Run) -> None:
    (tmp_path / "echo.py").write_text(ASGI_APP)
    blocker = tmp_path / "blocked" / "httpx"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('httpx is not installed')\n")
    env = {"PYTHONPATH": str(blocker.parent)}
    opened = run_appshell("--app", "echo:app", "shell", "-c", "print('open')", env=env)
    assert opened == (0, "open\n", "")
    result = run_appshell("--app", "echo:app", "shell", "-c", "client.get('/')", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "appshell: client for an ASGI app needs httpx: pip install 'appshell[asgi]'\n"
    )
