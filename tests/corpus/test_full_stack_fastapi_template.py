"""fastapi/full-stack-fastapi-template (``backend/``): FastAPI, SQLModel, Alembic, psycopg 3,
PostgreSQL; the app in ``app/main.py``; settings from the template's top-level ``.env``.

Set up as its README says: ``pip install -e backend`` (editable, on this run's copy),
``POSTGRES_*`` in ``.env`` pointed at the suite's PostgreSQL, ``scripts/prestart.sh``
(migrations and the first superuser). Everything runs in ``backend/``, as the template's own
commands do. The project has no commands of its own (no CLI group), only its shell scripts.

One copy of the project serves the whole module (the editable install points at it); each test
gets a fresh database of its own, cloned from the migrated one.
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
    cell_value,
    context_names,
    copy_project,
    http_get,
    project_venv,
    run_notebook,
    running,
    tree_digest,
)

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

PROJECT = PROJECTS["full-stack-fastapi-template"]
# As a user of the template types it: no --app (discovery finds app/main.py as `fastapi run`).
APP: tuple[str, ...] = ()
_databases = itertools.count(1)

SEED = """
from sqlmodel import Session, select
from app.core.db import engine
from app.models import Item, User
with Session(engine) as session:
    admin = session.exec(select(User).where(User.email == "admin@example.com")).one()
    session.add(Item(title="first item", description="from the seed", owner_id=admin.id))
    session.add(Item(title="second item", owner_id=admin.id))
    session.commit()
"""


@pytest.fixture(scope="module")
def venv(appshell_wheel: Path) -> Venv:
    return project_venv(PROJECT, appshell_wheel)


def point_at(template: Path, postgres: Postgres, database: str) -> None:
    """Edit the template's ``.env`` as its README says: its PostgreSQL is the suite's."""
    env = template / ".env"
    values = {
        "POSTGRES_SERVER": postgres.host,
        "POSTGRES_PORT": str(postgres.port),
        "POSTGRES_DB": database,
    }
    lines = [
        f"{line.split('=', 1)[0]}={values[line.split('=', 1)[0]]}"
        if line.split("=", 1)[0] in values
        else line
        for line in env.read_text().splitlines()
    ]
    env.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def prepared(
    venv: Venv, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """``backend/`` of the module's copy of the template, set up, and its migrated database."""
    template = copy_project(
        PROJECT.source.parent, tmp_path_factory.mktemp("template") / "full-stack-fastapi-template"
    )
    backend = template / "backend"
    # `pip install -e backend`; its dependencies are in the cached virtualenv already.
    venv.check("python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
               "-e", str(backend), cwd=template)  # fmt: skip
    database = "corpus_template_prepared"
    postgres.create_database(database)
    point_at(template, postgres, database)
    venv.check("bash", "scripts/prestart.sh", cwd=backend)
    venv.check("python", "-c", SEED, cwd=backend)
    return backend, database


@pytest.fixture
def database(prepared: tuple[Path, str], postgres: Postgres) -> str:
    name = f"corpus_template_{next(_databases)}"
    postgres.create_database(name, template=prepared[1])
    point_at(prepared[0].parent, postgres, name)
    return name


@pytest.fixture
def project(prepared: tuple[Path, str], database: str) -> Path:
    """``backend/``, its ``.env`` pointed at this test's database."""
    return prepared[0]


@pytest.fixture
def appshell(venv: Venv, project: Path) -> t.Callable[..., Result]:
    def run(*args: str, **kwargs: t.Any) -> Result:
        return venv.run("appshell", *args, cwd=project, **kwargs)

    return run


def test_shell_finds_the_app_where_fastapi_run_does(appshell: t.Callable[..., Result]) -> None:
    result = appshell("shell", "-c", "print(type(app).__name__, app.title)")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "FastAPI Full Stack FastAPI Project"


def test_models_are_names(appshell: t.Callable[..., Result]) -> None:
    names = context_names(appshell(*APP, "shell", "--print-context", "--json"))
    assert names["User"]["type"] == "class app.models.User"
    assert names["Item"]["type"] == "class app.models.Item"
    # the 17 other SQLModel classes of app/models.py are schemas, not tables
    assert "UserCreate" not in names
    assert "ItemPublic" not in names


QUERY = """\
from sqlmodel import Session, select
from app.core.db import engine
from app.models import Item
with Session(engine) as session:
    print(sorted(session.exec(select(Item.title)).all()))
"""


def test_a_query_runs(appshell: t.Callable[..., Result]) -> None:
    result = appshell(*APP, "shell", "-c", QUERY)
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "['first item', 'second item']"


def test_await_a_request_with_client(appshell: t.Callable[..., Result]) -> None:
    result = appshell(
        *APP, "shell", "-c",
        "r = await client.get('/api/v1/utils/health-check/'); print(r.status_code, r.json())",
    )  # fmt: skip
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "200 True"


