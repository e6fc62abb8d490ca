"""Django's synchronous ORM calls, which Django refuses where an event loop is running
(``SynchronousOnlyOperation``), at every prompt and in scripts that also ``await`` the ORM's
async methods, with ``DJANGO_ALLOW_ASYNC_UNSAFE`` never set for the session."""

from __future__ import annotations

import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests.conftest import Result, _clean_environ
from tests.django.project import write_project
from tests.e2e.test_repls import PROMPTS, Session, spawn_appshell, stop_all

RunAppshell = t.Callable[..., Result]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated ``db.sqlite3`` of the test project, made once for the whole run."""
    folder = write_project(tmp_path_factory.mktemp("django-migrated"))
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=folder,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    return folder / "db.sqlite3"


@pytest.fixture
def project(django_project: Path, migrated_database: Path) -> Path:
    """The test project in the test's folder, its database migrated."""
    shutil.copy(migrated_database, django_project / "db.sqlite3")
    return django_project


# -- at the prompt --------------------------------------------------------------------------

#: Typed at the prompt in turn, with what each must print: the loop is made (and, in
#: ptpython and IPython, kept running while the prompt waits) before the synchronous calls.
PROMPT_LINES = [
    ("import asyncio, os; await asyncio.sleep(0)", None),
    ("print('sync', Post.objects.count())", "sync 0"),
    ("print('async', await Post.objects.acount())", "async 0"),
    ("Post.objects.create(title='typed'); print('after', Post.objects.count())", "after 1"),
    ("print('env', repr(os.environ.get('DJANGO_ALLOW_ASYNC_UNSAFE')))", "env None"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "repl", ["python", "ipython", "ptpython"], ids=["python", "ipython", "ptpython"]
)
def test_a_synchronous_orm_call_works_at_every_prompt_after_an_await(
    project: Path, repl: str
) -> None:
    child = spawn_appshell(
        project, ["--app", "mysite.settings", "shell", "--repl", repl, "-q"], {"NO_COLOR": "1"}
    )
    try:
        shell = Session(child, PROMPTS[repl])
        shell.wait_prompt()
        for line, expect in PROMPT_LINES:
            if expect is None:
                shell.child.sendline(line)
                shell.wait_prompt()
            else:
                shell.run(line, expect)
        assert "SynchronousOnlyOperation" not in (project / "pty.log").read_text()
        assert shell.exit(repl) == 0
    finally:
        stop_all([child])


# -- scripts ------------------------------------------------------------------------------

MIXED_SCRIPT = """\
import os
print("async", await Post.objects.acount())
print("sync", Post.objects.count())
Post.objects.create(title="from sync")
await Post.objects.acreate(title="from async")
n = await Post.objects.acount()
print("both", Post.objects.count(), n, os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"))
"""
MIXED_OUTPUT = "async 0\nsync 0\nboth 2 2 None\n"


@pytest.mark.parametrize("mode", ["FILE", "-c", "stdin"], ids=["FILE", "-c", "stdin"])
def test_a_script_mixes_awaited_and_synchronous_orm_calls(
    project: Path, run_appshell: RunAppshell, mode: str
) -> None:
    # Before, the whole script ran as one coroutine inside the loop: its first synchronous
    # ORM call raised SynchronousOnlyOperation.
    (project / "mixed.py").write_text(MIXED_SCRIPT)
    args = {"FILE": ["mixed.py"], "-c": ["-c", MIXED_SCRIPT], "stdin": []}[mode]
    stdin = MIXED_SCRIPT if mode == "stdin" else ""
    result = run_appshell("--app", "mysite.settings", "shell", *args, input=stdin)
    assert result == (0, MIXED_OUTPUT, ""), result.stderr


def test_a_transcript_mixes_them_too(project: Path, run_appshell: RunAppshell) -> None:
    (project / "mixed.py").write_text(MIXED_SCRIPT)
    result = run_appshell("--app", "mysite.settings", "shell", "--echo", "mixed.py")
    assert result.returncode == 0, result.stdout
    assert '>>> print("sync", Post.objects.count())\nsync 0\n' in result.stdout
    assert "both 2 2 None\n" in result.stdout


def test_one_statement_that_awaits_and_calls_the_orm_synchronously_is_djangos_error(
    project: Path, run_appshell: RunAppshell
) -> None:
    # A statement that awaits runs in the loop, synchronous calls in it included: Django's
    # own error, from the script's line, and the script stops there as python would.
    source = (
        "n = 1\nprint(Post.objects.count(), await Post.objects.acount())\nprint('not reached')\n"
    )
    (project / "one.py").write_text(source)
    result = run_appshell("--app", "mysite.settings", "shell", "one.py")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f'Traceback (most recent call last):\n  File "{project / "one.py"}", line 2, in <module>\n'
    ), result.stderr
    assert (
        result.stderr.rstrip()
        .splitlines()[-1]
        .startswith(
            "django.core.exceptions.SynchronousOnlyOperation: You cannot call this from an async"
        )
    )


@pytest.mark.slow
def test_the_prompt_after_a_script_that_awaited(project: Path) -> None:
    (project / "first.py").write_text("n = await Post.objects.acount()\n")
    child = spawn_appshell(
        project, ["--app", "mysite.settings", "shell", "-i", "--repl", "python", "first.py"]
    )
    try:
        shell = Session(child, PROMPTS["python"])
        shell.wait_prompt()
        shell.run("print('counts', n, Post.objects.count())", "counts 0 0")
        assert shell.exit("python") == 0
    finally:
        stop_all([child])
