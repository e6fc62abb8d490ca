"""A project just made by ``django-admin startproject``, as a new user has it: the shell's
``client`` is answered (not refused as a ``DisallowedHost``), and ``run`` reports the
project's own ``DEBUG``."""

from __future__ import annotations

import signal
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests.conftest import Result, _clean_environ
from tests.test_run import _start, _stop

RunAppshell = t.Callable[..., Result]
DJANGO_ADMIN = Path(sys.executable).with_name("django-admin")


@pytest.fixture
def new_project(tmp_path: Path) -> Path:
    """``django-admin startproject mysite .`` in the test's folder: DEBUG on, no
    ALLOWED_HOSTS, only the admin's URLs."""
    subprocess.run(
        [str(DJANGO_ADMIN), "startproject", "mysite", str(tmp_path)],
        check=True,
        env=_clean_environ(),
        capture_output=True,
        timeout=60,
    )
    return tmp_path


def _settings(project: Path, extra: str) -> None:
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + extra)


def test_client_get_on_a_new_project_is_answered(
    new_project: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell(
        "shell", "-c", 'r = client.get("/"); print(r.status_code, r.wsgi_request.get_host())'
    )
    assert result.returncode == 0, result.stderr
    # Django's welcome page: DEBUG is on and the project has no URL of its own at "/".
    assert result.stdout == "200 localhost\n"
    assert "DisallowedHost" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "host"),
    [
        ('ALLOWED_HOSTS = [".example.com"]\nDEBUG = False\n', "example.com"),
        ('ALLOWED_HOSTS = ["shop.test", "testserver"]\n', "testserver"),
        ('ALLOWED_HOSTS = ["*"]\nDEBUG = False\n', "testserver"),
    ],
    ids=["subdomain-pattern", "testserver-allowed", "wildcard"],
)
def test_client_uses_a_host_the_settings_allow(
    new_project: Path, run_appshell: RunAppshell, extra: str, host: str
) -> None:
    _settings(new_project, extra)
    result = run_appshell(
        "shell",
        "-c",
        'r = client.get("/admin/login/"); print(r.status_code, r.wsgi_request.get_host())',
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"200 {host}\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "shown"), [("", "on"), ("DEBUG = False\n", "off")], ids=["debug", "no-debug"]
)
def test_run_reports_the_projects_own_debug(new_project: Path, extra: str, shown: str) -> None:
    _settings(new_project, extra)
    proc, mode = _start(["run", "--port", "0"], new_project, {}, pattern=r"Debug mode: (\w+)")
    _stop(proc, signal.SIGINT)
    assert mode == shown
