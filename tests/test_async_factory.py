"""An ``async def`` app factory, through the real command: refused in one line, exit 2,
before anything runs (the factory's body included), with no "never awaited" warning."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

pytestmark = pytest.mark.slow

APP = """\
from fastapi import FastAPI

async def create_app(name="main"):
    with open("factory-ran.txt", "w") as f:
        f.write(name)
    return FastAPI(title=name)
"""


@pytest.mark.parametrize(
    ("app", "command"),
    [
        (["--app", "main:create_app()"], ["shell", "-c", "print(app)"]),
        (["--app", "main:create_app"], ["shell", "-c", "print(app)"]),
        (["--app", "main:create_app('dev')"], ["run", "--port", "0"]),
        ([], ["routes"]),
    ],
    ids=["shell-call", "shell-bare-name", "run-with-arguments", "routes-found-by-default"],
)
def test_an_async_factory_is_one_line_and_exit_2(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, app: list[str], command: list[str]
) -> None:
    (tmp_path / "main.py").write_text(APP)
    result = run_appshell(*app, *command)
    assert (result.returncode, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "The factory 'create_app' in module 'main' is an async function" in lines[0]
    assert "Make it a plain 'def' and do the awaited setup in the app's lifespan" in lines[0]
    assert not (tmp_path / "factory-ran.txt").exists()
