"""miguelgrinberg/microblog: Flask, Flask-SQLAlchemy, Flask-Migrate, SQLite, an ``app.cli``
group (``translate``), a shell context processor, ``from flask import request`` at module level.

Set up as its README says: ``pip install -r requirements.txt``, ``flask db upgrade``; the app
is named by its ``.flaskenv`` (``FLASK_APP=microblog.py``), so every command runs with no
``--app``, as ``flask`` does.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest

from .conftest import (
    PROJECTS,
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
    sqlite_dump,
    tree_digest,
    venv_inside,
)

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

PROJECT = PROJECTS["microblog"]
# A user's data, made with the project's own code (plain Python, not appshell).
SEED = """
from microblog import app
from app import db
from app.models import User, Post
with app.app_context():
    susan = User(username="susan", email="susan@example.com")
    john = User(username="john", email="john@example.com")
    db.session.add_all([susan, john])
    db.session.add_all([Post(body="first post", author=susan), Post(body="second", author=john)])
    db.session.commit()
"""


@pytest.fixture(scope="module")
def venv(appshell_wheel: Path) -> Venv:
    return project_venv(PROJECT, appshell_wheel)


@pytest.fixture(scope="module")
def prepared(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, set up once as its README says, with two users and two posts."""
    folder = copy_project(PROJECT.source, tmp_path_factory.mktemp("microblog") / "microblog")
    venv.check("flask", "db", "upgrade", cwd=folder)
    venv.check("python", "-c", SEED, cwd=folder)
    return folder


@pytest.fixture
def project(prepared: Path, tmp_path: Path) -> Path:
    """This test's own copy of the set-up project (its SQLite file included)."""
    return copy_project(prepared, tmp_path / "microblog")


@pytest.fixture
def appshell(venv: Venv, project: Path) -> t.Callable[..., Result]:
    def run(*args: str, **kwargs: t.Any) -> Result:
        return venv.run("appshell", *args, cwd=project, **kwargs)

    return run


def test_shell_finds_the_app_from_flaskenv(appshell: t.Callable[..., Result]) -> None:
    result = appshell("shell", "-c", "print(app.import_name, app.debug)")
    assert result.returncode == 0, result.output
    assert result.stdout.split() == ["app", "True"]  # Flask("app"); FLASK_DEBUG=1 in .flaskenv


def test_models_and_shell_context_are_names(appshell: t.Callable[..., Result]) -> None:
    names = context_names(appshell("shell", "--print-context", "--json"))
    for model in ("User", "Post", "Message", "Notification", "Task"):
        assert names[model]["type"] == f"class app.models.{model}"
    assert {"db", "sa", "so", "app", "cli"} <= set(names)


def test_a_query_runs(appshell: t.Callable[..., Result]) -> None:
    result = appshell(
        "shell", "-c", "print(sorted(u.username for u in db.session.scalars(sa.select(User))))"
    )
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "['john', 'susan']"


def _compiled(project: Path) -> Path:
    return project / "app" / "translations" / "es" / "LC_MESSAGES" / "messages.mo"


def test_its_own_command_from_the_command_line(
    appshell: t.Callable[..., Result], project: Path
) -> None:
    assert not _compiled(project).exists()
    result = appshell("translate", "compile")
    assert result.returncode == 0, result.output
    assert _compiled(project).is_file()


def test_its_own_command_through_cli(appshell: t.Callable[..., Result], project: Path) -> None:
    assert not _compiled(project).exists()
    result = appshell("shell", "-c", "print('exit', cli('translate compile').exit_code)")
    assert result.returncode == 0, result.output
    assert "exit 0" in result.stdout
    assert _compiled(project).is_file()


def _flask_routes(venv: Venv, project: Path) -> set[tuple[str, str]]:
    """(endpoint, rule) of every row of Flask's own ``flask routes``."""
    result = venv.run("flask", "routes", cwd=project)
    assert result.returncode == 0, result.output
    rows = result.stdout.splitlines()[2:]  # the header and its underline
    return {(row.split()[0], row.split()[-1]) for row in rows if row.strip()}


