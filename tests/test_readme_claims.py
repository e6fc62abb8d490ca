"""What the README shows a new user, tried as they would: each test runs the command the
README gives and compares what it says with what appshell prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from .conftest import Result, _clean_environ

Run = t.Callable[..., Result]
README = (Path(__file__).parent.parent / "README.md").read_text()


def _block_after(marker: str) -> list[str]:
    """The lines of the fenced block that starts after ``marker`` in the README."""
    start = README.index(marker)
    body = README[start:].split("```", 2)[1]
    return body.split("\n")[1:]


def test_the_banner_example_is_the_demos_banner(run_appshell: Run) -> None:
    shown = _block_after("A session, with the stdlib REPL")
    assert shown[0] == "$ appshell --app appshell.demo shell --repl python"
    readme_banner = shown[2 : shown.index("")]
    result = run_appshell("--app", "appshell.demo", "shell", "--repl", "python", "-i", input="")
    assert result.returncode == 0, result.stderr
    # The stdlib REPL writes its banner where it writes its prompts' echo: stderr.
    real = result.stderr.splitlines()
    assert real[0].startswith("Python ")
    assert real[1 : 1 + len(readme_banner)] == readme_banner


def test_the_jupyter_summary_is_what_attaching_the_demo_says() -> None:
    pytest.importorskip("IPython")
    shown = _block_after("`%load_ext appshell` gives a notebook")
    start = shown.index("In [2]: %appshell --app appshell.demo") + 1
    readme_summary = shown[start : shown.index("", start)]
    code = (
        "ip = get_ipython()\n"
        "ip.run_line_magic('load_ext', 'appshell')\n"
        "print(repr(ip.run_line_magic('appshell', '--app appshell.demo')))\n"
        "ip.run_line_magic('appshell', '--detach')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c", code],
        env=_clean_environ() | {"NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("appshell: attached"))
    assert lines[start : start + len(readme_summary)] == readme_summary


def test_the_background_server_snippet_runs_as_written(run_appshell: Run, tmp_path: Path) -> None:
    pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    marker = "server = cli.run(background=True, port=0)\n  async with httpx"
    start = README.rindex("```python", 0, README.index(marker))
    snippet = README[start:].split("```", 2)[1].removeprefix("python\n")
    (tmp_path / "main.py").write_text(
        "from fastapi import FastAPI\napp = FastAPI()\n\n"
        "@app.get('/items')\nasync def items():\n    return ['apple']\n"
    )
    script = "\n".join(line.removeprefix("  ") for line in snippet.splitlines())
    (tmp_path / "snippet.py").write_text(script + "print(r.json())\n")
    result = run_appshell("--app", "main:app", "shell", "snippet.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['apple']"


def test_kernel_install_is_shown_with_app_before_the_command() -> None:
    # --app belongs to the root group: `appshell kernel install --app X` is a usage error.
    assert not re.search(r"kernel install[^`\n]*--app", README)
    assert "`appshell --app mysite.settings kernel install`" in README


def test_routes_all_methods_on_the_demo_is_as_described(run_appshell: Run) -> None:
    line = next(line for line in README.splitlines() if "routes --all-methods" in line)
    assert line.split("#", 1)[1].strip() == "HEAD (and OPTIONS where the app has it)"
    result = run_appshell("--app", "appshell.demo", "routes", "--all-methods")
    assert result.returncode == 0, result.stderr
    assert "GET, HEAD" in result.stdout


def test_interactive_with_empty_stdin_starts_and_ends_the_repl(run_appshell: Run) -> None:
    assert "With `-i`, empty\n  stdin starts the REPL" in README
    result = run_appshell(
        "--app", "appshell.demo", "shell", "-q", "-i", "--repl", "python", input=""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ">>> "


def test_the_opening_paragraph_and_description_name_the_frameworks() -> None:
    opening = README.split("appshell gives a Python web application", 1)[1].split("\n\n")[0]
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    description = re.search(r'^description = "(.*)"$', pyproject, re.M)
    assert description is not None
    for text in (opening, description.group(1)):
        for framework in ("Flask", "FastAPI", "Django", "Quart", "Starlette", "Litestar"):
            assert framework in text
        assert "WSGI or ASGI" in text
    assert "for Flask apps and any WSGI app" not in README


def test_the_routes_paragraph_is_said_once() -> None:
    assert README.count("`routes` lists the routes of") == 1


def test_the_default_names_listed_are_the_ones_a_shell_gets(run_appshell: Run) -> None:
    start = README.index("1. `default`: ")
    listed = README[start : README.index("\n2. ", start)]
    result = run_appshell("--app", "appshell.demo", "shell", "--print-context", "--json")
    assert result.returncode == 0, result.stderr
    defaults = [e["name"] for e in json.loads(result.stdout) if e["source"] == "default"]
    assert defaults == ["app", "cli", "client"]
    for name in defaults:
        assert f"`{name}`" in listed
