"""The ``appshell`` group: options, env files, help, app commands, custom scripts, and
compatibility with ``flask.cli``."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import platform
import subprocess
import sys
import typing as t
from pathlib import Path

import click
import flask.cli
import pytest
from flask import Flask, current_app

import appshell.cli
from appshell.cli import (
    AppGroup,
    FlaskGroup,
    NoAppException,
    ScriptInfo,
    find_best_app,
    locate_app,
    with_appcontext,
)

APPS = Path(__file__).parent / "apps"
FLASK_APP = str(APPS / "cli_flaskapp.py")
ROUTES_APP = str(APPS / "cli_routesapp.py")
#: The built-in commands: routes and run, and whatever else appshell ships (shell).
BUILTIN = sorted(appshell.cli.BUILTIN_COMMANDS)


@pytest.fixture(autouse=True)
def _restore_environ() -> t.Iterator[None]:
    # Env files and --debug write to os.environ in-process; CliRunner restores only the
    # variables it was given.
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def run_python(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in a subprocess with no APPSHELL_*/FLASK_* variables."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    full_env.pop("PYTHONPATH", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def listed_commands(help_text: str) -> list[str]:
    """The command names in the "Commands:" section of a help page."""
    names = []
    for line in help_text.split("\nCommands:\n", 1)[1].splitlines():
        if not line.strip():
            break
        if not line.startswith("   "):
            names.append(line.split()[0])
    return names


def endpoints(routes_output: str) -> list[str]:
    """The endpoint column of ``routes`` output, in the order shown."""
    return [line.split()[0] for line in routes_output.splitlines()[2:]]


# -- env files ------------------------------------------------------------------------------

ENV_VARS = ("V_REAL", "V_FILE", "V_ENV", "V_FLASKENV")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose .env and .flaskenv are two folders above the returned folder; each
    variable is set in every source down to the one it is named after."""
    root = tmp_path / "project"
    subfolder = root / "sub" / "deeper"
    subfolder.mkdir(parents=True)
    (root / ".flaskenv").write_text(
        "V_REAL=flaskenv\nV_FILE=flaskenv\nV_ENV=flaskenv\nV_FLASKENV=flaskenv\n"
    )
    (root / ".env").write_text("V_REAL=env\nV_FILE=env\nV_ENV=env\n")
    (tmp_path / "custom.env").write_text("V_REAL=custom\nV_FILE=custom\n")
    return subfolder


PRECEDENCE_CASES = [
    pytest.param(
        True,
        ["V_REAL=real", "V_FILE=custom", "V_ENV=env", "V_FLASKENV=flaskenv"],
        id="with-env-file",
    ),
    pytest.param(
        False,
        ["V_REAL=real", "V_FILE=env", "V_ENV=env", "V_FLASKENV=flaskenv"],
        id="defaults-only",
    ),
]


