"""The project's pyproject.toml: found upward, parsed once per process, and a file that is
not UTF-8 or not TOML is one message naming it (exit code 2), never a traceback."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from appshell.exceptions import AppShellUsageError
from appshell.project import find_project

RunAppshell = t.Callable[..., t.Any]

APP = "from flask import Flask\napp = Flask('projapp')\n"

#: Counts, through Python's audit hook, every open() of a pyproject.toml in the process.
COUNT_OPENS = """
import os, sys

def _count(event, args):
    if event == "open" and str(args[0]).endswith("pyproject.toml"):
        with open(os.environ["OPENS_LOG"], "a") as log:
            log.write(str(args[0]) + "\\n")

sys.addaudithook(_count)
"""


def test_the_pyproject_is_read_once_per_command(run_appshell: RunAppshell, tmp_path: Path) -> None:
    (tmp_path / "projapp.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.appshell]\napp = "projapp:app"\nprofile = "team"\n'
        '[tool.appshell.profiles.team]\nimports = ["json"]\n'
    )
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(COUNT_OPENS)
    log = tmp_path / "opens.log"
    result = run_appshell(
        "shell", "-c", "print(app.name, json.__name__)",
        env={"PYTHONPATH": str(hooks), "OPENS_LOG": str(log)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "projapp json\n"
    assert log.read_text().splitlines() == [str(tmp_path / "pyproject.toml")]


def test_the_nearest_pyproject_is_found_upward(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.appshell]\napp = "up:app"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    project = find_project(deep)
    assert project is not None
    assert project.path == str(tmp_path / "pyproject.toml")
    assert project.folder == str(tmp_path)
    assert project.settings == {"app": "up:app"}


def test_a_pyproject_changed_since_it_was_read_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.appshell]\napp = "one:app"\n')
    assert find_project().settings["app"] == "one:app"  # type: ignore[union-attr]
    path.write_text('[tool.appshell]\napp = "second:app"\n')
    assert find_project().settings["app"] == "second:app"  # type: ignore[union-attr]


BROKEN = [
    (b'[tool.appshell]\napp = "caf\xe9:app"\n', "not UTF-8"),
    ('[tool.appshell]\napp = "x:app"\n'.encode("utf-16"), "not UTF-8"),
    (b"[tool.appshell]\napp = \n", "not valid TOML"),
    (b"[tool]\nappshell = 3\n", "[tool.appshell] must be a table"),
]
BROKEN_IDS = ["latin-1", "utf-16", "not-toml", "not-a-table"]


@pytest.mark.parametrize(("content", "expected"), BROKEN, ids=BROKEN_IDS)
@pytest.mark.parametrize(
    "args",
    [["shell", "-c", "print('ran')"], ["--app", "projapp", "shell", "-c", "print('ran')"]],
    ids=["app-from-pyproject", "app-given"],
)
def test_a_broken_pyproject_is_exit_2_naming_it(
    run_appshell: RunAppshell, tmp_path: Path, content: bytes, expected: str, args: list[str]
) -> None:
    (tmp_path / "projapp.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_bytes(content)
    result = run_appshell(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert str(tmp_path / "pyproject.toml") in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_broken_pyproject_is_an_appshell_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"name = '\xff'\n")
    with pytest.raises(AppShellUsageError, match="not UTF-8") as caught:
        find_project()
    assert caught.value.exit_code == 2
