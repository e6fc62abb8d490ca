"""The test project itself, and how appshell finds a Django project and sets it up."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests.conftest import Result, _clean_environ

RunAppshell = t.Callable[..., Result]


def _manage(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=folder,
        env={**_clean_environ(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_project_works_with_plain_manage_py(django_project: Path) -> None:
    migrated = _manage(django_project, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying blog.0001_initial... OK" in migrated.stdout
    assert "Applying shop.0001_initial... OK" in migrated.stdout
    published = _manage(django_project, "publish", "first")
    assert (published.returncode, published.stdout) == (0, "published 'first'\n")
    again = _manage(django_project, "publish", "first")
    assert again.returncode == 1
    assert "CommandError: 'first' is already published" in again.stderr
    code = "print(Post.objects.count(), Item.__name__, greet('you'))"
    shell = _manage(django_project, "shell", "-c", code)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip().splitlines()[-1] == "1 Item hello, you"


def test_the_project_runs_on_postgresql(django_project: Path, postgres_db: str) -> None:
    migrated = _manage(
        django_project, "migrate", "--noinput", APPSHELL_TEST_DATABASE_URL=postgres_db
    )
    assert migrated.returncode == 0, migrated.stderr
    code = "from django.db import connection; print(connection.vendor, Post.objects.count())"
    shell = _manage(django_project, "shell", "-c", code, APPSHELL_TEST_DATABASE_URL=postgres_db)
    assert shell.stdout.strip().splitlines()[-1] == "postgresql 0", shell.stderr


# -- discovery and set-up, through the real command -------------------------------------

_DEV_ABSOLUTE = "from mysite.settings import *  # noqa\nDEBUG = False\n"
_DEV_RELATIVE = "from .settings import *  # noqa\nDEBUG = False\n"
NAMES = "print(sorted(n for n in ('Post', 'Comment', 'Item', 'User', 'greet') if n in globals()))"
ALL_NAMES = "['Comment', 'Item', 'Post', 'User', 'greet']"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--app", "mysite.settings"], {}),
        (["--app", "mysite.wsgi:application"], {}),
        (["--app", "mysite.asgi:application"], {}),
        ([], {"DJANGO_SETTINGS_MODULE": "mysite.settings"}),
        ([], {}),  # manage.py in the current folder
    ],
    ids=["settings", "wsgi", "asgi", "env", "manage.py"],
)
def test_a_django_project_is_found_and_gives_django_shells_names(
    django_project: Path, run_appshell: RunAppshell, args: list[str], env: dict[str, str]
) -> None:
    code = f"print(repr(app)); {NAMES}"
    result = run_appshell(*args, "shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    first, names = result.stdout.strip().splitlines()[-2:]
    assert first == "<DjangoProject 'mysite' settings='mysite.settings'>"
    assert names == ALL_NAMES


def test_manage_py_is_read_never_run(django_project: Path, run_appshell: RunAppshell) -> None:
    manage = django_project / "manage.py"
    manage.write_text(manage.read_text().replace("import os\n", "import os\nraise SystemExit(9)\n"))
    result = run_appshell("shell", "-c", "print(app.settings_module)")
    assert (result.returncode, result.stdout.strip()) == (0, "mysite.settings"), result.stderr


def test_the_names_come_from_the_adapter(django_project: Path, run_appshell: RunAppshell) -> None:
    result = run_appshell("shell", "--print-context", "--json")
    assert result.returncode == 0, result.stderr
    sources = {r["name"]: r["source"] for r in json.loads(result.stdout)}
    assert sources["greet"] == sources["Post"] == sources["Item"] == "adapter"
    assert sources["app"] == "default"


def test_routes_are_flattened_with_namespaces(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("routes", "--json")
    assert result.returncode == 0, result.stderr
    routes = {r["endpoint"]: (r["rule"], r["view"]) for r in json.loads(result.stdout)}
    assert routes["index"] == ("/", "blog.views.index")
    assert routes["blog:detail"] == ("/blog/<int:pk>/", "blog.views.post_detail")
    assert routes["admin:index"] == ("/admin/", "django.contrib.admin.sites.AdminSite.index")


def test_the_client_at_the_prompt_is_djangos(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    code = "r = client.get('/'); print(type(client.made).__module__, r.status_code, r.content)"
    result = run_appshell("shell", "-c", code)
    assert result.stdout.strip() == "django.test.client 200 b'hello from mysite'", result.stderr


def _move_settings(folder: Path, files: dict[str, str]) -> None:
    """Lay the project's settings out as ``files`` says: each file's text, where ``SETTINGS``
    stands for the whole of the test project's settings (then removed from mysite/)."""
    whole = (folder / "mysite" / "settings.py").read_text()
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(whole if text == "SETTINGS" else text)
    if "mysite/settings.py" not in files:
        (folder / "mysite" / "settings.py").unlink()


