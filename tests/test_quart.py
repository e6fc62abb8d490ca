"""Quart apps through the real command: the ``app.cli`` commands of every kind Quart allows
(plain, ``with_appcontext=True``, ``quart.cli.with_appcontext`` by hand, ``with_appcontext=False``
running a loop of its own), in the app context, with the app's teardown run once."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from .conftest import APPS, Result

RunAppshell = t.Callable[..., Result]

QUART_APP = (APPS / "quart_recorded.py").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "quart_recorded.py").write_text(QUART_APP)
    return tmp_path


def log(project: Path) -> list[str]:
    path = project / "quart.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize(
    ("command", "shown", "teardowns"),
    [
        ("plain", "plain quart_recorded", ["teardown plain"]),
        # Quart's own with_appcontext enters a second app context inside appshell's.
        ("wrapped", "wrapped quart_recorded", ["teardown None", "teardown None"]),
        ("explicit", "explicit quart_recorded", ["teardown None", "teardown None"]),
        ("own-loop", "own loop quart_recorded", ["teardown None"]),
    ],
    ids=["plain", "with-appcontext-true", "quart-with-appcontext", "with-appcontext-false"],
)
def test_app_commands_run_in_the_app_context(
    run_appshell: RunAppshell, project: Path, command: str, shown: str, teardowns: list[str]
) -> None:
    result = run_appshell("--app", "quart_recorded", command, cwd=project)
    assert (result.returncode, result.stdout, result.stderr) == (0, shown + "\n", "")
    # The serving hooks are the lifespan's: a command runs none of them.
    assert log(project) == teardowns


def test_an_app_command_that_raises_shows_the_users_traceback(
    run_appshell: RunAppshell, project: Path
) -> None:
    result = run_appshell("--app", "quart_recorded", "fails", cwd=project)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert 'quart_recorded.py", line' in result.stderr
    assert result.stderr.rstrip().endswith("LookupError: the command failed")
    assert "appshell" not in result.stderr.replace("quart_recorded", "")
    assert log(project) == ["teardown None"]


def test_app_commands_from_the_shell_use_the_sessions_app_context(
    run_appshell: RunAppshell, project: Path
) -> None:
    code = "cli.plain(); cli.explicit(); cli('own-loop'); print(g.mark)"
    result = run_appshell("--app", "quart_recorded", "shell", "-c", code, cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "plain quart_recorded\nexplicit quart_recorded\nown loop quart_recorded\nplain\n"
    )
    # Quart's startup and shutdown each run in an app context of their own; in between, the
    # one of explicit's decorator, then the session's (plain set its g), popped at the end.
    assert log(project) == [
        "startup",
        "teardown None",
        "teardown None",
        "teardown plain",
        "shutdown",
        "teardown None",
    ]


def test_app_commands_are_listed_with_their_help(run_appshell: RunAppshell, project: Path) -> None:
    result = run_appshell("--app", "quart_recorded", "--help", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "  own-loop  Runs an event loop of its own" in result.stdout
    assert "  wrapped   Quart's AppGroup wraps it" in result.stdout
    assert log(project) == []


SCRIPT = """\
import asyncio
from quart import current_app
print("sync", current_app.name)
await asyncio.sleep(0)
print("awaited", current_app.name)
current_app
"""


@pytest.mark.parametrize(
    "how", ["-c", "stdin", "--echo", "file", "ipy"], ids=["c", "stdin", "echo", "file", "ipy"]
)
def test_every_statement_of_a_script_sees_the_app_context(
    run_appshell: RunAppshell, project: Path, how: str
) -> None:
    # Quart's app context is entered on the session's loop, in the session's context: a
    # script's statements run there, those that await and those that do not.
    args: list[str] = {"-c": ["-c", SCRIPT], "--echo": ["--echo"]}.get(how, [])
    if how in ("file", "ipy"):
        name = f"script.{'py' if how == 'file' else 'ipy'}"
        (project / name).write_text(SCRIPT)
        args = [name]
    stdin = SCRIPT if how in ("stdin", "--echo") else None
    result = run_appshell("--app", "quart_recorded", "shell", *args, cwd=project, input=stdin)
    assert result.returncode == 0, result.stderr
    assert "sync quart_recorded\n" in result.stdout
    assert "awaited quart_recorded\n" in result.stdout
    if how == "--echo":
        assert ">>> current_app\n<Quart 'quart_recorded'>\n" in result.stdout
