"""What appshell imports, checked in a fresh interpreter: start-up stays fast."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import _clean_environ

REPLS = ["IPython", "ptpython", "prompt_toolkit"]


def modules_after(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded once ``appshell ARGS`` has run in a fresh interpreter."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from appshell.cli import cli
        try:
            cli.main({args!r}, prog_name="appshell")
        except SystemExit:
            pass
        sys.__stdout__.write("\\nMODULES " + json.dumps(sorted(sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=_clean_environ() | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    marker = result.stdout.rsplit("MODULES ", 1)
    assert len(marker) == 2, result.stderr
    return set(json.loads(marker[1]))


def test_a_python_script_session_imports_no_repl_package(tmp_path: Path) -> None:
    loaded = modules_after(
        ["--app", "appshell.demo", "shell", "--repl", "python", "-c", "pass"],
        tmp_path,
        {"APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3")},
    )
    assert "appshell.shell.command" in loaded  # the shell did run
    assert not {m for m in loaded if m.split(".")[0] in REPLS}


def test_a_script_without_await_does_not_import_asyncio(tmp_path: Path) -> None:
    demo = {"APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3")}
    plain = modules_after(["--app", "appshell.demo", "shell", "-c", "x = 1"], tmp_path, demo)
    assert "asyncio" not in plain
    awaiting = modules_after(
        ["--app", "appshell.demo", "shell", "-c", "import asyncio; await asyncio.sleep(0)"],
        tmp_path,
        demo,
    )
    assert "asyncio" in awaiting


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--app", "appshell.demo", "--help"], ["shell", "--help"]],
    ids=["help", "help-with-app", "shell-help"],
)
def test_help_imports_no_repl_no_server_no_dotenv(tmp_path: Path, args: list[str]) -> None:
    loaded = modules_after(args, tmp_path)
    heavy = {"dotenv", "asyncio", *REPLS}
    if "--app" not in args:
        # werkzeug's own __init__ imports werkzeug.serving: an app on werkzeug brings it.
        heavy.add("werkzeug")
    assert not {m for m in loaded if m in heavy or m.split(".")[0] in heavy}


def test_help_imports_no_builtin_command_it_does_not_run(tmp_path: Path) -> None:
    loaded = modules_after(["--help"], tmp_path)
    assert "appshell.cli" in loaded
    for module in (
        "appshell.shell.command",
        "appshell.commands.run",
        "appshell.commands.kernel",
        "appshell.jupyter",
        "appshell.adapters",
        "importlib.metadata",
    ):
        assert module not in loaded, module


def test_builtin_short_help_matches_the_commands() -> None:
    import importlib

    from appshell.cli import BUILTIN_COMMANDS

    for name, (module, attr, short_help) in BUILTIN_COMMANDS.items():
        command = getattr(importlib.import_module(module), attr)
        assert command.name == name
        assert command.get_short_help_str(100) == short_help, name


@pytest.mark.parametrize(
    "args",
    [
        ["--app", "appshell.demo", "shell", "-c", "pass"],
        ["--app", "cli_flaskapp", "shell", "-c", "pass"],
        ["--app", "cli_flaskapp", "routes"],
    ],
    ids=["wsgi-shell", "flask-shell", "flask-routes"],
)
def test_a_wsgi_session_imports_no_asgi_framework(tmp_path: Path, args: list[str]) -> None:
    from .conftest import APPS

    loaded = modules_after(args, APPS, {"APPSHELL_DEMO_DATABASE": str(tmp_path / "d.sqlite3")})
    assert "appshell.adapters" in loaded  # the adapters were asked
    assert not {
        m for m in loaded if m.split(".")[0] in {"starlette", "fastapi", "litestar", "quart"}
    }
    # Nor the adapters of those frameworks: no app of theirs can exist in this process.
    for adapter in ("quart", "starlette", "litestar"):
        assert f"appshell.adapters.{adapter}" not in loaded
    assert "django" not in loaded  # nor Django, nor its adapter
    assert "appshell.adapters.django" not in loaded
    assert not {m for m in loaded if m.split(".")[0] == "sqlalchemy"}  # nor any ORM
    assert "appshell.databases" not in loaded


FRAMEWORKS = {"flask", "werkzeug", "starlette", "fastapi", "litestar", "quart", "django"}


@pytest.mark.parametrize("app", ["asgi_fastapi", "asgi_starlette", "asgi_litestar", "asgi_quart"])
def test_an_asgi_session_imports_no_other_framework_and_no_orm(app: str) -> None:
    from .conftest import APPS

    loaded = modules_after(["--app", app, "shell", "-c", "pass"], APPS)
    assert "appshell.lifespan" in loaded  # the session did run
    # The frameworks the app's own import loads (Litestar imports some of Starlette's).
    own = subprocess.run(
        [sys.executable, "-c", f"import sys, {app}; print(*sys.modules)"],
        cwd=APPS,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    tops = {m.split(".")[0] for m in loaded}
    assert not (tops & FRAMEWORKS) - {m.split(".")[0] for m in own}
    assert "sqlalchemy" not in tops
    assert "appshell.databases" not in loaded
    assert "appshell.adapters.django" not in loaded


@pytest.mark.parametrize(
    "args",
    [["--help"], ["shell", "-c", "pass"], ["routes"]],
    ids=["help", "shell", "routes"],
)
def test_a_django_session_imports_no_other_framework(tmp_path: Path, args: list[str]) -> None:
    from .django.project import write_project

    loaded = modules_after(args, write_project(tmp_path))
    assert "appshell.adapters.django" in loaded  # it is a Django session
    others = {"flask", "starlette", "fastapi", "litestar", "quart", "sqlalchemy", "werkzeug"}
    assert not {m for m in loaded if m.split(".")[0] in others}
    assert not set(REPLS) & loaded


def test_django_help_loads_no_management_command(tmp_path: Path) -> None:
    from .django.project import write_project

    loaded = modules_after(["--help"], write_project(tmp_path))
    # Listing the commands reads their names, never imports them (nor the migrations).
    assert not {m for m in loaded if m.startswith("django.core.management.commands.")}
    assert "django.db.migrations.executor" not in loaded


def test_the_start_up_objects_are_frozen_and_the_users_are_collected(tmp_path: Path) -> None:
    # The console script freezes what exists before the app's import (the collector then
    # skips it); the user's own garbage is still collected as in plain Python.
    code = (
        "import gc, weakref\n"
        "class Node: pass\n"
        "node = Node(); node.me = node; ref = weakref.ref(node); del node\n"
        "gc.collect()\n"
        "print('frozen', gc.get_freeze_count() > 0, 'freed', ref() is None)\n"
    )
    appshell = str(Path(sys.executable).parent / "appshell")
    result = subprocess.run(
        [appshell, "--app", "appshell.demo", "shell", "--repl", "python", "-c", code],
        cwd=tmp_path,
        env=_clean_environ() | {"APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "frozen True freed True"
