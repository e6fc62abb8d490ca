"""The database options and profile keys through the real command: when the tools start and
end (however the session ends), what the banner and prompt say, and the exit 2 when no
database is found. The tools are the stand-ins of ``standins/``, which log their calls."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ..conftest import APPSHELL, _clean_environ
from .dbapps import standin_env, tool_log, write_apps

if t.TYPE_CHECKING:
    from ..conftest import Result

Run = t.Callable[..., "Result"]
FLASK = APPSHELL.with_name("flask")


def _profile(folder: Path, *lines: str) -> None:
    (folder / "pyproject.toml").write_text(
        "[tool.appshell]\nprofile = 'team'\n[tool.appshell.profiles.team]\n"
        + "\n".join(lines)
        + "\n"
    )


@pytest.mark.parametrize(
    "option", ["--sandbox", "--read-only", "--sql"], ids=["sandbox", "read-only", "sql"]
)
def test_an_option_without_a_database_is_exit_2_before_anything_runs(
    run_appshell: Run, tmp_path: Path, option: str
) -> None:
    write_apps(tmp_path)
    result = run_appshell(
        "--app", "nodb:app", "shell", option, "-c", "print('ran')", env=standin_env(tmp_path)
    )
    assert result.returncode == 2
    assert "ran" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{option} needs a database, and none was found for this app" in lines[0]
    assert "SQLAlchemy engines" in lines[0]
    assert "Flask-SQLAlchemy" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_profile_key_asking_for_a_database_is_exit_2_too(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    _profile(tmp_path, "read_only = true")
    result = run_appshell(
        "--app", "nodb:app", "shell", "-c", "print('ran')", env=standin_env(tmp_path)
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert "--read-only needs a database" in result.stderr


def test_the_sandbox_starts_before_the_first_statement_and_ends_after_the_last(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    code = "open('ran.log', 'a').write('statement\\n')"
    result = run_appshell(
        "--app", "fsa:create_app", "shell", "--sandbox", "-c", code, env=standin_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert tool_log(tmp_path) == [
        "sandbox start default,audit",
        "SQLEcho threshold=10",
        "attach default,audit echo=False",
        "after_statement echo=False",  # the script's N+1 line, once it ran
        "detach",
        "sandbox end default,audit",
    ]
    assert result.stderr.strip().splitlines()[-1] == "appshell: sandbox rolled back (default,audit)"


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [("import sys; sys.exit(3)", 3), ("raise ValueError('boom')", 1), ("exit()", 0)],
    ids=["sys-exit-3", "exception", "exit"],
)
def test_the_sandbox_ends_however_a_script_ends(
    run_appshell: Run, tmp_path: Path, code: str, exit_code: int
) -> None:
    write_apps(tmp_path)
    result = run_appshell(
        "--app", "plain:app", "shell", "--sandbox", "-c", code, env=standin_env(tmp_path)
    )
    assert result.returncode == exit_code, result.stderr
    assert tool_log(tmp_path)[-1] == "sandbox end default"
    assert "appshell: sandbox rolled back (default)" in result.stderr


@pytest.mark.slow
def test_the_sandbox_ends_on_sigterm(tmp_path: Path) -> None:
    write_apps(tmp_path)
    code = "open('started', 'w').close()\nimport time\nwhile True: time.sleep(0.05)"
    proc = subprocess.Popen(
        [str(APPSHELL), "--app", "plain:app", "shell", "--sandbox", "-c", code],
        cwd=tmp_path,
        env=_clean_environ() | standin_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert tool_log(tmp_path)[-1] == "sandbox end default"
    assert "sandbox rolled back" in err


def test_a_sandbox_that_cannot_start_is_exit_2_and_nothing_runs(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    env = standin_env(tmp_path) | {"STANDIN_SANDBOX_FAILS": "1"}
    result = run_appshell("--app", "plain:app", "shell", "--sandbox", "-c", "print('ran')", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert "the sandbox cannot wrap this engine" in result.stderr
    assert "Traceback" not in result.stderr


def test_read_only_wins_over_the_sandbox_and_the_banner_and_prompt_say_so(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    result = run_appshell(
        "--app",
        "plain:app",
        "shell",
        "--repl",
        "python",
        "-i",
        "--sandbox",
        "--read-only",
        input="x = 1\nx + 41\n",
        env=standin_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "READ-ONLY (--sandbox too: read-only wins): writes are refused on default (sqlite)"
    )
    assert "[READ-ONLY] >>> " in result.stdout
    assert "42" in result.stdout
    log = tool_log(tmp_path)
    assert "read-only start default" in log
    assert "read-only end default" in log
    assert not [line for line in log if line.startswith("sandbox")]


def test_the_sandbox_banner_and_prompt(run_appshell: Run, tmp_path: Path) -> None:
    write_apps(tmp_path)
    result = run_appshell(
        "--app",
        "plain:app",
        "shell",
        "--repl",
        "python",
        "-i",
        "--sandbox",
        input="1\n",
        env=standin_env(tmp_path),
    )
    first, second, third = result.stderr.splitlines()[:3]
    assert first == "SANDBOX: every change to default (sqlite) is rolled back when the session ends"
    assert "locks" in second
    assert "SQLite" in second
    assert third == "  not rolled back: files written, HTTP calls, caches and queues"
    assert "[SANDBOX] >>> " in result.stdout


def test_each_prompt_statement_ends_with_sql_after_statement(
    run_appshell: Run, tmp_path: Path
) -> None:
    write_apps(tmp_path)
    result = run_appshell(
        "--app",
        "plain:app",
        "shell",
        "--repl",
        "python",
        "-i",
        input="1\n2\n3\n",
        env=standin_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("stand-in line after a statement") == 3
    assert tool_log(tmp_path).count("after_statement echo=False") == 3
    # No database option: the banner says nothing of databases, the prompt has no mark.
    assert "SANDBOX" not in result.stderr
    assert "READ-ONLY" not in result.stderr
    assert result.stdout.startswith(">>> 1\n"), result.stdout


def test_sql_turns_the_echo_on_from_the_start(run_appshell: Run, tmp_path: Path) -> None:
    write_apps(tmp_path)
    result = run_appshell(
        "--app", "astate:app", "shell", "--sql", "-c", "print(sql.echo)", env=standin_env(tmp_path)
    )
    assert result.stdout.strip() == "True", result.stderr
    assert "attach default echo=True" in tool_log(tmp_path)


@pytest.mark.parametrize(
    ("lines", "args", "expected"),
    [
        (("sandbox = true",), (), "sandbox start default"),
        (("sandbox = true",), ("--no-sandbox",), None),
        (("read_only = true",), (), "read-only start default"),
        (("sql = true",), (), "attach default echo=True"),
        (("sql_repeat_threshold = 3",), (), "SQLEcho threshold=3"),
        (("sql_repeat_threshold = 0",), (), "SQLEcho threshold=0"),
    ],
    ids=["sandbox", "no-sandbox-overrides", "read-only", "sql", "threshold", "threshold-off"],
)
def test_profile_keys(
    run_appshell: Run,
    tmp_path: Path,
    lines: tuple[str, ...],
    args: tuple[str, ...],
    expected: str | None,
) -> None:
    write_apps(tmp_path)
    _profile(tmp_path, *lines)
    result = run_appshell(
        "--app", "plain:app", "shell", *args, "-c", "pass", env=standin_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    log = tool_log(tmp_path)
    if expected is None:
        assert not [line for line in log if "start" in line]
    else:
        assert expected in log


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("sandbox = 'yes'", "sandbox"),
        ("sql_repeat_threshold = -1", "sql_repeat_threshold"),
        ("models = 1", "models"),
    ],
    ids=["sandbox-string", "negative-threshold", "models-number"],
)
def test_a_bad_profile_value_is_exit_2(
    run_appshell: Run, tmp_path: Path, line: str, key: str
) -> None:
    write_apps(tmp_path)
    _profile(tmp_path, line)
    result = run_appshell(
        "--app", "plain:app", "shell", "-c", "print('ran')", env=standin_env(tmp_path)
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert f"{key!r} must be" in result.stderr


@pytest.mark.skipif(not FLASK.exists(), reason="flask's command is not installed here")
def test_flask_shell_takes_the_same_options(tmp_path: Path) -> None:
    write_apps(tmp_path)
    result = subprocess.run(
        [
            str(FLASK),
            "--app",
            "fsa:create_app",
            "shell",
            "--sandbox",
            "--no-models",
            "-c",
            "print('ok')",
        ],
        cwd=tmp_path,
        env=_clean_environ() | standin_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr
    assert tool_log(tmp_path)[0] == "sandbox start default,audit"
    assert tool_log(tmp_path)[-1] == "sandbox end default,audit"
    assert os.path.basename(str(FLASK)) == "flask"
