"""wagtail/bakerydemo: Django 6.0, Wagtail 7.4, django-extensions, ten local apps, SQLite, media
files on disk, Wagtail's ``transaction.on_commit`` callbacks that delete an image's files.

Set up as its README says: ``pip install -r requirements/development.txt`` (on Python 3.12),
``local.py.example`` copied to ``local.py`` and ``.env.example`` to ``.env``,
``./manage.py migrate``, ``./manage.py load_initial_data``. appshell finds the project from
``manage.py`` with no ``--app``, as ``./manage.py`` does.
"""

from __future__ import annotations

import json
import re
import shutil
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
)

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

PROJECT = PROJECTS["bakerydemo"]
DATABASE = "bakerydemodb"


@pytest.fixture(scope="module")
def venv(appshell_wheel: Path) -> Venv:
    return project_venv(PROJECT, appshell_wheel)


@pytest.fixture(scope="module")
def prepared(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, set up once as its README says, with its demo data loaded."""
    folder = copy_project(PROJECT.source, tmp_path_factory.mktemp("bakerydemo") / "bakerydemo")
    settings = folder / "bakerydemo" / "settings"
    shutil.copy(settings / "local.py.example", settings / "local.py")
    shutil.copy(folder / ".env.example", folder / ".env")
    venv.check("python", "manage.py", "migrate", "--verbosity", "0", cwd=folder)
    venv.check("python", "manage.py", "load_initial_data", cwd=folder)
    return folder


@pytest.fixture
def project(prepared: Path, tmp_path: Path) -> Path:
    """This test's own copy of the set-up project (its SQLite file and media included)."""
    return copy_project(prepared, tmp_path / "bakerydemo")


@pytest.fixture
def appshell(venv: Venv, project: Path) -> t.Callable[..., Result]:
    def run(*args: str, **kwargs: t.Any) -> Result:
        return venv.run("appshell", *args, cwd=project, **kwargs)

    return run


def django_says(venv: Venv, project: Path, code: str) -> str:
    """What Django's own ``manage.py shell -c`` prints: the expected answer."""
    result = venv.run("python", "manage.py", "shell", "--no-imports", "-c", code, cwd=project)
    assert result.returncode == 0, result.output
    return result.stdout.strip()


def test_shell_finds_the_project_from_manage_py(appshell: t.Callable[..., Result]) -> None:
    result = appshell(
        "shell", "-c", "from django.conf import settings; print(settings.SETTINGS_MODULE)"
    )
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "bakerydemo.settings.dev"  # manage.py's default


def test_every_model_of_the_project_is_a_name(
    appshell: t.Callable[..., Result], venv: Venv, project: Path
) -> None:
    models = django_says(
        venv,
        project,
        "from django.apps import apps; print(sorted(f'class {m.__module__}.{m.__qualname__}'"
        " for m in apps.get_models() if m.__module__.startswith('bakerydemo.')))",
    )
    expected = set(eval(models))
    assert len(expected) > 20  # the ten local apps' models
    names = context_names(appshell("shell", "--print-context", "--json"))
    assert expected <= {record["type"] for record in names.values()}
    assert names["BreadPage"]["type"] == "class bakerydemo.breads.models.BreadPage"


def test_a_query_runs(appshell: t.Callable[..., Result], venv: Venv, project: Path) -> None:
    expected = django_says(
        venv,
        project,
        "from bakerydemo.breads.models import BreadPage, Country;"
        " print(BreadPage.objects.count(), Country.objects.count())",
    )
    assert expected != "0 0"
    result = appshell("shell", "-c", "print(BreadPage.objects.count(), Country.objects.count())")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == expected


def test_await_works(appshell: t.Callable[..., Result], project: Path) -> None:
    result = appshell("shell", "-c", "print(await BreadPage.objects.acount())")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == str(len(sqlite_dump(project / DATABASE)["breads_breadpage"]))


def _pages(project: Path) -> int:
    return len(sqlite_dump(project / DATABASE)["wagtailcore_page"])


def test_its_own_command_from_the_command_line(
    appshell: t.Callable[..., Result], project: Path
) -> None:
    before = _pages(project)
    result = appshell("create_random_data", "1", "1", "0")
    assert result.returncode == 0, result.output
    assert _pages(project) > before


def test_its_own_command_through_cli(appshell: t.Callable[..., Result], project: Path) -> None:
    before = _pages(project)
    result = appshell(
        "shell", "-c", "print('exit', cli('create_random_data 1 1 0', capture=True).exit_code)"
    )
    assert result.returncode == 0, result.output
    assert "exit 0" in result.stdout
    assert _pages(project) > before


def test_routes_lists_what_djangos_resolver_knows(
    appshell: t.Callable[..., Result], venv: Venv, project: Path
) -> None:
    expected = django_says(
        venv,
        project,
        "from django.urls import URLResolver, get_resolver\n"
        "def leaves(patterns):\n"
        "    for p in patterns:\n"
        "        yield from leaves(p.url_patterns) if isinstance(p, URLResolver) else [p]\n"
        "print(len(list(leaves(get_resolver().url_patterns))))",
    )
    result = appshell("routes", "--json")
    assert result.returncode == 0, result.output
    assert len(json.loads(result.stdout)) == int(expected) > 100  # wagtail's admin, the API...


def test_run_answers_a_request(venv: Venv, project: Path) -> None:
    with running(venv, "appshell", "run", "--port", "0", cwd=project) as url:
        status, body = http_get(url + "/")
    assert status == 200
    assert b"The Wagtail Bakery" in body  # the home page's title


FIX = """\
from wagtail.images import get_image_model

Country.objects.create(title="Atlantis")
bread = BreadPage.objects.order_by("pk").first()
bread.title = bread.title.upper()
bread.save()
get_image_model().objects.order_by("pk").first().delete()
print("countries", Country.objects.count(), "bread", BreadPage.objects.get(pk=bread.pk).title)
"""


def _sandboxed_fix(appshell: t.Callable[..., Result], project: Path) -> Result:
    (project / "fix_data.py").write_text(FIX)
    result = appshell("shell", "--sandbox", "fix_data.py")
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("countries ")  # the fix ran, inside the sandbox
    assert "rolled back" in result.stderr
    return result


def test_a_sandboxed_data_fix_leaves_the_database_as_it_was(
    appshell: t.Callable[..., Result], project: Path
) -> None:
    rows = sqlite_dump(project / DATABASE)
    _sandboxed_fix(appshell, project)
    assert sqlite_dump(project / DATABASE) == rows


def test_a_sandboxed_data_fix_leaves_the_files_on_disk_as_they_were(
    appshell: t.Callable[..., Result], project: Path
) -> None:
    (project / "fix_data.py").write_text(FIX)
    files = tree_digest(project)
    _sandboxed_fix(appshell, project)
    assert tree_digest(project) == files


def test_read_only_refuses_a_write(appshell: t.Callable[..., Result], project: Path) -> None:
    rows = sqlite_dump(project / DATABASE)
    result = appshell("shell", "--read-only", "-c", "Country.objects.create(title='Atlantis')")
    assert result.returncode == 1
    assert "readonly database" in result.stderr
    assert sqlite_dump(project / DATABASE) == rows


def test_sql_names_the_line_of_the_script(appshell: t.Callable[..., Result], project: Path) -> None:
    (project / "report.py").write_text(
        "# breads per country\n"
        "for country in Country.objects.order_by('title')[:2]:\n"
        "    print(country.title, BreadPage.objects.filter(origin=country).count())\n"
    )
    result = appshell("shell", "--sql", "report.py")
    assert result.returncode == 0, result.output
    sites = re.findall(r"^-- \[default\]\s+(\S+)", result.stderr, re.MULTILINE)
    assert sites == ["report.py:2", "report.py:3", "report.py:3"]


def test_the_n_plus_one_line_names_the_users_line(appshell: t.Callable[..., Result]) -> None:
    # Rendering the home page runs the same image queries many times over (Wagtail's own).
    result = appshell("shell", "-c", "print(client.get('/').status_code)")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "200"
    lines = [line for line in result.stderr.splitlines() if line.startswith("N+1? ")]
    assert lines
    assert all(" from <string>:1 " in line for line in lines), lines


def test_appshell_attaches_in_a_kernel(
    venv: Venv, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = run_notebook(
        venv, ["%load_ext appshell", "%appshell", "BreadPage.objects.count()"], project, monkeypatch
    )
    assert [cell_errors(o) for o in outputs] == [[], [], []]
    assert "attached" in cell_text(outputs[1])
    assert int(cell_text(outputs[2])) == len(sqlite_dump(project / DATABASE)["breads_breadpage"])
