"""The app nobody named with --app: each framework's own way of naming it, and the order of
the default discovery as the code, ``appshell --help`` and the README tell it."""

from __future__ import annotations

import textwrap
import typing as t
from pathlib import Path

import pytest

from appshell.defaultapp import APP_FILES

from .conftest import Result

RunAppshell = t.Callable[..., Result]
README = Path(__file__).parent.parent / "README.md"

#: The files tried in the current folder: Flask's (wsgi.py, app.py) and `fastapi run`'s
#: (main.py, app.py, api.py, app/main.py, app/app.py, app/api.py), each in its own order.
FILES = ["wsgi.py", "main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py"]
FILES_IN_ORDER = [*FILES, "asgi.py"]

APPS = {
    "quart": """
        from quart import Quart

        app = Quart(__name__)

        @app.route("/from-quart")
        async def page():
            return "quart"
    """,
    "litestar": """
        from litestar import Litestar, get

        @get("/from-litestar")
        async def page() -> str:
            return "litestar"

        app = Litestar([page])
    """,
    "fastapi": """
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/from-fastapi")
        def page():
            return "fastapi"
    """,
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_help_tells_the_order_of_discovery(run_appshell: RunAppshell) -> None:
    text = _flat(run_appshell("--help").stdout)

    assert list(APP_FILES) == FILES_IN_ORDER
    files = f"{', '.join(FILES)} and asgi.py in the current folder"
    assert files in text
    steps = ["[tool.appshell]", "DJANGO_SETTINGS_MODULE", "[tool.fastapi]", files, "manage.py"]
    assert sorted(steps, key=text.index) == steps
    for variable in ("APPSHELL_APP", "FLASK_APP", "QUART_APP", "LITESTAR_APP"):
        assert variable in text


def test_readme_tells_the_same_order() -> None:
    text = _flat(README.read_text())
    section = text[text.index("## Pointing appshell at an app") :]
    section = section[: section.index("## Options and configuration")]

    assert list(APP_FILES) == FILES_IN_ORDER
    files = f"{', '.join(f'`{f}`' for f in FILES)} and `asgi.py` in the current folder"
    assert files in section
    steps = ["`[tool.appshell]`", "`DJANGO_SETTINGS_MODULE`", "`[tool.fastapi]`", files]
    assert sorted([*steps, "`manage.py`"], key=section.index) == [*steps, "`manage.py`"]
    assert "`FLASK_APP`, `QUART_APP`, `LITESTAR_APP`" in section


@pytest.mark.parametrize(
    ("variable", "framework"),
    [("QUART_APP", "quart"), ("LITESTAR_APP", "litestar"), ("FLASK_APP", "fastapi")],
    ids=["QUART_APP", "LITESTAR_APP", "FLASK_APP-names-any-app"],
)
def test_a_frameworks_own_variable_names_the_app(
    run_appshell: RunAppshell, tmp_path: Path, variable: str, framework: str
) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(APPS[framework]))
    # A file the default discovery would find: the variable must win over it.
    (tmp_path / "main.py").write_text(textwrap.dedent(APPS["fastapi"]).replace("/from-", "/main-"))

    result = run_appshell("routes", env={variable: "service:app"})

    assert result.returncode == 0, result.stderr
    assert f"/from-{framework}" in result.stdout


def test_appshells_own_variable_wins_over_a_frameworks(
    run_appshell: RunAppshell, tmp_path: Path
) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(APPS["quart"]))
    (tmp_path / "other.py").write_text(textwrap.dedent(APPS["litestar"]))

    result = run_appshell("routes", env={"APPSHELL_APP": "other", "QUART_APP": "service"})

    assert result.returncode == 0, result.stderr
    assert "/from-litestar" in result.stdout
    assert "/from-quart" not in result.stdout


def test_fastapi_entrypoint_names_the_app_before_any_file(
    run_appshell: RunAppshell, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.fastapi]\nentrypoint = "service:app"\n')
    (tmp_path / "service.py").write_text(textwrap.dedent(APPS["fastapi"]))
    (tmp_path / "app.py").write_text(textwrap.dedent(APPS["quart"]))

    result = run_appshell("routes")

    assert result.returncode == 0, result.stderr
    assert "/from-fastapi" in result.stdout
    assert "/from-quart" not in result.stdout
