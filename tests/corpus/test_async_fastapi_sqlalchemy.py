"""rhoboro/async-fastapi-sqlalchemy: FastAPI, SQLAlchemy 2 asyncio with asyncpg, Alembic,
PostgreSQL; ``[tool.fastapi] entrypoint = "app.main:app"``; no lifespan.

Set up as its README says: its packages installed, ``DB_URI`` in ``app/config/local.env``
pointed at the suite's PostgreSQL, ``APP_CONFIG_FILE=local alembic upgrade head``. appshell
runs with no ``--app``, as ``fastapi run`` does (it reads ``[tool.fastapi]``). The project has
no commands of its own (no CLI group): its ``cli(...)`` is appshell's ``routes`` here.
"""

from __future__ import annotations

import itertools
import json
import re
import typing as t
from pathlib import Path

import pytest

from .conftest import (
    PROJECTS,
    Postgres,
    Result,
    Venv,
    cell_errors,
    cell_text,
    context_names,
    copy_project,
    http_get,
    project_venv,
    run_notebook,
    running,
    tree_digest,
    venv_inside,
)

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

PROJECT = PROJECTS["async-fastapi-sqlalchemy"]
ENV = {"APP_CONFIG_FILE": "local"}  # as the README runs every command
_databases = itertools.count(1)

SEED = """
import asyncio
from app.db import AsyncSessionLocal
from app.models import Note, Notebook

async def main():
    async with AsyncSessionLocal() as session:
        session.add_all([
            Notebook(title="groceries", notes=[Note(title="milk", content="semi-skimmed"),
                                               Note(title="bread", content="rye")]),
            Notebook(title="work", notes=[Note(title="report", content="")]),
        ])
        await session.commit()

asyncio.run(main())
"""


def point_at(folder: Path, postgres: Postgres, database: str) -> None:
    """Edit ``app/config/local.env`` as the README says, for ``database`` on the suite's server."""
    (folder / "app" / "config" / "local.env").write_text(
        f"DB_URI=postgresql+asyncpg://postgres@{postgres.host}:{postgres.port}/{database}\n"
        "ECHO_SQL=False\n"
    )


@pytest.fixture(scope="module")
def venv(appshell_wheel: Path) -> Venv:
    return project_venv(PROJECT, appshell_wheel)