def test_routes_lists_what_flask_routes_lists(
    appshell: t.Callable[..., Result], venv: Venv, project: Path
) -> None:
    import json

    expected = _flask_routes(venv, project)
    assert len(expected) > 20  # the blueprints' views, the API's and static
    result = appshell("routes", "--json")
    assert result.returncode == 0, result.output
    assert {(r["endpoint"], r["rule"]) for r in json.loads(result.stdout)} == expected


def test_run_answers_a_request(venv: Venv, project: Path) -> None:
    with running(venv, "appshell", "run", "--port", "0", cwd=project) as url:
        status, body = http_get(url + "/auth/login")
    assert status == 200
    assert b"Sign In" in body


def test_flask_shell_works_with_appshell_installed(venv: Venv, project: Path) -> None:
    result = venv.run(
        "flask", "shell", "-c", "print(db.session.scalar(sa.select(sa.func.count(Post.id))))",
        cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "2"


FIX = """\
susan = db.session.scalar(sa.select(User).where(User.username == "susan"))
susan.about_me = "fixed by the data fix"
db.session.add(User(username="mary", email="mary@example.com"))
db.session.delete(db.session.scalar(sa.select(Post).where(Post.body == "second")))
db.session.commit()
print("users", db.session.scalar(sa.select(sa.func.count(User.id))),
      "posts", db.session.scalar(sa.select(sa.func.count(Post.id))),
      "about", db.session.scalar(sa.select(User.about_me).where(User.username == "susan")))
"""


def test_a_sandboxed_data_fix_leaves_database_and_files_as_they_were(
    appshell: t.Callable[..., Result], project: Path
) -> None:
    (project / "fix_data.py").write_text(FIX)
    rows, files = sqlite_dump(project / "app.db"), tree_digest(project)
    result = appshell("shell", "--sandbox", "fix_data.py")
    assert result.returncode == 0, result.output
    # Inside the session the fix happened...
    assert result.stdout.strip() == "users 3 posts 1 about fixed by the data fix"
    assert "rolled back" in result.stderr
    # ...and after it, nothing did.
    assert sqlite_dump(project / "app.db") == rows
    assert tree_digest(project) == files


def test_read_only_refuses_a_write(appshell: t.Callable[..., Result], project: Path) -> None:
    rows = sqlite_dump(project / "app.db")
    result = appshell(
        "shell", "--read-only", "-c",
        "db.session.add(User(username='mary', email='mary@example.com')); db.session.commit()",
    )  # fmt: skip
    assert result.returncode == 1
    assert "readonly database" in result.stderr
    assert sqlite_dump(project / "app.db") == rows


REPORT = """\
# how many posts each user wrote
users = db.session.scalars(sa.select(User)).all()
print({u.username: len(db.session.scalars(u.posts.select()).all()) for u in users})
"""


def test_sql_names_the_line_of_the_script(appshell: t.Callable[..., Result], project: Path) -> None:
    (project / "report.py").write_text(REPORT)
    result = appshell("shell", "--sql", "report.py")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "{'susan': 1, 'john': 1}"
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert sites[0] == "report.py:2"
    assert set(sites[1:]) == {"report.py:3"}


def test_sql_names_the_line_of_the_script_with_the_virtualenv_inside_the_project(
    venv: Venv, project: Path
) -> None:
    # The tutorial's own layout: `python3 -m venv venv` in the microblog folder.
    inside = venv_inside(venv, project)
    (project / "report.py").write_text(REPORT)
    result = inside.run("appshell", "shell", "--sql", "report.py", cwd=project)
    assert result.returncode == 0, result.output
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert sites[0] == "report.py:2"
    assert set(sites[1:]) == {"report.py:3"}


def test_appshell_attaches_in_a_kernel(
    venv: Venv, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = run_notebook(
        venv,
        ["%load_ext appshell", "%appshell", "db.session.scalar(sa.select(sa.func.count(User.id)))"],
        project,
        monkeypatch,
    )
    assert [cell_errors(o) for o in outputs] == [[], [], []]
    assert "attached" in cell_text(outputs[1])
    assert cell_text(outputs[2]) == "2"
