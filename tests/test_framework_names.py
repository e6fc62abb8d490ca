"""appshell names the framework the user has, whichever it is: ``--version`` in a project's
folder, ``flask shell --help`` speaking of ``flask shell``, a FastAPI app's ``title``."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from .conftest import Result, _clean_environ

Run = t.Callable[..., Result]


@pytest.mark.parametrize(
    ("files", "framework", "dist"),
    [
        ({"manage.py": "", "mysite/__init__.py": ""}, "Django", "django"),
        ({"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "FastAPI", "fastapi"),
        ({"app.py": "from quart import Quart\napp = Quart(__name__)\n"}, "Quart", "quart"),
        ({"app.py": "from litestar import Litestar\napp = Litestar()\n"}, "Litestar", "litestar"),
    ],
    ids=["django", "fastapi", "quart", "litestar"],
)
def test_version_names_the_projects_framework(
    run_appshell: Run, tmp_path: Path, files: dict[str, str], framework: str, dist: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = run_appshell("--version")
    assert result.returncode == 0, result.stderr
    assert f"{framework} {importlib.metadata.version(dist)}" in result.stdout.splitlines()


def test_flask_shell_help_speaks_of_flask_shell(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "hello", "shell", "--help"],
        cwd=tmp_path,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: flask shell [OPTIONS] [FILE] [ARGS]...")
    assert "appshell shell" not in result.stdout