@pytest.fixture(scope="module")
def prepared(
    venv: Venv, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The project set up once (migrated, three notes in two notebooks), and its database:
    each test gets a copy of both."""
    folder = copy_project(PROJECT.source, tmp_path_factory.mktemp("async") / PROJECT.folder)
    database = "corpus_async_prepared"
    postgres.create_database(database)
    point_at(folder, postgres, database)
    venv.check("alembic", "upgrade", "head", cwd=folder, env=ENV)
    venv.check("python", "-c", SEED, cwd=folder, env=ENV)
    return folder, database


@pytest.fixture
def database(prepared: tuple[Path, str], postgres: Postgres) -> str:
    name = f"corpus_async_{next(_databases)}"
    postgres.create_database(name, template=prepared[1])
    return name


@pytest.fixture
def project(prepared: tuple[Path, str], postgres: Postgres, database: str, tmp_path: Path) -> Path:
    folder = copy_project(prepared[0], tmp_path / PROJECT.folder)
    point_at(folder, postgres, database)
    return folder


@pytest.fixture
def appshell(venv: Venv, project: Path) -> t.Callable[..., Result]:
    def run(*args: str, **kwargs: t.Any) -> Result:
        return venv.run("appshell", *args, cwd=project, env=ENV, **kwargs)

    return run


def test_shell_finds_the_app_from_tool_fastapi(appshell: t.Callable[..., Result]) -> None:
    result = appshell("shell", "-c", "print(type(app).__name__, app.title)")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "FastAPI async-fastapi-sqlalchemy"


def test_models_are_names(appshell: t.Callable[..., Result]) -> None:
    names = context_names(appshell("shell", "--print-context", "--json"))
    assert names["Notebook"]["type"] == "class app.models.notebooks.Notebook"
    assert names["Note"]["type"] == "class app.models.notes.Note"


QUERY = (
    "from app.db import AsyncSessionLocal\n"
    "import sqlalchemy as sa\n"
    "async with AsyncSessionLocal() as session:\n"
    "    print(sorted(await session.scalars(sa.select(Notebook.title))))\n"
)


def test_a_query_runs_with_await(appshell: t.Callable[..., Result]) -> None:
    result = appshell("shell", "-c", QUERY)
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "['groceries', 'work']"


def test_await_a_request_with_client(appshell: t.Callable[..., Result]) -> None:
    result = appshell(
        "shell", "-c", "r = await client.get('/api/notebooks'); print(r.status_code, r.json())"
    )
    assert result.returncode == 0, result.output
    status, body = result.stdout.split(" ", 1)
    assert status == "200"
    assert "groceries" in body


# What FastAPI serves besides its OpenAPI operations: its documentation pages, and the project's
# one route left out of the schema (`/`, include_in_schema=False).
NOT_IN_SCHEMA = {
    ("GET", "/"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def test_routes_lists_every_route_of_the_app(
    appshell: t.Callable[..., Result], venv: Venv, project: Path
) -> None:
    # FastAPI keeps included routers as such in app.routes (0.16x): its OpenAPI schema is the
    # public list of what it serves.
    schema = venv.run(
        "python", "-c", "import json; from app.main import app; print(json.dumps(app.openapi()))",
        cwd=project, env=ENV,
    )  # fmt: skip
    assert schema.returncode == 0, schema.output
    paths = json.loads(schema.stdout)["paths"]
    expected = {(m.upper(), path) for path, ops in paths.items() for m in ops} | NOT_IN_SCHEMA
    assert len(expected) == 15
    result = appshell("routes", "--json")
    assert result.returncode == 0, result.output
    listed = [(m, r["rule"]) for r in json.loads(result.stdout) for m in r["methods"]]
    assert sorted(listed) == sorted(expected)


def test_routes_through_cli(appshell: t.Callable[..., Result]) -> None:
    result = appshell("shell", "-c", "r = cli('routes', capture=True); print(r.stdout)")
    assert result.returncode == 0, result.output
    assert "/api/notebooks" in result.stdout


def test_run_answers_a_request(venv: Venv, project: Path) -> None:
    with running(venv, "appshell", "run", "--port", "0", cwd=project, env=ENV) as url:
        status, body = http_get(url + "/api/notebooks")
    assert status == 200
    assert "groceries" in body.decode()


FIX = """\
import sqlalchemy as sa
from app.db import AsyncSessionLocal

async with AsyncSessionLocal() as session:
    work = await session.scalar(sa.select(Notebook).where(Notebook.title == "work"))
    work.title = "office"
    session.add(Notebook(title="holidays", notes=[]))
    await session.delete(await session.scalar(sa.select(Note).where(Note.title == "milk")))
    await session.commit()
    print(sorted(await session.scalars(sa.select(Notebook.title))),
          await session.scalar(sa.select(sa.func.count(Note.id))))
"""


def test_a_sandboxed_data_fix_leaves_database_and_files_as_they_were(
    appshell: t.Callable[..., Result], project: Path, postgres: Postgres, database: str
) -> None:
    (project / "fix_data.py").write_text(FIX)
    rows, files = postgres.dump(database), tree_digest(project)
    result = appshell("shell", "--sandbox", "fix_data.py")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "['groceries', 'holidays', 'office'] 2"  # done inside
    assert postgres.dump(database) == rows  # and undone after
    assert tree_digest(project) == files


def test_a_sandboxed_data_fix_ends_saying_what_it_rolled_back(
    appshell: t.Callable[..., Result], project: Path
) -> None:
    (project / "fix_data.py").write_text(FIX)
    result = appshell("shell", "--sandbox", "fix_data.py")
    assert result.returncode == 0, result.output
    assert result.stderr.startswith("appshell: Sandbox: rolled back "), result.stderr
    assert "Traceback" not in result.stderr
    assert "failed" not in result.stderr


def test_read_only_refuses_a_write(
    appshell: t.Callable[..., Result], postgres: Postgres, database: str
) -> None:
    rows = postgres.dump(database)
    result = appshell(
        "shell", "--read-only", "-c",
        "from app.db import AsyncSessionLocal\n"
        "async with AsyncSessionLocal() as session:\n"
        "    session.add(Notebook(title='holidays', notes=[]))\n"
        "    await session.commit()\n",
    )  # fmt: skip
    assert result.returncode == 1
    assert "read-only transaction" in result.stderr
    assert postgres.dump(database) == rows


REPORT = """\
import sqlalchemy as sa
from app.db import AsyncSessionLocal
async with AsyncSessionLocal() as session:
    notebooks = (await session.scalars(sa.select(Notebook))).all()
    print(len(notebooks))
"""


def test_sql_names_the_line_of_the_script(appshell: t.Callable[..., Result], project: Path) -> None:
    (project / "report.py").write_text(REPORT)
    result = appshell("shell", "--sql", "report.py")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "2"
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert "report.py:4" in sites
    assert set(sites) <= {"report.py:3", "report.py:4"}  # the connection's own, then the query


def test_sql_names_the_line_of_the_script_with_the_virtualenv_inside_the_project(
    venv: Venv, project: Path
) -> None:
    inside = venv_inside(venv, project)
    (project / "report.py").write_text(REPORT)
    result = inside.run("appshell", "shell", "--sql", "report.py", cwd=project, env=ENV)
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "2"
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert "report.py:4" in sites
    assert set(sites) <= {"report.py:3", "report.py:4"}


def test_appshell_attaches_in_a_kernel(
    venv: Venv, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = run_notebook(
        venv,
        [
            "%load_ext appshell",
            "%appshell",
            "r = await client.get('/api/notebooks')\nr.status_code",
        ],
        project,
        monkeypatch,
        ENV,
    )
    assert [cell_errors(o) for o in outputs] == [[], [], []]
    assert "attached" in cell_text(outputs[1])
    assert cell_text(outputs[2]) == "200"