@pytest.mark.parametrize(("use_env_file", "expected"), PRECEDENCE_CASES)
def test_env_files_precedence(
    runner: click.testing.CliRunner,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    use_env_file: bool,
    expected: list[str],
) -> None:
    monkeypatch.chdir(project)
    args = ["--env-file", str(tmp_path / "custom.env")] if use_env_file else []
    result = runner.invoke(
        appshell.cli.cli, [*args, "--app", FLASK_APP, "env", *ENV_VARS], env={"V_REAL": "real"}
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == expected


@pytest.mark.parametrize(("use_env_file", "expected"), PRECEDENCE_CASES)
def test_env_files_precedence_real_command(
    run_appshell: t.Callable[..., t.Any],
    project: Path,
    tmp_path: Path,
    use_env_file: bool,
    expected: list[str],
) -> None:
    args = ["-e", str(tmp_path / "custom.env")] if use_env_file else []
    result = run_appshell(
        *args, "--app", FLASK_APP, "env", *ENV_VARS, cwd=project, env={"V_REAL": "real"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
    assert result.stderr == ""


def test_env_file_sets_the_app(run_appshell: t.Callable[..., t.Any], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"APPSHELL_APP={FLASK_APP}\n")
    result = run_appshell("whoami")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "current_app=cli_flaskapp\n"


SKIP_CASES = [
    pytest.param({"APPSHELL_SKIP_DOTENV": "1"}, "V_ENV=None", id="APPSHELL_SKIP_DOTENV=1"),
    pytest.param({"APPSHELL_SKIP_DOTENV": "true"}, "V_ENV=None", id="APPSHELL_SKIP_DOTENV=true"),
    pytest.param({"FLASK_SKIP_DOTENV": "1"}, "V_ENV=None", id="FLASK_SKIP_DOTENV=1"),
    pytest.param({"APPSHELL_SKIP_DOTENV": "0"}, "V_ENV=env", id="APPSHELL_SKIP_DOTENV=0"),
    pytest.param(
        {"APPSHELL_SKIP_DOTENV": "0", "FLASK_SKIP_DOTENV": "1"},
        "V_ENV=env",
        id="APPSHELL_SKIP_DOTENV-wins",
    ),
]


@pytest.mark.parametrize(("env", "expected"), SKIP_CASES)
def test_skip_dotenv(
    runner: click.testing.CliRunner,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.chdir(project)
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "env", "V_ENV"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{expected}\n"


@pytest.mark.parametrize(
    "variable", ["APPSHELL_SKIP_DOTENV", "FLASK_SKIP_DOTENV"], ids=["appshell", "flask"]
)
def test_skip_dotenv_real_command(
    run_appshell: t.Callable[..., t.Any], project: Path, variable: str
) -> None:
    result = run_appshell(
        "--app", FLASK_APP, "env", "V_ENV", "V_FLASKENV", cwd=project, env={variable: "1"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "V_ENV=None\nV_FLASKENV=None\n"


def test_skip_dotenv_still_reads_env_file(
    runner: click.testing.CliRunner, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    result = runner.invoke(
        appshell.cli.cli,
        ["-e", str(tmp_path / "custom.env"), "--app", FLASK_APP, "env", "V_FILE", "V_ENV"],
        env={"APPSHELL_SKIP_DOTENV": "1"},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "V_FILE=custom\nV_ENV=None\n"


MALFORMED_ENV = 'GOOD=1\nBAD="never closed\nLATER=2\n'


def test_malformed_env_file_warns_and_carries_on(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(MALFORMED_ENV)
    result = run_appshell("--app", FLASK_APP, "env", "GOOD", "LATER")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "GOOD=1\nLATER=2\n"
    assert "could not parse statement starting at line 2" in result.stderr


def test_malformed_env_file_in_process(
    runner: click.testing.CliRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".env").write_text(MALFORMED_ENV)
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "env", "GOOD", "LATER"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "GOOD=1\nLATER=2\n"
    assert "line 2" in caplog.text


@pytest.mark.parametrize("option", ["--env-file", "-e"], ids=["long", "short"])
def test_env_file_that_does_not_exist(runner: click.testing.CliRunner, option: str) -> None:
    result = runner.invoke(appshell.cli.cli, [option, "nosuch", "routes"])
    assert result.exit_code == 2
    assert "'nosuch' does not exist" in result.stderr
    assert "--env-file" in result.stderr


def test_env_file_that_does_not_exist_real_command(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--env-file", "nosuch", "routes")
    assert result.returncode == 2
    assert "'nosuch' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_file_from_environment_variable(
    runner: click.testing.CliRunner, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    result = runner.invoke(
        appshell.cli.cli,
        ["--app", FLASK_APP, "env", "V_FILE"],
        env={"APPSHELL_ENV_FILE": str(tmp_path / "custom.env")},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "V_FILE=custom\n"


def test_env_file_without_dotenv_installed(
    runner: click.testing.CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    (tmp_path / ".env").write_text("FROM_DOTENV=1\n")
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "env", "FROM_DOTENV"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "FROM_DOTENV=None\n"
    [line] = result.stderr.splitlines()
    assert ".env" in line
    assert "python-dotenv" in line


def test_explicit_env_file_without_dotenv_installed(
    runner: click.testing.CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    (tmp_path / "custom.env").write_text("FROM_DOTENV=1\n")
    result = runner.invoke(appshell.cli.cli, ["-e", "custom.env", "--app", FLASK_APP, "routes"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed" in result.stderr


@pytest.fixture
def without_dotenv(tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess in which ``import dotenv`` fails."""
    folder = tmp_path / "no-dotenv"
    folder.mkdir()
    (folder / "dotenv.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'dotenv'\", name='dotenv')\n"
    )
    return {"PYTHONPATH": str(folder)}


@pytest.mark.parametrize(
    "args", [["--app", FLASK_APP, "env", "FROM_DOTENV"], ["--help"]], ids=["command", "help"]
)
def test_env_file_without_dotenv_installed_real_command(
    run_appshell: t.Callable[..., t.Any],
    tmp_path: Path,
    without_dotenv: dict[str, str],
    args: list[str],
) -> None:
    (tmp_path / ".env").write_text("FROM_DOTENV=1\n")
    result = run_appshell(*args, env=without_dotenv)
    assert result.returncode == 0, result.stderr
    assert "FROM_DOTENV=1" not in result.stdout
    [line] = result.stderr.splitlines()
    assert ".env" in line
    assert "python-dotenv" in line


DOTENV_IMPORTED = f"""\
import sys
from appshell.cli import cli
cli.main(["--app", {FLASK_APP!r}, "whoami"], standalone_mode=False)
print("dotenv imported:", "dotenv" in sys.modules)
"""


@pytest.mark.parametrize(
    ("env_file", "imported"),
    [(None, False), (".env", True), (".flaskenv", True)],
    ids=["no-env-file", "dotenv-file", "flaskenv-file"],
)
def test_dotenv_imported_only_when_an_env_file_exists(
    tmp_path: Path, env_file: str | None, imported: bool
) -> None:
    if env_file is not None:
        (tmp_path / env_file).write_text("SOMETHING=1\n")
    proc = run_python("-c", DOTENV_IMPORTED, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["current_app=cli_flaskapp", f"dotenv imported: {imported}"]


# -- options from the environment ---------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, [], ["alpha", "bravo", "charlie"]),
        ({"APPSHELL_ROUTES_SORT": "rule"}, [], ["charlie", "alpha", "bravo"]),
        ({"APPSHELL_ROUTES_SORT": "match"}, [], ["bravo", "alpha", "charlie"]),
        ({"APPSHELL_ROUTES_SORT": "rule"}, ["--sort", "methods"], ["charlie", "bravo", "alpha"]),
    ],
    ids=["default", "env-rule", "env-match", "command-line-wins"],
)
def test_routes_sort_from_environment(
    runner: click.testing.CliRunner, env: dict[str, str], args: list[str], expected: list[str]
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", ROUTES_APP, "routes", *args], env=env)
    assert result.exit_code == 0, result.stderr
    assert endpoints(result.stdout) == expected


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"APPSHELL_ROUTES_SORT": "rule"}, [], ["charlie", "alpha", "bravo"]),
        ({"APPSHELL_ROUTES_SORT": "rule"}, ["-s", "match"], ["bravo", "alpha", "charlie"]),
    ],
    ids=["env-rule", "command-line-wins"],
)
def test_routes_sort_from_environment_real_command(
    run_appshell: t.Callable[..., t.Any], env: dict[str, str], args: list[str], expected: list[str]
) -> None:
    result = run_appshell("--app", ROUTES_APP, "routes", *args, env=env)
    assert result.returncode == 0, result.stderr
    assert endpoints(result.stdout) == expected


def test_routes_sort_from_env_file(run_appshell: t.Callable[..., t.Any], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("APPSHELL_ROUTES_SORT=rule\n")
    result = run_appshell("--app", ROUTES_APP, "routes")
    assert result.returncode == 0, result.stderr
    assert endpoints(result.stdout) == ["charlie", "alpha", "bravo"]


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"APPSHELL_GREET_NAME": "World"}, [], "hello World\n"),
        ({"APPSHELL_GREET_NAME": "World"}, ["--name", "Ada"], "hello Ada\n"),
    ],
    ids=["env", "command-line-wins"],
)
def test_app_command_option_from_environment(
    runner: click.testing.CliRunner, env: dict[str, str], args: list[str], expected: str
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "greet", *args], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


def test_routes_all_methods_from_environment(runner: click.testing.CliRunner) -> None:
    args = ["--app", ROUTES_APP, "routes"]
    plain = runner.invoke(appshell.cli.cli, args)
    from_env = runner.invoke(appshell.cli.cli, args, env={"APPSHELL_ROUTES_ALL_METHODS": "1"})
    assert "HEAD" not in plain.stdout
    assert "GET, HEAD, OPTIONS" in from_env.stdout


@pytest.mark.parametrize(
    ("env", "args", "option", "variable"),
    [
        ({"APPSHELL_ROUTES_SORT": "bogus"}, ["routes"], "'--sort' / '-s'", "APPSHELL_ROUTES_SORT"),
        ({"APPSHELL_RUN_PORT": "abc"}, ["run"], "'--port' / '-p'", "APPSHELL_RUN_PORT"),
        ({"APPSHELL_DEBUG": "maybe"}, ["routes"], "'--debug'", "APPSHELL_DEBUG"),
    ],
    ids=["routes-sort", "run-port", "root-debug"],
)
def test_bad_value_from_environment_names_the_variable(
    run_appshell: t.Callable[..., t.Any],
    env: dict[str, str],
    args: list[str],
    option: str,
    variable: str,
) -> None:
    result = run_appshell("--app", ROUTES_APP, *args, env=env)
    assert result.returncode == 2
    error = result.stderr.rstrip().splitlines()[-1]
    assert error.startswith(f"Error: Invalid value for {option} (set by {variable}): ")
    assert "Traceback" not in result.stderr


def test_bad_value_on_the_command_line_names_no_variable(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    result = run_appshell("--app", ROUTES_APP, "routes", "--sort", "bogus")
    assert result.returncode == 2
    assert "Error: Invalid value for '--sort' / '-s': 'bogus'" in result.stderr
    assert "set by" not in result.stderr


# -- shell completion -----------------------------------------------------------------------


@pytest.fixture
def completion_folder(tmp_path: Path) -> Path:
    """A project folder: a module, a package, a plain folder, and things that are neither."""
    (tmp_path / "app.py").write_text("")
    (tmp_path / "apple").mkdir()
    (tmp_path / "apple" / "__init__.py").write_text("")
    (tmp_path / "apple" / "models.py").write_text("")
    (tmp_path / "apricot").mkdir()
    (tmp_path / "apricot" / "wsgi.py").write_text("")
    (tmp_path / "api.txt").write_text("")
    (tmp_path / "other.py").write_text("")
    (tmp_path / ".apx").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ap", ["app.py", "apple", "apple/", "apricot/"]),
        ("", ["apple", "apple/", "app.py", "apricot/", "other.py"]),
        ("apple/", ["apple/models.py"]),
        ("apricot/w", ["apricot/wsgi.py"]),
        ("app:", []),
        ("nosuchfolder/", []),
    ],
    ids=["prefix", "everything", "inside-package", "inside-folder", "after-colon", "no-folder"],
)
def test_app_option_completes_modules_and_files(
    complete: t.Callable[..., list[str]], completion_folder: Path, typed: str, expected: list[str]
) -> None:
    lines = complete(f"appshell --app {typed}", cwd=completion_folder)
    assert sorted(lines) == sorted(f"plain,{value}" for value in expected)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """Replace werkzeug's run_simple; what it was called with is recorded."""
    calls: dict[str, t.Any] = {}

    def run_simple(host: str, port: int, app: t.Any, **kwargs: t.Any) -> None:
        calls.update(host=host, port=port, app_debug=app.debug, **kwargs)

    monkeypatch.setattr("werkzeug.serving.run_simple", run_simple)
    return calls


def test_run_options_from_environment(
    runner: click.testing.CliRunner, fake_server: dict[str, t.Any]
) -> None:
    result = runner.invoke(
        appshell.cli.cli,
        ["--app", FLASK_APP, "run"],
        env={"APPSHELL_RUN_PORT": "5123", "APPSHELL_RUN_HOST": "0.0.0.0"},
    )
    assert result.exit_code == 0, result.stderr
    assert (fake_server["host"], fake_server["port"]) == ("0.0.0.0", 5123)


# -- debug ----------------------------------------------------------------------------------

DEBUG_CASES = [
    pytest.param([], {}, False, id="default-off"),
    pytest.param(["--debug"], {}, True, id="--debug"),
    pytest.param(["--no-debug"], {"APPSHELL_DEBUG": "1"}, False, id="--no-debug-beats-env"),
    pytest.param(["--debug"], {"APPSHELL_DEBUG": "0"}, True, id="--debug-beats-env"),
    pytest.param([], {"APPSHELL_DEBUG": "1"}, True, id="APPSHELL_DEBUG=1"),
    pytest.param([], {"APPSHELL_DEBUG": "false"}, False, id="APPSHELL_DEBUG=false"),
    pytest.param([], {"FLASK_DEBUG": "1"}, True, id="FLASK_DEBUG=1"),
    pytest.param(
        [], {"APPSHELL_DEBUG": "0", "FLASK_DEBUG": "1"}, False, id="APPSHELL_DEBUG-wins-off"
    ),
    pytest.param(
        [], {"APPSHELL_DEBUG": "1", "FLASK_DEBUG": "0"}, True, id="APPSHELL_DEBUG-wins-on"
    ),
]


@pytest.mark.parametrize(("args", "env", "debug"), DEBUG_CASES)
def test_debug_flag(
    runner: click.testing.CliRunner, args: list[str], env: dict[str, str], debug: bool
) -> None:
    result = runner.invoke(appshell.cli.cli, [*args, "--app", FLASK_APP, "debug"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"debug={debug}\n"


@pytest.mark.parametrize(("args", "env", "debug"), [DEBUG_CASES[1], DEBUG_CASES[6], DEBUG_CASES[7]])
def test_debug_flag_real_command(
    run_appshell: t.Callable[..., t.Any], args: list[str], env: dict[str, str], debug: bool
) -> None:
    result = run_appshell(*args, "--app", FLASK_APP, "debug", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"debug={debug}\n"


def test_debug_from_env_file(run_appshell: t.Callable[..., t.Any], tmp_path: Path) -> None:
    (tmp_path / ".flaskenv").write_text("APPSHELL_DEBUG=1\n")
    result = run_appshell("--app", FLASK_APP, "debug")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "debug=True\n"


@pytest.mark.parametrize(
    ("args", "debug"),
    [(["run"], False), (["run", "--debug"], True), (["--debug", "run"], True)],
    ids=["run", "run --debug", "--debug run"],
)
def test_run_debug(
    runner: click.testing.CliRunner, fake_server: dict[str, t.Any], args: list[str], debug: bool
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, *args])
    assert result.exit_code == 0, result.stderr
    assert f" * Debug mode: {'on' if debug else 'off'}" in result.stdout
    assert fake_server["app_debug"] is debug
    assert fake_server["use_debugger"] is debug
    assert fake_server["use_reloader"] is debug


# -- --version ------------------------------------------------------------------------------


def expected_versions() -> list[str]:
    version = importlib.metadata.version
    return [
        f"appshell {appshell.__version__}",
        f"Python {platform.python_version()}",
        f"Click {version('click')}",
        f"Werkzeug {version('werkzeug')}",
        *(
            f"{name} {version(name.lower())}"
            for name in ("Flask", "Quart", "FastAPI", "Starlette", "Litestar", "Django")
        ),
    ]


def test_version(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == expected_versions()


def test_version_real_command(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected_versions()


# -- help -----------------------------------------------------------------------------------


def assert_no_app_hint(help_text: str) -> None:
    hint = " ".join(help_text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[1].split())
    assert "--app" in hint
    assert "APPSHELL_APP" in hint


def test_help_without_app(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: appshell [OPTIONS] COMMAND [ARGS]...")
    assert listed_commands(result.stdout) == BUILTIN
    assert_no_app_hint(result.stdout)
    assert result.stderr == ""


def test_help_without_app_real_command(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--help")
    assert result.returncode == 0
    assert listed_commands(result.stdout) == BUILTIN
    assert_no_app_hint(result.stdout)
    assert result.stderr == ""


APP_COMMANDS = sorted({"debug", "env", "greet", "whoami", *BUILTIN})


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--app", FLASK_APP, "--help"], {}),
        (["-A", FLASK_APP, "--help"], {}),
        (["--help"], {"APPSHELL_APP": FLASK_APP}),
        (["--help"], {"FLASK_APP": FLASK_APP}),
    ],
    ids=["--app", "-A", "APPSHELL_APP", "FLASK_APP"],
)
def test_help_lists_app_commands(
    runner: click.testing.CliRunner, args: list[str], env: dict[str, str]
) -> None:
    result = runner.invoke(appshell.cli.cli, args, env=env)
    assert result.exit_code == 0
    assert listed_commands(result.stdout) == APP_COMMANDS
    assert "Print the app's debug flag." in result.stdout
    assert "No app is configured" not in result.stdout
    assert result.stderr == ""


def test_help_lists_app_commands_real_command(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--help", env={"APPSHELL_APP": FLASK_APP})
    assert result.returncode == 0, result.stderr
    assert listed_commands(result.stdout) == APP_COMMANDS


def test_help_with_app_from_env_file(run_appshell: t.Callable[..., t.Any], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"APPSHELL_APP={FLASK_APP}\n")
    result = run_appshell("--help")
    assert result.returncode == 0, result.stderr
    assert listed_commands(result.stdout) == APP_COMMANDS


BROKEN_APP = str(APPS / "cli_broken.py")


def test_help_with_app_that_fails_to_load(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", BROKEN_APP, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage:")
    assert listed_commands(result.stdout) == BUILTIN
    assert "RuntimeError: cli_broken failed on purpose" in result.stderr
    assert "cli_broken.py" in result.stderr


def test_help_with_app_that_fails_to_load_real_command(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    result = run_appshell("--help", env={"APPSHELL_APP": BROKEN_APP})
    assert result.returncode == 0
    assert listed_commands(result.stdout) == BUILTIN
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.rstrip().endswith("RuntimeError: cli_broken failed on purpose")
    assert "appshell/cli.py" not in result.stderr


def test_help_with_app_that_cannot_be_found(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", "no_such_module_here", "--help"])
    assert result.exit_code == 0
    assert listed_commands(result.stdout) == BUILTIN
    assert "'no_such_module_here'" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_arguments_prints_help_and_exits_2(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell()
    assert result.returncode == 2
    assert result.stdout.startswith("Usage: appshell [OPTIONS] COMMAND [ARGS]...")
    assert listed_commands(result.stdout) == BUILTIN


def test_no_arguments_in_process(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, [], env={"APPSHELL_APP": FLASK_APP})
    assert result.exit_code == 2
    assert listed_commands(result.stdout) == APP_COMMANDS


def test_unknown_command_without_app(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["nosuch"])
    assert result.exit_code == 2
    assert "'nosuch'" in result.stderr
    assert "--app" in result.stderr
    assert "APPSHELL_APP" in result.stderr


def test_unknown_command_without_app_real_command(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("nosuch")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "'nosuch'" in line
    assert "--app" in line


def test_unknown_command_with_app(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "nosuch"])
    assert result.exit_code == 2
    assert "No such command 'nosuch'" in result.stderr


# -- the app's own commands -----------------------------------------------------------------


def test_app_command_runs_in_app_context(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "whoami"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "current_app=cli_flaskapp\n"


def test_app_command_real_command(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("whoami", env={"FLASK_APP": FLASK_APP})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "current_app=cli_flaskapp\n"


def test_app_command_help(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "greet", "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Usage: appshell greet [OPTIONS]" in result.stdout
    assert "--name TEXT" in result.stdout


@pytest.fixture
def custom_group() -> click.Group:
    """A FlaskGroup, as a custom script builds it, with an AppGroup subgroup and a plain
    click group whose command asks for the app context with @with_appcontext."""
    app = Flask("custom")
    group = FlaskGroup(create_app=lambda: app)

    @group.group()
    def tools() -> None:
        pass

    @tools.command()
    def where() -> None:
        click.echo(f"tools in {current_app.name}")

    plain = click.Group("plain")

    @plain.command()
    @with_appcontext
    def decorated() -> None:
        click.echo(f"plain in {current_app.name}")

    @plain.command()
    def undecorated() -> None:
        click.echo(f"context: {bool(current_app)}")

    group.add_command(plain)
    return group


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tools", "where"], "tools in custom\n"),
        (["plain", "decorated"], "plain in custom\n"),
        (["plain", "undecorated"], "context: False\n"),
    ],
    ids=["AppGroup-subgroup", "with_appcontext", "plain-command-has-no-context"],
)
def test_app_context_in_custom_groups(
    runner: click.testing.CliRunner, custom_group: click.Group, args: list[str], expected: str
) -> None:
    result = runner.invoke(custom_group, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


def test_appshell_appgroup_inside_flask_app_cli(runner: click.testing.CliRunner) -> None:
    app = Flask("withtools")
    tools = AppGroup("tools")

    @tools.command()
    def where() -> None:
        click.echo(f"tools in {current_app.name}")

    app.cli.add_command(tools)
    result = runner.invoke(FlaskGroup(create_app=lambda: app), ["tools", "where"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "tools in withtools\n"


def test_app_command_error_is_the_users_traceback(runner: click.testing.CliRunner) -> None:
    app = Flask("failing")

    @app.cli.command()
    def fail() -> None:
        raise ValueError("the user's own error")

    result = runner.invoke(FlaskGroup(create_app=lambda: app), ["fail"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.rstrip().endswith("ValueError: the user's own error")


# -- custom scripts -------------------------------------------------------------------------

MANAGE = str(APPS / "cli_manage.py")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["mycommand"], "mycommand in manage_app\n"),
        (["nocontext"], "app context pushed: False\n"),
        (["db", "init"], "db init in manage_app\n"),
        (["plain", "show"], "plain show in manage_app\n"),
    ],
    ids=["own-command", "with_appcontext=False", "subgroup", "plain-group-with_appcontext"],
)
def test_custom_script_commands(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = run_python(MANAGE, *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected


def test_custom_script_builtin_routes(tmp_path: Path) -> None:
    proc = run_python(MANAGE, "routes", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert endpoints(proc.stdout) == ["from_manage"]
    assert "/from-manage" in proc.stdout


def test_custom_script_help(tmp_path: Path) -> None:
    proc = run_python(MANAGE, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: cli_manage.py [OPTIONS] COMMAND [ARGS]...")
    assert "Management script for manage_app." in proc.stdout
    assert listed_commands(proc.stdout) == sorted(
        {"db", "mycommand", "nocontext", "plain", *BUILTIN}
    )
    assert "No app is configured" not in proc.stdout


def test_custom_script_ignores_app_option_from_environment(tmp_path: Path) -> None:
    # create_app decides the app; APPSHELL_APP set for another project does not matter.
    proc = run_python(MANAGE, "mycommand", cwd=tmp_path, env={"APPSHELL_APP": FLASK_APP})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "mycommand in manage_app\n"


MANAGE_FORMS = str(APPS / "cli_manage_forms.py")


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("info", "wiki: ScriptInfo\n"),
        ("none", "plain: nothing\n"),
        ("defaults", "configured: None\n"),
    ],
    ids=["one-required-gets-scriptinfo", "no-parameters", "only-defaults"],
)
def test_custom_script_create_app_forms(tmp_path: Path, form: str, expected: str) -> None:
    proc = run_python(MANAGE_FORMS, form, "given", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
    assert proc.stderr == ""


@pytest.mark.parametrize("form", ["info", "none", "defaults"], ids=["info", "none", "defaults"])
def test_custom_script_create_app_forms_help(tmp_path: Path, form: str) -> None:
    proc = run_python(MANAGE_FORMS, form, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert listed_commands(proc.stdout) == sorted({"given", *BUILTIN})
    assert proc.stderr == ""


def test_custom_script_create_app_that_raises(tmp_path: Path) -> None:
    proc = run_python(MANAGE_FORMS, "raises", "given", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("Traceback (most recent call last):\n")
    [frame] = [line for line in proc.stderr.splitlines() if line.startswith("  File ")]
    assert "cli_manage_forms.py" in frame
    assert "in create_broken_app" in frame
    last = proc.stderr.rstrip().splitlines()[-1]
    assert last == "ModuleNotFoundError: No module named 'nosuchdependency_manage'"


def test_custom_script_create_app_that_raises_help(tmp_path: Path) -> None:
    proc = run_python(MANAGE_FORMS, "raises", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert listed_commands(proc.stdout) == sorted({"given", *BUILTIN})
    assert "appshell" not in proc.stderr.split("ModuleNotFoundError")[0]
    assert "in create_broken_app" in proc.stderr


def test_custom_script_create_app_with_two_required_parameters(tmp_path: Path) -> None:
    proc = run_python(MANAGE_FORMS, "two", "given", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert "create_greedy_app(first, second)" in line
    assert "defaults" in line


def test_flaskgroup_is_appshellgroup() -> None:
    assert appshell.cli.FlaskGroup is appshell.cli.AppShellGroup


def test_appshell_group_without_default_commands(runner: click.testing.CliRunner) -> None:
    group = FlaskGroup(add_default_commands=False, add_version_option=False)
    result = runner.invoke(group, ["--help"])
    assert result.exit_code == 0
    assert "\nCommands:" not in result.stdout
    assert "--version" not in result.stdout


# -- routes ---------------------------------------------------------------------------------


def invoke_routes(runner: click.testing.CliRunner, app: Flask, *args: str) -> click.testing.Result:
    return runner.invoke(FlaskGroup(create_app=lambda: app), ["routes", *args])


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("endpoint", ["alpha", "bravo", "charlie"]),
        ("methods", ["charlie", "bravo", "alpha"]),
        ("rule", ["charlie", "alpha", "bravo"]),
        ("match", ["bravo", "alpha", "charlie"]),
    ],
    ids=["endpoint", "methods", "rule", "match"],
)
def test_routes_sort(runner: click.testing.CliRunner, sort: str, expected: list[str]) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", ROUTES_APP, "routes", "--sort", sort])
    assert result.exit_code == 0, result.stderr
    assert endpoints(result.stdout) == expected


def test_routes_table(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--app", ROUTES_APP, "routes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Endpoint  Methods  Rule",
        "--------  -------  ----",
        "alpha     POST     /b",
        "bravo     GET      /c",
        "charlie   DELETE   /a",
    ]


def test_routes_all_methods(runner: click.testing.CliRunner) -> None:
    app = Flask("methods", static_folder=None)
    app.add_url_rule("/x", endpoint="x", methods=["GET", "POST"])
    assert "GET, HEAD, OPTIONS, POST" not in invoke_routes(runner, app).stdout
    assert "GET, POST" in invoke_routes(runner, app).stdout
    assert "GET, HEAD, OPTIONS, POST" in invoke_routes(runner, app, "--all-methods").stdout


def test_routes_subdomain_column(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--app", str(APPS / "cli_subdomain.py"), "routes")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Subdomain", "Rule"]
    assert lines[2].split() == ["api_index", "GET", "api", "/"]
    assert lines[3].split() == ["index", "GET", "/"]


def test_routes_host_column(runner: click.testing.CliRunner) -> None:
    app = Flask("hosts", static_folder=None, host_matching=True)
    app.add_url_rule("/a", host="a.example", endpoint="a")
    result = invoke_routes(runner, app)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["Endpoint", "Methods", "Host", "Rule"]
    assert result.stdout.splitlines()[2].split() == ["a", "GET", "a.example", "/a"]


def test_routes_sort_by_domain(runner: click.testing.CliRunner) -> None:
    app = Flask("domains", static_folder=None)
    app.add_url_rule("/1", endpoint="a", subdomain="zz")
    app.add_url_rule("/2", endpoint="b", subdomain="aa")
    assert endpoints(invoke_routes(runner, app, "-s", "domain").stdout) == ["b", "a"]


@pytest.mark.parametrize(
    "args", [["routes"], ["routes", "--all-methods"]], ids=["plain", "all-methods"]
)
def test_routes_none_registered(run_appshell: t.Callable[..., t.Any], args: list[str]) -> None:
    result = run_appshell("--app", str(APPS / "cli_noroutes.py"), *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "No routes were registered.\n"


def test_routes_wsgi_app_without_url_map(run_appshell: t.Callable[..., t.Any]) -> None:
    result = run_appshell("--app", str(APPS / "cli_wsgi.py"), "routes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The app 'application' has no routing table")


def test_routes_bad_sort(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", ROUTES_APP, "routes", "-s", "nope"])
    assert result.exit_code == 2
    assert "'nope' is not one of" in result.stderr


# -- flask.cli compatibility ----------------------------------------------------------------

FLASK_CLI_NAMES = [
    "ScriptInfo",
    "AppGroup",
    "FlaskGroup",
    "with_appcontext",
    "pass_script_info",
    "NoAppException",
    "locate_app",
    "find_best_app",
    "prepare_import",
    "load_dotenv",
    "get_version",
    "run_command",
    "routes_command",
    "cli",
    "main",
]


def _shape(obj: t.Any) -> list[tuple[str, t.Any, t.Any]]:
    # Names, kinds and defaults; annotations differ on purpose (Flask vs any app).
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


@pytest.mark.parametrize("name", FLASK_CLI_NAMES, ids=FLASK_CLI_NAMES)
def test_flask_cli_names_have_flask_signatures(name: str) -> None:
    ours, theirs = getattr(appshell.cli, name), getattr(flask.cli, name)
    if isinstance(theirs, click.Command):
        assert isinstance(ours, click.Command)
        # Every option of Flask's, in Flask's order; appshell may add its own after them
        # (run --allow-remote-debugger, routes --json).
        ours_opts = [p.opts + p.secondary_opts for p in ours.params]
        theirs_opts = [p.opts + p.secondary_opts for p in theirs.params]
        assert ours_opts[: len(theirs_opts)] == theirs_opts
    else:
        assert _shape(ours) == _shape(theirs)


@pytest.mark.parametrize(
    ("name", "base"),
    [("AppGroup", click.Group), ("FlaskGroup", click.Group), ("NoAppException", click.UsageError)],
    ids=["AppGroup", "FlaskGroup", "NoAppException"],
)
def test_flask_cli_classes_have_click_bases(name: str, base: type) -> None:
    assert issubclass(getattr(appshell.cli, name), base)


# Ported from Flask's tests/test_cli.py (3.x), changing the import line, the module names
# (Flask's test_apps/cliapp/{app,factory,multiapp}.py are tests/apps/cli_appmodule.py,
# cli_factory.py and cli_multiapp.py; importerrorapp.py is cli_importerrorapp.py) and
# nothing else but where appshell differs on purpose: the no-app hint names APPSHELL_APP and
# is part of the help text, and an error does not repeat the usage line. tests/
# test_flask_compat.py runs Flask's own file.


@pytest.fixture
def test_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APPS))


def test_find_best_app(test_apps: None) -> None:
    class Module:
        app = Flask("appname")

    assert find_best_app(Module) == Module.app

    class Module:  # type: ignore[no-redef]
        application = Flask("appname")

    assert find_best_app(Module) == Module.application

    class Module:  # type: ignore[no-redef]
        myapp = Flask("appname")

    assert find_best_app(Module) == Module.myapp

    class Module:  # type: ignore[no-redef]
        @staticmethod
        def create_app() -> Flask:
            return Flask("appname")

    app = find_best_app(Module)
    assert isinstance(app, Flask)
    assert app.name == "appname"

    class Module:  # type: ignore[no-redef]
        @staticmethod
        def create_app(**kwargs: t.Any) -> Flask:
            return Flask("appname")

    app = find_best_app(Module)
    assert isinstance(app, Flask)
    assert app.name == "appname"

    class Module:  # type: ignore[no-redef]
        @staticmethod
        def make_app() -> Flask:
            return Flask("appname")

    app = find_best_app(Module)
    assert isinstance(app, Flask)
    assert app.name == "appname"

    class Module:  # type: ignore[no-redef]
        myapp = Flask("appname1")

        @staticmethod
        def create_app() -> Flask:
            return Flask("appname2")

    assert find_best_app(Module) == Module.myapp

    class Module:  # type: ignore[no-redef]
        pass

    with pytest.raises(NoAppException):
        find_best_app(Module)

    class Module:  # type: ignore[no-redef]
        myapp1 = Flask("appname1")
        myapp2 = Flask("appname2")

    with pytest.raises(NoAppException):
        find_best_app(Module)

    class Module:  # type: ignore[no-redef]
        @staticmethod
        def create_app(foo: t.Any, bar: t.Any) -> Flask:
            return Flask("appname2")

    with pytest.raises(NoAppException):
        find_best_app(Module)

    class Module:  # type: ignore[no-redef]
        @staticmethod
        def create_app() -> Flask:
            raise TypeError("bad bad factory!")

    with pytest.raises(TypeError):
        find_best_app(Module)


@pytest.mark.parametrize(
    ("iname", "aname", "result"),
    [
        ("cli_appmodule", None, "testapp"),
        ("cli_appmodule", "testapp", "testapp"),
        ("cli_factory", None, "app"),
        ("cli_factory", "create_app", "app"),
        ("cli_factory", "create_app()", "app"),
        ("cli_factory", 'create_app2("foo", "bar")', "app2_foo_bar"),
        # trailing comma space
        ("cli_factory", 'create_app2("foo", "bar", )', "app2_foo_bar"),
        # strip whitespace
        ("cli_factory", " create_app () ", "app"),
        ("cli_multiapp", "app1", "app1"),
    ],
    ids=[
        "module",
        "named",
        "factory",
        "factory-named",
        "factory-call",
        "factory-args",
        "trailing-comma",
        "whitespace",
        "multiapp-named",
    ],
)
def test_locate_app(test_apps: None, iname: str, aname: str | None, result: str) -> None:
    assert locate_app(iname, aname).name == result


@pytest.mark.parametrize(
    ("iname", "aname"),
    [
        ("notanapp.py", None),
        ("cli_appmodule/app", None),
        ("cli_appmodule", "notanapp"),
        # not enough arguments
        ("cli_factory", 'create_app2("foo")'),
        # invalid identifier
        ("cli_factory", "create_app("),
        # no app returned
        ("cli_factory", "no_app"),
        # more than one app
        ("cli_multiapp", None),
        # not a Python file
        ("cli_appmodule.message.txt", None),
        # an ImportError raised inside the module
        ("cli_importerrorapp", None),
    ],
    ids=[
        "py-suffix",
        "slash",
        "no-such-name",
        "too-few-args",
        "bad-syntax",
        "returns-none",
        "two-apps",
        "not-python",
        "import-error-inside",
    ],
)
def test_locate_app_raises(test_apps: None, iname: str, aname: str | None) -> None:
    with pytest.raises(NoAppException):
        locate_app(iname, aname)


def test_locate_app_suppress_raise(test_apps: None) -> None:
    app = locate_app("notanapp.py", None, raise_if_not_found=False)
    assert app is None

    # only direct import error is suppressed
    with pytest.raises(NoAppException):
        locate_app("cli_importerrorapp", None, raise_if_not_found=False)


@pytest.mark.parametrize(
    ("module", "line", "last"),
    [
        ("cli_importerrorapp", "raise ImportError()", "ImportError"),
        ("disc_import_error", "import nosuchdependency_disc", "ModuleNotFoundError: No module"),
    ],
    ids=["raised", "missing-dependency"],
)
@pytest.mark.parametrize("raise_if_not_found", [True, False], ids=["raise", "no-raise"])
def test_locate_app_import_error_message_has_the_users_traceback(
    test_apps: None, module: str, line: str, last: str, raise_if_not_found: bool
) -> None:
    with pytest.raises(NoAppException) as raised:
        locate_app(module, None, raise_if_not_found)
    message = raised.value.format_message()
    assert repr(module) in message.splitlines()[0]
    traceback = message.split("\n\n", 1)[1]
    assert traceback.startswith("Traceback (most recent call last):\n")
    assert f'File "{APPS / module}.py"' in traceback.splitlines()[1]
    assert line in traceback
    assert traceback.splitlines()[-1].startswith(last)
    assert "appshell" not in traceback.replace(str(APPS), "")


def test_get_version(runner: click.testing.CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["--version"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == f"appshell {importlib.metadata.version('appshell')}"
    assert f"Python {platform.python_version()}" in out
    assert f"Flask {importlib.metadata.version('flask')}" in out
    assert f"Werkzeug {importlib.metadata.version('werkzeug')}" in out


def test_scriptinfo(test_apps: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    obj = ScriptInfo(app_import_path="cli_appmodule:testapp")
    app = obj.load_app()
    assert app.name == "testapp"
    assert obj.load_app() is app

    # import app with module's absolute path
    cli_app_path = str(APPS / "cli_appmodule.py")
    obj = ScriptInfo(app_import_path=cli_app_path)
    app = obj.load_app()
    assert app.name == "testapp"
    assert obj.load_app() is app
    obj = ScriptInfo(app_import_path=f"{cli_app_path}:testapp")
    app = obj.load_app()
    assert app.name == "testapp"
    assert obj.load_app() is app

    def create_app() -> Flask:
        return Flask("createapp")

    obj = ScriptInfo(create_app=create_app)
    app = obj.load_app()
    assert app.name == "createapp"
    assert obj.load_app() is app

    obj = ScriptInfo()
    with pytest.raises(NoAppException):
        obj.load_app()

    # import app from wsgi.py in current directory
    (tmp_path / "helloworld").mkdir()
    (tmp_path / "helloworld" / "wsgi.py").write_text(
        "from flask import Flask\napp = Flask('hello')\n"
    )
    monkeypatch.chdir(tmp_path / "helloworld")
    obj = ScriptInfo()
    app = obj.load_app()
    assert app.name == "hello"

    # import app from app.py in current directory
    (tmp_path / "cliapp").mkdir()
    (tmp_path / "cliapp" / "app.py").write_text(
        "from flask import Flask\ntestapp = Flask('testapp')\n"
    )
    monkeypatch.chdir(tmp_path / "cliapp")
    obj = ScriptInfo()
    app = obj.load_app()
    assert app.name == "testapp"


def test_with_appcontext(runner: click.testing.CliRunner) -> None:
    @click.command()
    @with_appcontext
    def testcmd() -> None:
        click.echo(current_app.name)

    obj = ScriptInfo(create_app=lambda: Flask("testapp"))

    result = runner.invoke(testcmd, obj=obj)
    assert result.exit_code == 0
    assert result.output == "testapp\n"


def test_appgroup_app_context(runner: click.testing.CliRunner) -> None:
    @click.group(cls=AppGroup)
    def cli() -> None:
        pass

    @cli.command()
    def test() -> None:
        click.echo(current_app.name)

    @cli.group()
    def subgroup() -> None:
        pass

    @subgroup.command()
    def test2() -> None:
        click.echo(current_app.name)

    obj = ScriptInfo(create_app=lambda: Flask("testappgroup"))

    result = runner.invoke(cli, ["test"], obj=obj)
    assert result.exit_code == 0
    assert result.output == "testappgroup\n"

    result = runner.invoke(cli, ["subgroup", "test2"], obj=obj)
    assert result.exit_code == 0
    assert result.output == "testappgroup\n"


def test_flaskgroup_app_context(runner: click.testing.CliRunner) -> None:
    def create_app() -> Flask:
        return Flask("flaskgroup")

    @click.group(cls=FlaskGroup, create_app=create_app)
    def cli(**params: t.Any) -> None:
        pass

    @cli.command()
    def test() -> None:
        click.echo(current_app.name)

    result = runner.invoke(cli, ["test"])
    assert result.exit_code == 0
    assert result.output == "flaskgroup\n"


@pytest.mark.parametrize("set_debug_flag", [True, False], ids=["set", "not-set"])
def test_flaskgroup_debug(runner: click.testing.CliRunner, set_debug_flag: bool) -> None:
    def create_app() -> Flask:
        app = Flask("flaskgroup")
        app.debug = True
        return app

    @click.group(cls=FlaskGroup, create_app=create_app, set_debug_flag=set_debug_flag)
    def cli(**params: t.Any) -> None:
        pass

    @cli.command()
    def test() -> None:
        click.echo(str(current_app.debug))

    result = runner.invoke(cli, ["test"])
    assert result.exit_code == 0
    assert result.output == f"{not set_debug_flag}\n"


def test_flaskgroup_nested(runner: click.testing.CliRunner) -> None:
    app = Flask("flask_test")
    cli = click.Group("cli")
    flask_group = FlaskGroup(name="flask", create_app=lambda: app)
    cli.add_command(flask_group)

    @flask_group.command()
    def show() -> None:
        click.echo(current_app.name)

    result = runner.invoke(cli, ["flask", "show"])
    assert result.output == "flask_test\n"


def test_no_command_echo_loading_error(runner: click.testing.CliRunner) -> None:
    from appshell.cli import cli

    result = runner.invoke(cli, ["missing"])
    assert result.exit_code == 2
    assert "APPSHELL_APP" in result.stderr


def test_help_echo_loading_error(runner: click.testing.CliRunner) -> None:
    from appshell.cli import cli

    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "APPSHELL_APP" in result.stdout
    assert "Usage:" in result.stdout


def test_help_echo_exception(runner: click.testing.CliRunner) -> None:
    def create_app() -> Flask:
        raise Exception("oh no")

    cli = FlaskGroup(create_app=create_app)
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Exception: oh no" in result.stderr
    assert "Usage:" in result.stdout
