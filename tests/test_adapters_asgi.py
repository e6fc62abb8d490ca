"""ASGI apps through the real command: discovery with no app named, the routes of each
framework (table and JSON), Quart's shell names and commands, and the async callable that
only looks like an ASGI app."""

from __future__ import annotations

import json
import textwrap
import typing as t
from pathlib import Path

import pytest

from .conftest import APPS, Result

RunAppshell = t.Callable[..., Result]

ROUTES = {
    "asgi_fastapi": [
        ("feed", "WEBSOCKET", "/ws"),
        ("read-item", "GET", "/v1/items/{item_id}"),
        ("create_item", "POST", "/v1/items/"),
        ("legacy:legacy_index", "GET", "/legacy/"),
    ],
    "asgi_starlette": [
        ("homepage", "GET", "/"),
        ("Users", "GET, POST", "/users"),
        ("admin:stats", "GET, POST", "/admin/stats"),
        ("status", "GET", "api.example.com", "/status"),
    ],
    "asgi_litestar": [
        ("index", "GET", "/"),
        ("book", "GET", "/api/books/{book_id:int}"),
        ("update_book", "POST", "/api/books/{book_id:int}"),
        ("live", "WEBSOCKET", "/live"),
    ],
    "asgi_quart": [
        ("static", "GET", "/static/<path:filename>"),
        ("index", "GET", "/"),
        ("notes", "GET, POST", "/notes"),
        ("feed", "WEBSOCKET", "/ws"),
    ],
}


def table_rows(stdout: str) -> list[tuple[str, ...]]:
    """The rows of a routes table, cells split on runs of two or more spaces."""
    import re

    lines = stdout.splitlines()
    return [tuple(re.split(r"\s{2,}", line.strip())) for line in lines[2:]]


@pytest.mark.parametrize("module", list(ROUTES), ids=list(ROUTES))
def test_routes_table_in_matching_order(run_appshell: RunAppshell, module: str) -> None:
    result = run_appshell("--app", module, "routes", "--sort", "match", cwd=APPS)

    assert result.returncode == 0, result.stderr
    header = table_rows("\n\n" + result.stdout.splitlines()[0])[0]
    assert header[0] == "Endpoint"
    assert header[-1] == "Rule"
    assert table_rows(result.stdout) == ROUTES[module]


@pytest.mark.parametrize("module", list(ROUTES), ids=list(ROUTES))
def test_routes_json(run_appshell: RunAppshell, module: str) -> None:
    result = run_appshell("--app", module, "routes", "--json", "--sort", "match", cwd=APPS)

    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    expected = [
        {
            "endpoint": row[0],
            "methods": row[1].split(", "),
            "host": row[2] if len(row) == 4 else None,
            "rule": row[-1],
            "subdomain": None,
        }
        for row in ROUTES[module]
    ]
    assert records == expected


def test_all_methods_shows_what_the_framework_adds(run_appshell: RunAppshell) -> None:
    result = run_appshell("--app", "asgi_litestar", "routes", "--all-methods", cwd=APPS)

    assert result.returncode == 0, result.stderr
    assert ("index", "GET, OPTIONS", "/") in table_rows(result.stdout)


def starlette_module(path: Path, rule: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        textwrap.dedent(
            f"""
            from starlette.applications import Starlette
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route

            async def page(request):
                return PlainTextResponse("x")

            app = Starlette(routes=[Route({rule!r}, page)])
            """
        )
    )


