"""``flask shell`` is appshell's shell when appshell is installed beside Flask."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from .conftest import _clean_environ

FLASK = Path(sys.executable).with_name("flask")

APP = """
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route("/hello")
    def hello():
        return "hi"

    @app.shell_context_processor
    def names():
        return {"answer": 42}

    return app
"""


def flask(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str = "") -> t.Any:
    return subprocess.run(
        [str(FLASK), *args],
        cwd=cwd,
        env=_clean_environ() | (env or {}),
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "hello.py").write_text(APP)
    return tmp_path


def test_flask_shell_runs_code_with_the_shell_context(project: Path) -> None:
    result = flask(
        "--app", "hello:create_app", "shell", "-c", "print(answer + 1, app.name)", cwd=project
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "43 hello\n"


def test_flask_shell_has_appshells_options(project: Path) -> None:
    help_text = flask("shell", "--help", cwd=project)
    assert help_text.returncode == 0
    for option in ("--repl", "--list-repls", "-c", "--echo", "--print-context", "--profile"):
        assert option in help_text.stdout

    repls = flask("shell", "--list-repls", cwd=project)
    assert repls.returncode == 0, repls.stderr
    assert [line.split()[0] for line in repls.stdout.splitlines()[1:4]] == [
        "ipython",
        "ptpython",
        "python",
    ]


def test_flask_shell_print_context_names_flasks_sources(project: Path) -> None:
    result = flask("--app", "hello:create_app", "shell", "--print-context", cwd=project)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[2:]}
    assert rows["answer"] == "adapter"
    assert rows["app"] == "default"
    assert rows["cli"] == "default"


def test_flask_shell_runs_flask_commands_in_the_shell(project: Path) -> None:
    result = flask("--app", "hello:create_app", "shell", "-c", "cli('routes')", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "/hello" in result.stdout


def test_flask_shell_scripts_and_exit_codes(project: Path) -> None:
    (project / "fix.py").write_text("import sys\nprint(sys.argv[1:], answer)\nsys.exit(3)\n")
    result = flask("--app", "hello:create_app", "shell", "fix.py", "--dry-run", cwd=project)
    assert result.returncode == 3
    assert result.stdout == "['--dry-run'] 42\n"


def test_appshell_flask_shell_0_gives_flasks_shell_back(project: Path) -> None:
    result = flask(
        "--app",
        "hello:create_app",
        "shell",
        cwd=project,
        env={"APPSHELL_FLASK_SHELL": "0"},
        input="print('answer is', answer)\n",
    )
    assert result.returncode == 0, result.stderr
    assert "answer is 42" in result.stdout
    # Flask's own banner, not appshell's.
    assert "Instance:" in result.stderr
    assert "· appshell" not in result.stderr
    help_text = flask("shell", "--help", cwd=project, env={"APPSHELL_FLASK_SHELL": "0"})
    assert "--repl" not in help_text.stdout


def test_only_shell_is_replaced(project: Path) -> None:
    result = flask("--app", "hello:create_app", "--help", cwd=project)
    assert result.returncode == 0
    commands = result.stdout.split("Commands:")[1].split()
    assert "shell" in commands
    assert "profiles" not in commands
    assert "kernel" not in commands


def test_the_integration_module_imports_only_click() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import appshell.integrations.flask as m\n"
        "new = sorted(n for n in set(sys.modules) - before if not n.startswith('appshell'))\n"
        "print(m.shell_command.name, [n for n in new if n.split('.')[0] not in "
        "('click', 'encodings')])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_clean_environ()
    )
    assert result.returncode == 0, result.stderr
    name, rest = result.stdout.split(" ", 1)
    assert name == "shell"
    # The stdlib modules click itself needs are allowed; nothing of Flask or appshell's shell.
    assert "flask" not in rest
    assert "appshell.shell" not in rest


def test_appshell_does_not_list_its_own_flask_entry(run_appshell: t.Callable[..., t.Any]) -> None:
    from appshell import plugins

    plugins.reset()
    assert "shell" not in plugins.entry_points(plugins.FLASK_COMMANDS)
    result = run_appshell("--help")
    assert result.stdout.count("  shell ") == 1


@pytest.mark.slow
def test_an_ipython_session_of_flask_shell(project: Path, tmp_path: Path) -> None:
    import pexpect

    env = _clean_environ() | {
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    child = pexpect.spawn(
        str(FLASK),
        ["--app", "hello:create_app", "shell"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    try:
        child.expect(r"In \[\S*?\d+\S*?\]: ")
        assert re.search(r"App: \S*hello", t.cast(str, child.before))
        child.sendline("answer * 100 + 7")
        child.expect("4207")
        child.sendline("%cli routes")
        child.expect(r"/hello")
        child.expect(r"In \[\S*?\d+\S*?\]: ")
        child.sendcontrol("d")
        if child.expect([r"really want to exit", pexpect.EOF]) == 0:
            child.sendline("y")
            child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_flask_is_installed_next_to_appshell() -> None:
    assert FLASK.exists(), "the test extra installs Flask"
    assert os.access(FLASK, os.X_OK)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def broken(:\n    pass\n", "SyntaxError"),
        (
            "from flask import Flask\n\ndef create_app():\n    raise ValueError('no config')\n",
            "ValueError: no config",
        ),
    ],
    ids=["syntax-error", "factory-raises"],
)
def test_flask_shell_shows_only_the_users_traceback(
    tmp_path: Path, source: str, expected: str
) -> None:
    (tmp_path / "broken_app.py").write_text(source)
    result = flask("--app", "broken_app", "shell", "-c", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "broken_app.py" in result.stderr
    for internal in ("appshell/", "flask/cli.py", "click/"):
        assert internal not in result.stderr


def test_ctrl_c_while_the_app_loads_under_flask_shell_is_130(tmp_path: Path) -> None:
    (tmp_path / "slow_app.py").write_text(
        "import os, signal, time\n"
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "time.sleep(5)\n"
    )
    result = flask("--app", "slow_app", "shell", "-c", "print('ran')", cwd=tmp_path)
    assert result.returncode == 130
    assert "ran" not in result.stdout
    assert "Aborted" not in result.stderr
    assert "Traceback" not in result.stderr
