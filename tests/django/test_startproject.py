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


CRASH = """\
from django.core.management.base import BaseCommand


def helper():
    raise ValueError("boom in helper")


class Command(BaseCommand):
    help = "Fails in the user's own code."

    def handle(self, *args, **options):
        helper()
"""


@pytest.fixture
def crashing_command(new_project: Path) -> Path:
    """The new project with an app ``polls`` whose ``crash`` command raises."""
    commands = new_project / "polls" / "management" / "commands"
    commands.mkdir(parents=True)
    for package in (commands.parent.parent, commands.parent, commands):
        (package / "__init__.py").write_text("")
    (commands / "crash.py").write_text(CRASH)
    _settings(new_project, 'INSTALLED_APPS = [*INSTALLED_APPS, "polls"]\n')
    return commands / "crash.py"


def _frames(traceback_text: str) -> list[str]:
    return [
        line.split('"')[1] for line in traceback_text.splitlines() if line.startswith("  File ")
    ]


def test_a_crashing_commands_traceback_starts_at_its_handle(
    crashing_command: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("crash")
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert _frames(result.stderr) == [str(crashing_command)] * 2
    assert ", in handle\n    helper()" in result.stderr
    assert result.stderr.endswith("ValueError: boom in helper\n")


def test_a_crashing_command_run_from_the_shell_shows_the_same(
    crashing_command: Path, run_appshell: RunAppshell
) -> None:
    result = run_appshell("shell", "-c", "print(cli('crash').exit_code)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1\n"
    assert _frames(result.stderr) == [str(crashing_command)] * 2