@pytest.mark.parametrize(
    ("files", "rule"),
    [
        ({"asgi.py": "/asgi-py"}, "/asgi-py"),
        ({"main.py": "/main-py"}, "/main-py"),
        ({"api.py": "/api-py"}, "/api-py"),
        ({"app/__init__.py": "", "app/main.py": "/pkg-main"}, "/pkg-main"),
        ({"app/main.py": "/folder-main"}, "/folder-main"),
        ({"app/__init__.py": "", "app/app.py": "/pkg-app"}, "/pkg-app"),
        ({"app/__init__.py": "", "app/api.py": "/pkg-api"}, "/pkg-api"),
        ({"app.py": "/app-py", "asgi.py": "/asgi-py", "main.py": "/main-py"}, "/main-py"),
        ({"app.py": "/app-py", "api.py": "/api-py"}, "/app-py"),
        ({"api.py": "/api-py", "app/__init__.py": "", "app/main.py": "/pkg"}, "/api-py"),
        ({"app/__init__.py": "", "app/main.py": "/m", "app/app.py": "/a"}, "/m"),
        ({"app/__init__.py": "", "app/app.py": "/a", "app/api.py": "/api"}, "/a"),
        ({"asgi.py": "/asgi-py", "app/__init__.py": "", "app/api.py": "/pkg"}, "/pkg"),
        ({"fastapi": "backend.main:app", "backend/main.py": "/entrypoint"}, "/entrypoint"),
        ({"fastapi": "backend.main:app", "backend/main.py": "/entry", "main.py": "/m"}, "/entry"),
        ({"appshell": "site_app", "site_app.py": "/appshell", "main.py": "/m"}, "/appshell"),
        ({"appshell": "site_app", "site_app.py": "/appshell", "fastapi": "main:app"}, "/appshell"),
    ],
    ids=[
        "asgi.py",
        "main.py",
        "api.py",
        "app/main.py",
        "app/main.py-in-a-folder-that-is-no-package",
        "app/app.py",
        "app/api.py",
        "main.py-before-app.py-and-asgi.py",
        "app.py-before-api.py",
        "api.py-before-app/main.py",
        "app/main.py-before-app/app.py",
        "app/app.py-before-app/api.py",
        "app/api.py-before-asgi.py",
        "fastapi-entrypoint",
        "fastapi-entrypoint-before-main.py",
        "tool.appshell-before-main.py",
        "tool.appshell-before-fastapi-entrypoint",
    ],
)
def test_default_app_order(
    run_appshell: RunAppshell, tmp_path: Path, files: dict[str, str], rule: str
) -> None:
    # The order of `fastapi run` (its entrypoint setting, then main.py, app.py, api.py,
    # app/main.py, app/app.py, app/api.py), after appshell's own setting; asgi.py last.
    tables = []
    for name, content in files.items():
        if name in ("fastapi", "appshell"):
            key = "entrypoint" if name == "fastapi" else "app"
            tables.append(f'[tool.{name}]\n{key} = "{content}"\n')
        elif name.endswith("__init__.py"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("")
        else:
            starlette_module(tmp_path / name, content)
    if tables:
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n' + "\n".join(tables))

    result = run_appshell("routes")

    assert result.returncode == 0, result.stderr
    assert [row[-1] for row in table_rows(result.stdout)] == [rule]


def fastapi_module(path: Path, names: dict[str, str]) -> None:
    """A module of FastAPI apps, each under its name with one route (the name maps to the
    route's path)."""
    lines = ["from fastapi import FastAPI", ""]
    for name, rule in names.items():
        lines += [f"{name} = FastAPI()", f"@{name}.get({rule!r})", f"def {name}_page(): ...", ""]
    path.write_text("\n".join(lines))


@pytest.mark.parametrize(
    ("names", "rule"),
    [
        ({"other": "/other", "api": "/api"}, "/api"),
        ({"api": "/api", "app": "/app", "other": "/other"}, "/app"),
        ({"application": "/application", "api": "/api"}, "/api"),
        ({"api": "/api"}, "/api"),
    ],
    ids=["api-before-the-other-app", "app-before-api", "api-before-application", "only-api"],
)
def test_a_fastapi_module_is_looked_in_as_fastapi_does(
    run_appshell: RunAppshell, tmp_path: Path, names: dict[str, str], rule: str
) -> None:
    # `fastapi run` takes `app`, then `api`, then the only FastAPI instance.
    fastapi_module(tmp_path / "main.py", names)

    result = run_appshell("routes")

    assert result.returncode == 0, result.stderr
    assert {row[-1] for row in table_rows(result.stdout)} & set(names.values()) == {rule}


def test_a_flask_app_called_api_is_not_preferred(run_appshell: RunAppshell, tmp_path: Path) -> None:
    # Flask looks for `app` and `application` only: two apps are still two apps to it.
    (tmp_path / "app.py").write_text(
        "from flask import Flask\napi = Flask('api')\nother = Flask('other')\n"
    )

    result = run_appshell("routes")

    assert result.returncode == 2
    assert "Found more than one app in module 'app'" in result.stderr


DEBUG_APPS = {
    "fastapi": "from fastapi import FastAPI\napp = FastAPI(debug=True)\n",
    "litestar": "from litestar import Litestar\napp = Litestar([], debug=True)\n",
    "quart": "from quart import Quart\napp = Quart(__name__)\napp.debug = True\n",
}


@pytest.mark.parametrize(
    ("framework", "args", "shown"),
    [
        ("fastapi", [], "True"),
        ("litestar", [], "True"),
        ("fastapi", ["--no-debug"], "False"),
        ("litestar", ["--no-debug"], "False"),
        ("quart", [], "False"),
    ],
    ids=["fastapi", "litestar", "fastapi-no-debug", "litestar-no-debug", "quart-as-quart-does"],
)
def test_loading_an_app_keeps_the_debug_mode_it_set(
    run_appshell: RunAppshell, tmp_path: Path, framework: str, args: list[str], shown: str
) -> None:
    # Looking never changes the app; only --debug/--no-debug does. Quart's own command line
    # sets the flag whatever the app said (as Flask's does), and so does appshell for it.
    (tmp_path / "main.py").write_text(DEBUG_APPS[framework])

    result = run_appshell(*args, "shell", "-c", "print(app.debug)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == shown


def test_fastapi_entrypoint_must_be_an_import_string(
    run_appshell: RunAppshell, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.fastapi]\nentrypoint = 3\n")

    result = run_appshell("routes")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "[tool.fastapi] entrypoint" in result.stderr
    assert "'main:app'" in result.stderr


def test_no_app_names_every_file_tried(run_appshell: RunAppshell) -> None:
    result = run_appshell("routes")

    assert result.returncode == 2
    assert (
        "wsgi.py, main.py, app.py, api.py, app/main.py, app/app.py, app/api.py or asgi.py"
        in result.stderr
    )
    assert "[tool.fastapi] entrypoint" in result.stderr
    assert "QUART_APP" in result.stderr


def test_a_bare_asgi_function_named_is_the_app(run_appshell: RunAppshell) -> None:
    # Before: a coroutine function named bare was called as a factory with no arguments.
    result = run_appshell("--app", "asgi_bare:app", "routes", cwd=APPS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The app 'app' has no routing table")


@pytest.mark.parametrize(
    ("app", "shown"),
    [
        ("asgi_bare:two_args", "two_args(scope, receive)"),
        ("asgi_bare:handler", "a Handler called as (scope)"),
        ("wrong_arity", "app(scope)"),
    ],
    ids=["function", "instance", "found-as-app"],
)
def test_an_async_callable_with_the_wrong_arity_is_exit_2(
    run_appshell: RunAppshell, tmp_path: Path, app: str, shown: str
) -> None:
    (tmp_path / "wrong_arity.py").write_text("async def app(scope):\n    pass\n")
    cwd = tmp_path if app == "wrong_arity" else APPS

    result = run_appshell("--app", app, "shell", "-c", "print('ran')", cwd=cwd)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert shown in lines[0]
    assert "(scope, receive, send)" in lines[0]


def test_quart_shell_names_and_commands(run_appshell: RunAppshell) -> None:
    shell = run_appshell("--app", "asgi_quart", "shell", "-c", "print(answer, app.name)", cwd=APPS)
    command = run_appshell("--app", "asgi_quart", "greet", "bob", cwd=APPS)

    assert (shell.returncode, shell.stdout) == (0, "42 asgi_quart\n"), shell.stderr
    assert (command.returncode, command.stdout) == (0, "hello bob from asgi_quart\n")


def test_a_script_beside_the_app_is_never_run_to_look_for_it(
    run_appshell: RunAppshell, tmp_path: Path
) -> None:
    """A Flask project's main.py that runs a job is passed over by its text (it binds no app
    name and imports no framework), so app.py is found and the job never runs."""
    (tmp_path / "main.py").write_text(
        "import pathlib\n\npathlib.Path('job-ran').write_text('yes')\n"
        "results = [n * n for n in range(3)]\n"
    )
    (tmp_path / "app.py").write_text(
        "from flask import Flask\n\napp = Flask(__name__)\n\n"
        "@app.route('/flask')\ndef index():\n    return 'hi'\n"
    )

    result = run_appshell("routes")

    assert result.returncode == 0, result.stderr
    assert "/flask" in result.stdout
    assert not (tmp_path / "job-ran").exists()

    (tmp_path / "app.py").unlink()
    alone = run_appshell("routes")
    assert alone.returncode == 2
    assert "main.py passed over without running" in alone.stderr
    assert not (tmp_path / "job-ran").exists()