FASTAPI_PAGES = (
    "import json; from app.main import app\n"
    "pages = [app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url]\n"
    "print(json.dumps({'schema': app.openapi(), 'pages': pages}))"
)


def test_routes_lists_every_route_of_the_app(
    appshell: t.Callable[..., Result], venv: Venv, project: Path
) -> None:
    # FastAPI keeps included routers as such in app.routes (0.16x): its OpenAPI schema, and
    # the documentation pages it adds, are the public list of what it serves.
    known = venv.run("python", "-c", FASTAPI_PAGES, cwd=project)
    assert known.returncode == 0, known.output
    found = json.loads(known.stdout)
    expected = {
        (method.upper(), path)
        for path, operations in found["schema"]["paths"].items()
        for method in operations
    } | {("GET", page) for page in found["pages"]}
    assert len(expected) > 20
    result = appshell(*APP, "routes", "--json")
    assert result.returncode == 0, result.output
    listed = [(m, r["rule"]) for r in json.loads(result.stdout) for m in r["methods"]]
    assert sorted(listed) == sorted(expected)


def test_routes_through_cli(appshell: t.Callable[..., Result]) -> None:
    result = appshell(*APP, "shell", "-c", "r = cli('routes', capture=True); print(r.stdout)")
    assert result.returncode == 0, result.output
    assert "/api/v1/items/" in result.stdout


def test_run_answers_a_request(venv: Venv, project: Path) -> None:
    with running(venv, "appshell", *APP, "run", "--port", "0", cwd=project) as url:
        status, body = http_get(url + "/api/v1/utils/health-check/")
    assert (status, body) == (200, b"true")


FIX = """\
from sqlmodel import Session, select
from app.core.db import engine
from app.models import Item, User

with Session(engine) as session:
    admin = session.exec(select(User)).one()
    admin.full_name = "Fixed Name"
    session.add(Item(title="third item", owner_id=admin.id))
    session.delete(session.exec(select(Item).where(Item.title == "first item")).one())
    session.commit()
    print(sorted(session.exec(select(Item.title)).all()), session.get(User, admin.id).full_name)
"""


def test_a_sandboxed_data_fix_leaves_database_and_files_as_they_were(
    appshell: t.Callable[..., Result], project: Path, postgres: Postgres, database: str
) -> None:
    (project / "fix_data.py").write_text(FIX)
    rows, files = postgres.dump(database), tree_digest(project.parent)
    result = appshell(*APP, "shell", "--sandbox", "fix_data.py")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "['second item', 'third item'] Fixed Name"  # done inside
    assert "rolled back" in result.stderr
    assert postgres.dump(database) == rows  # and undone after
    assert tree_digest(project.parent) == files


def test_read_only_refuses_a_write(
    appshell: t.Callable[..., Result], postgres: Postgres, database: str
) -> None:
    rows = postgres.dump(database)
    result = appshell(
        *APP, "shell", "--read-only", "-c",
        "from sqlmodel import Session, select\n"
        "from app.core.db import engine\n"
        "from app.models import User\n"
        "with Session(engine) as session:\n"
        "    admin = session.exec(select(User)).one()\n"
        "    admin.full_name = 'Changed'\n"
        "    session.commit()\n",
    )  # fmt: skip
    assert result.returncode == 1
    assert "read-only transaction" in result.stderr
    assert postgres.dump(database) == rows


def test_sql_names_the_line_of_the_script(appshell: t.Callable[..., Result], project: Path) -> None:
    (project / "report.py").write_text(
        "from sqlmodel import Session, select\n"
        "from app.core.db import engine\n"
        "from app.models import Item\n"
        "with Session(engine) as session:\n"
        "    items = session.exec(select(Item)).all()\n"
        "    print(len(items))\n"
    )
    result = appshell(*APP, "shell", "--sql", "report.py")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "2"
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert sites == ["report.py:5"]


def test_sql_names_the_projects_own_line(appshell: t.Callable[..., Result], project: Path) -> None:
    # crud.py is the project's own code, installed in editable mode: its line is the user's.
    result = appshell(
        *APP, "shell", "--sql", "-c",
        "from sqlmodel import Session\n"
        "from app import crud\n"
        "from app.core.db import engine\n"
        "with Session(engine) as session:\n"
        "    print(crud.get_user_by_email(session=session, email='admin@example.com').email)\n",
    )  # fmt: skip
    assert result.returncode == 0, result.output
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert len(sites) == 1
    assert re.fullmatch(r"app/crud\.py:\d+", sites[0]), sites


def test_appshell_attaches_in_a_kernel(
    venv: Venv, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = run_notebook(
        venv,
        [
            "%load_ext appshell",
            "%appshell",
            "r = await client.get('/api/v1/utils/health-check/')\nr.status_code",
        ],
        project,
        monkeypatch,
    )
    assert [cell_errors(o) for o in outputs] == [[], [], []]
    assert "attached" in cell_text(outputs[1])
    assert cell_value(outputs[2]) == "200"  # (the project's logging shows httpx's request too)
