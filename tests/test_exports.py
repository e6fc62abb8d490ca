"""The public API: exactly what is exported, that it resolves, and that importing it is light."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import appshell
import appshell.cli

EXPECTED_APPSHELL = {
    "__version__",
    "AppAdapter",
    "AppGroup",
    "AppShellGroup",
    "BaseAdapter",
    "FlaskGroup",
    "NoAppException",
    "Route",
    "ScriptInfo",
    "attach",
    "detach",
    "load_ipython_extension",
    "pass_script_info",
    "unload_ipython_extension",
    "with_appcontext",
}

EXPECTED_CLI = {
    "AppGroup",
    "AppShellGroup",
    "FlaskGroup",
    "NoAppException",
    "ScriptInfo",
    "cli",
    "find_best_app",
    "get_version",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
}


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("module", "expected"),
    [(appshell, EXPECTED_APPSHELL), (appshell.cli, EXPECTED_CLI)],
    ids=["appshell", "appshell.cli"],
)
def test_all_is_exactly(module: object, expected: set[str]) -> None:
    exported = module.__all__  # type: ignore[attr-defined]
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == expected


@pytest.mark.parametrize(
    ("module", "name"),
    [("appshell", n) for n in sorted(EXPECTED_APPSHELL)]
    + [("appshell.cli", n) for n in sorted(EXPECTED_CLI)],
    ids=[f"appshell.{n}" for n in sorted(EXPECTED_APPSHELL)]
    + [f"appshell.cli.{n}" for n in sorted(EXPECTED_CLI)],
)
def test_exported_name_resolves(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(
    "name",
    [
        "AppGroup",
        "AppShellGroup",
        "FlaskGroup",
        "ScriptInfo",
        "pass_script_info",
        "with_appcontext",
        "NoAppException",
    ],
)
def test_top_level_names_are_the_cli_names(name: str) -> None:
    assert getattr(appshell, name) is getattr(appshell.cli, name)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        appshell.nope  # noqa: B018


def test_dir_lists_the_public_api() -> None:
    assert set(dir(appshell)) >= EXPECTED_APPSHELL


def test_version_is_the_installed_distributions() -> None:
    import importlib.metadata

    assert appshell.__version__ == importlib.metadata.version("appshell")


IMPORT_APPSHELL = """\
import sys
before = set(sys.modules)
import appshell
new = set(sys.modules) - before
print("\\n".join(sorted(
    name for name in new if name.split(".")[0] not in sys.stdlib_module_names
)))
"""


def test_import_appshell_imports_only_appshell(tmp_path: Path) -> None:
    proc = run_python(IMPORT_APPSHELL, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["appshell"]


HELP_MODULES = """\
import sys
from appshell.cli import cli
try:
    cli.main(["--help"], standalone_mode=False)
except SystemExit:
    pass
print("MODULES", " ".join(sorted(sys.modules)))
"""

HEAVY = ["IPython", "ptpython", "prompt_toolkit", "werkzeug.serving", "dotenv", "flask"]


def help_modules(tmp_path: Path) -> set[str]:
    proc = run_python(HELP_MODULES, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    return set(proc.stdout.rsplit("MODULES ", 1)[1].split())


@pytest.mark.parametrize("module", HEAVY, ids=HEAVY)
def test_help_without_app_stays_light(tmp_path: Path, module: str) -> None:
    assert module not in help_modules(tmp_path)


def test_help_with_env_file_imports_dotenv(tmp_path: Path) -> None:
    # The other side of test_help_without_app_stays_light[dotenv]: that check can fail.
    (tmp_path / ".env").write_text("SOMETHING=1\n")
    assert "dotenv" in help_modules(tmp_path)
