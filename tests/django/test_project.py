"""The test project itself, and how appshell finds a Django project and sets it up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import _clean_environ


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
