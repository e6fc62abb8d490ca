"""The shell session: the one object ``shell``, ``flask shell`` and ``%appshell`` build."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

import appshell.cli
from appshell.scriptinfo import ScriptInfo
from appshell.shell.session import ShellSession, choose_profile

from .conftest import APPSHELL, Result, _clean_environ

RunAppshell = t.Callable[..., Result]

KEYED_APP = """
from flask import Flask

app = Flask(__name__)

class User:
    pass

@app.shell_context_processor
def models():
    return {User: User, "db": "the-db"}
"""

TEARDOWN_APP = """
from flask import Flask

app = Flask(__name__)

@app.teardown_appcontext
def close(exc):
    print("teardown ran", flush=True)
    raise RuntimeError("teardown broke")
"""


@pytest.fixture
def keyed(tmp_path: Path) -> Path:
    (tmp_path / "keyed.py").write_text(KEYED_APP)
    return tmp_path


# -- the object ------------------------------------------------------------------------------


def test_session_opens_pushes_the_context_and_closes_it(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("from flask import Flask\napp = Flask('plain')\n")
    info = ScriptInfo(app_import_path="plain:app")
    session = ShellSession(info, group=appshell.cli.cli, groups=(appshell.cli.cli,))
    namespace = session.open()
    try:
        assert namespace["app"] is info.load_app()
        assert info.adapter.context_is_active()
        assert namespace.provenance["cli"].source == "default"
    finally:
        assert session.close() is True
    assert not info.adapter.context_is_active()
    assert session.close() is True  # a second close does nothing


def test_a_raising_teardown_is_shown_and_close_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tearing.py").write_text(TEARDOWN_APP)
    session = ShellSession(ScriptInfo(app_import_path="tearing:app"), group=appshell.cli.cli)
    session.open()
    assert session.close() is False
    err = capsys.readouterr().err
    assert "RuntimeError: teardown broke" in err
    assert "appshell" not in err.split("Traceback", 1)[1].split("tearing.py")[0]


def test_choose_profile_reads_both_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert choose_profile().name == "default"
    monkeypatch.setenv("APPSHELL_PROFILE", "minimal")
    assert choose_profile().name == "minimal"
    monkeypatch.setenv("APPSHELL_SHELL_PROFILE", "data")
    assert choose_profile().name == "data"
    assert choose_profile("dev").name == "dev"


# -- bad input: what a provider returns --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("--print-context",), ("--print-context", "--json"), ("-i", "-c", "print(db)")],
    ids=["print-context", "json", "interactive"],
)
def test_a_non_string_key_is_reported_and_left_out(
    run_appshell: RunAppshell, keyed: Path, args: tuple[str, ...]
) -> None:
    result = run_appshell(
        "--app", "keyed", "shell", "--repl", "python", *args, input="print(sorted(dir()))\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "shell context adapter gave the key <class 'keyed.User'>" in result.stderr
    assert "'User'" in result.stderr
    if "--json" in args:
        names = [record["name"] for record in json.loads(result.stdout)]
        assert "db" in names
    else:
        assert "db" in result.stdout


def test_a_provider_returning_none_is_an_error_naming_it(
    run_appshell: RunAppshell, tmp_path: Path
) -> None:
    (tmp_path / "nothing.py").write_text(
        textwrap.dedent(
            """
            from flask import Flask
            from appshell.cli import AppShellGroup

            app = Flask(__name__)
            cli = AppShellGroup(create_app=lambda: app)

            @cli.shell_context
            def forgot_to_return():
                x = 1
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import nothing; nothing.cli.main(['shell', '-c', 'pass'])"],
        cwd=tmp_path,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "provider:forgot_to_return returned None" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- bad input: listing or running --------------------------------------------------------------


@pytest.mark.parametrize(
    "variable", ["APPSHELL_SHELL_JSON", "APPSHELL_SHELL_PRINT_CONTEXT"], ids=["json", "print"]
)
def test_listing_variables_never_turn_a_script_into_a_listing(
    run_appshell: RunAppshell, variable: str
) -> None:
    result = run_appshell(
        "--app", "appshell.demo", "shell", "-c", "print(1 + 1)", env={variable: "1"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\n"


@pytest.mark.parametrize(
    "args",
    [("-c", "print(1)"), ("script.py",), ("-i",), ("--echo", "script.py")],
    ids=["command", "file", "interactive", "echo"],
)
def test_print_context_with_code_to_run_is_a_usage_error(
    run_appshell: RunAppshell, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "script.py").write_text("print('ran')\n")
    result = run_appshell("--app", "appshell.demo", "shell", "--print-context", *args)
    assert result.returncode == 2
    assert "--print-context lists the names" in result.stderr
    assert "ran" not in result.stdout
    assert "Traceback" not in result.stderr


def test_stdin_closed_exits_as_python_does(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(APPSHELL), "--app", "appshell.demo", "shell"],
        cwd=tmp_path,
        env=_clean_environ() | {"APPSHELL_DEMO_DATABASE": str(tmp_path / "notes.db")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        # The child starts with file descriptor 0 closed, as `appshell shell <&-` does.
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_errors_are_not_coloured_under_no_color(tmp_path: Path) -> None:
    import pexpect

    child = pexpect.spawn(
        str(APPSHELL),
        ["--app", "appshell.demo", "shell", "--repl", "nosuchrepl"],
        cwd=str(tmp_path),
        env=_clean_environ() | {"NO_COLOR": "1"},
        encoding="utf-8",
        timeout=30,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "Error: No REPL called 'nosuchrepl'" in child.before
    assert "\x1b[" not in child.before
