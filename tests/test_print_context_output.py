"""``--print-context`` prints the listing alone on stdout: what opening the session prints
(profile startup code, an ASGI lifespan) goes to stderr, so ``--json`` stays JSON."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from .conftest import Result

Run = t.Callable[..., Result]

APP = """\
import contextlib
from starlette.applications import Starlette

@contextlib.asynccontextmanager
async def lifespan(app):
    print("lifespan: started")
    yield {"db": "open"}
    print("lifespan: stopped")

app = Starlette(lifespan=lifespan)
"""


def test_print_context_json_is_json_when_startup_prints(run_appshell: Run, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.appshell.profiles.team]\nstartup = [\"print('from startup')\\nanswer = 42\"]\n"
    )
    result = run_appshell(
        "--app", "main:app", "shell", "--profile", "team", "--print-context", "--json"
    )
    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry["source"] for entry in json.loads(result.stdout)}
    assert listed["answer"] == "startup"
    assert listed["state"] == "default"
    assert result.stderr.splitlines() == ["lifespan: started", "from startup", "lifespan: stopped"]


def test_a_shell_still_prints_startup_output_on_stdout(run_appshell: Run, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.appshell.profiles.team]\nstartup = [\"print('from startup')\"]\n"
    )
    result = run_appshell("--app", "main:app", "shell", "--profile", "team", "-c", "print(1)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "lifespan: started",
        "from startup",
        "1",
        "lifespan: stopped",
    ]