@pytest.mark.parametrize(
    ("files", "app", "settings"),
    [
        (
            {"mysite/settings.py": "SETTINGS", "mysite/settings_dev.py": _DEV_ABSOLUTE},
            "mysite.settings_dev",
            "mysite.settings_dev",
        ),
        (
            {"mysite/settings.py": "SETTINGS", "mysite/settings_dev.py": _DEV_RELATIVE},
            "mysite/settings_dev.py",
            "mysite.settings_dev",
        ),
        (
            {"mysite/conf/__init__.py": "", "mysite/conf/base.py": "SETTINGS"},
            "mysite.conf.base",
            "mysite.conf.base",
        ),
        (
            {
                "mysite/conf/__init__.py": "",
                "mysite/conf/base.py": "SETTINGS",
                "mysite/conf/local.py": "from .base import *  # noqa\nDEBUG = False\n",
            },
            "mysite.conf.local",
            "mysite.conf.local",
        ),
        (
            {
                "mysite/conf/__init__.py": "",
                "mysite/conf/base.py": "SETTINGS",
                "mysite/conf/common.py": "from .base import *  # noqa\n",
                "mysite/conf/local.py": "from mysite.conf.common import *  # noqa\n",
            },
            "mysite/conf/local.py",
            "mysite.conf.local",
        ),
        (
            {
                "mysite/settings/__init__.py": "",
                "mysite/settings/base.py": "SETTINGS",
                "mysite/settings/dev.py": "from .base import *  # noqa\nDEBUG = True\n",
            },
            "mysite/settings/dev.py",
            "mysite.settings.dev",
        ),
    ],
    ids=[
        "settings_dev-star-importing-settings",
        "settings_dev-file-path-relative-star-import",
        "any-module-that-sets-INSTALLED_APPS",
        "a-star-import-of-a-base",
        "a-star-import-of-a-star-import",
        "settings-package-file-path",
    ],
)
def test_a_settings_module_under_any_name(
    django_project: Path,
    run_appshell: RunAppshell,
    files: dict[str, str],
    app: str,
    settings: str,
) -> None:
    # As `manage.py --settings` and DJANGO_SETTINGS_MODULE take any module; bakerydemo's
    # is bakerydemo/settings/dev.py, star-importing its base.
    _move_settings(django_project, files)
    code = f"print(repr(app)); {NAMES}"
    for args, env in (["--app", app], {}), ([], {"DJANGO_SETTINGS_MODULE": settings}):
        result = run_appshell(*args, "shell", "-c", code, env=env)
        assert result.returncode == 0, result.stderr
        first, names = result.stdout.strip().splitlines()[-2:]
        assert first == f"<DjangoProject 'mysite' settings={settings!r}>"
        assert names == ALL_NAMES


def test_a_module_that_only_looks_like_settings_is_an_app_module(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    # A name with "settings" in it is not enough: it must set INSTALLED_APPS or take them
    # with a star import (here from a module that star-imports it back: a cycle).
    (django_project / "settings_app.py").write_text(
        "from flask import Flask\nfrom helpers import *\napp = Flask('settings_app')\n"
    )
    (django_project / "helpers.py").write_text("from settings_app import *\nGREETING = 'hi'\n")
    result = run_appshell("--app", "settings_app", "shell", "-c", "print(app.name)")
    assert (result.returncode, result.stdout.strip()) == (0, "settings_app"), result.stderr


@pytest.mark.parametrize(
    "app", ["mysite.wsgi:nosuch", "mysite.asgi:nosuch", "mysite.settings:nosuch"]
)
def test_a_name_the_module_does_not_have_is_an_error(
    django_project: Path, run_appshell: RunAppshell, app: str
) -> None:
    result = run_appshell("--app", app, "shell", "-c", "print('ran')")
    assert result.returncode == 2
    assert "'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "ran" not in result.stdout


# -- bad input ------------------------------------------------------------------------------


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_settings_that_cannot_be_found(django_project: Path, run_appshell: RunAppshell) -> None:
    result = run_appshell("shell", "-c", "1", env={"DJANGO_SETTINGS_MODULE": "nope.settings"})
    assert result.returncode == 2
    assert "The Django settings module 'nope.settings' (named by DJANGO_SETTINGS_MODULE)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_installed_app_that_does_not_exist(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    _append(django_project / "mysite" / "settings.py", 'INSTALLED_APPS += ["nosuchapp"]\n')
    result = run_appshell("migrate")
    assert result.returncode == 2
    assert "INSTALLED_APPS in 'mysite.settings' names 'nosuchapp'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("file", "text", "last_line"),
    [
        ("mysite/settings.py", "1 / 0\n", "ZeroDivisionError: division by zero"),
        (
            "shop/apps.py",
            "\n    def ready(self):\n        raise RuntimeError('ready failed')\n",
            "RuntimeError: ready failed",
        ),
        (
            "shop/models.py",
            "import nosuchlib\n",
            "ModuleNotFoundError: No module named 'nosuchlib'",
        ),
    ],
    ids=["settings", "ready", "app-import"],
)
def test_the_projects_own_errors_are_its_traceback(
    django_project: Path, run_appshell: RunAppshell, file: str, text: str, last_line: str
) -> None:
    _append(django_project / file, text)
    result = run_appshell("shell", "-c", "1")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert str(django_project / file) in lines[1]  # from the user's first frame
    assert lines[-1] == last_line


def test_an_other_project_in_the_environment_is_a_warning(
    django_project: Path, run_appshell: RunAppshell
) -> None:
    env = {"DJANGO_SETTINGS_MODULE": "other.settings"}
    result = run_appshell("--app", "mysite.settings", "shell", "-c", "print(app.project)", env=env)
    assert (result.returncode, result.stdout.strip()) == (0, "mysite")
    assert "DJANGO_SETTINGS_MODULE names the project 'other.settings'" in result.stderr
