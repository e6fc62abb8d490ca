"""Each REPL backend driven in a real pseudo-terminal, as a person uses it."""

from __future__ import annotations

import os
import re
import stat
import textwrap
import time
import typing as t
from pathlib import Path

import click
import pexpect
import pytest

from ..conftest import APPSHELL, _clean_environ

pytestmark = pytest.mark.slow

# Prompts as regular expressions that tolerate the colour codes between their characters.
PROMPTS = {
    "ipython": r"In \[\S*?\d+\S*?\]: ",
    "ptpython": r">>>",
    "python": r">>> ",
}

FLASK_APP = """
import contextvars
import os
from flask import Flask

marker = contextvars.ContextVar("marker")

def create_app():
    app = Flask(__name__)

    @app.route("/hello")
    def hello():
        return "hi"

    @app.shell_context_processor
    def names():
        return {"answer": 6 * 7, "marker": marker}

    @app.teardown_appcontext
    def teardown(exc):
        with open(os.environ["TEARDOWN_MARKER"], "a") as f:
            f.write("torn down\\n")

    return app
"""


class Session:
    """A running ``appshell shell`` in a pseudo-terminal."""

    def __init__(self, child: pexpect.spawn, prompt: str) -> None:
        self.child = child
        self.prompt = prompt

    def wait_prompt(self) -> str:
        self.child.expect(self.prompt)
        return t.cast(str, self.child.before)

    def run(self, line: str, expect: str) -> None:
        """Type ``line`` and wait for ``expect`` (a regex) in the output, then the prompt."""
        self.child.sendline(line)
        self.child.expect(expect)
        self.wait_prompt()

    def exit(self, repl: str) -> int:
        """Leave with Ctrl-D (answering the confirmation IPython and ptpython ask for) and
        return the exit code."""
        self.child.sendcontrol("d")
        if repl != "python":
            index = self.child.expect([r"really want to exit", pexpect.EOF, pexpect.TIMEOUT], 10)
            if index == 2:
                # A busy machine: a key typed while the REPL redraws its prompt can be lost
                # by prompt_toolkit, as a user's would; press it again, as a user would.
                self.child.sendcontrol("d")
                index = self.child.expect([r"really want to exit", pexpect.EOF])
            if index == 0:
                # IPython reads a line for its answer; ptpython a single key.
                self.child.send("y\n" if repl == "ipython" else "y")
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.signalstatus is None
        return t.cast(int, self.child.exitstatus)


def spawn_appshell(
    tmp_path: Path, args: t.Sequence[str], env: dict[str, str] | None = None
) -> pexpect.spawn:
    """``appshell ARGS`` in a pseudo-terminal, with its state kept in ``tmp_path``."""
    full_env = _clean_environ() | {
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PTPYTHON_CONFIG_HOME": str(tmp_path / "ptpython"),
    }
    full_env.update(env or {})
    child = pexpect.spawn(
        str(APPSHELL),
        list(args),
        cwd=str(tmp_path),
        env=full_env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.logfile_read = (tmp_path / "pty.log").open("a")
    return child


def stop_all(children: list[pexpect.spawn]) -> None:
    for child in children:
        if child.isalive():
            child.terminate(force=True)
        if child.logfile_read:
            child.logfile_read.close()


@pytest.fixture
def spawn(tmp_path: Path) -> t.Iterator[t.Callable[..., Session]]:
    children: list[pexpect.spawn] = []

    def start(*args: str, repl: str, env: dict[str, str] | None = None) -> Session:
        children.append(spawn_appshell(tmp_path, args, env))
        return Session(children[-1], PROMPTS[repl])

    yield start
    stop_all(children)


@pytest.fixture
def flask_app(tmp_path: Path) -> tuple[str, Path]:
    (tmp_path / "flaskapp.py").write_text(FLASK_APP)
    return "flaskapp:create_app", tmp_path / "teardown.txt"


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_a_session_with_the_demo_app(spawn: t.Callable[..., Session], repl: str) -> None:
    shell = spawn("--app", "appshell.demo", "shell", "--repl", repl, repl=repl)
    banner = shell.wait_prompt()
    assert "appshell-demo" in banner
    assert "Note" in banner

    shell.run("Note.create('x').id + Note.count() * 1000", r"1001")
    shell.run("import asyncio", "")
    shell.run("await asyncio.sleep(0, result=6 * 7)", r"42")
    # Ctrl-C clears the line being typed; the shell stays.
    shell.child.send("this is not python")
    shell.child.expect("python")
    shell.child.sendcontrol("c")
    if repl == "python":
        # The stdlib REPL gets Ctrl-C as a signal: what is typed before it is handled is lost.
        shell.child.expect("KeyboardInterrupt")
        shell.wait_prompt()
    shell.run("app.name.upper()", r"APPSHELL-DEMO")
    assert shell.exit(repl) == 0


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_the_app_context_lasts_the_session_and_is_torn_down(
    spawn: t.Callable[..., Session], flask_app: tuple[str, Path], repl: str
) -> None:
    app, teardown = flask_app
    shell = spawn(
        "--app", app, "shell", "--repl", repl, repl=repl, env={"TEARDOWN_MARKER": str(teardown)}
    )
    shell.wait_prompt()
    shell.run("from flask import current_app", "")
    shell.run("current_app.name + '!' * (answer // 21)", r"flaskapp!!")
    assert not teardown.exists()
    assert shell.exit(repl) == 0
    assert teardown.read_text() == "torn down\n"


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_state_set_by_one_statement_survives_to_the_next(
    spawn: t.Callable[..., Session], flask_app: tuple[str, Path], tmp_path: Path, repl: str
) -> None:
    app, teardown = flask_app
    shell = spawn(
        "--app", app, "shell", "--repl", repl, repl=repl, env={"TEARDOWN_MARKER": str(teardown)}
    )
    shell.wait_prompt()
    # A request context pushed at the prompt is there for the next statement...
    shell.run("request_ctx = app.test_request_context('/hello/there'); request_ctx.push()", "")
    shell.run("from flask import request", "")
    shell.run("request.path.upper()", r"/HELLO/THERE")
    # ...and so is a context variable set inside an awaited coroutine.
    shell.child.sendline("async def set_marker(): marker.set(len('abcdefghijklmnop'))")
    if repl == "python":
        shell.child.sendline("")  # the stdlib REPL ends a compound statement with a blank line
    shell.wait_prompt()
    shell.run("await set_marker()", "")
    shell.run("print('marker is', marker.get() * 2)", r"marker is 32")
    shell.run("request_ctx.pop()", "")
    assert shell.exit(repl) == 0


QUART_APP = """
import contextvars
from quart import Quart

app = Quart("quartctx")
marker = contextvars.ContextVar("marker")

@app.shell_context_processor
def names():
    return {"marker": marker}
"""


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_every_statement_runs_in_the_sessions_context(
    spawn: t.Callable[..., Session], tmp_path: Path, repl: str
) -> None:
    # Quart's app context lives in context variables, entered on the session's loop: a
    # statement that does not await sees it as one that does, and a value shown is shown
    # in it. What any statement sets is there for the next, awaited or not.
    (tmp_path / "quartctx.py").write_text(QUART_APP)
    shell = spawn("--app", "quartctx:app", "shell", "--repl", repl, "-q", repl=repl)
    shell.wait_prompt()
    shell.run("import asyncio; from quart import current_app", "")
    shell.run("print('sync: ' + current_app.name.upper())", "sync: QUARTCTX")
    shell.run("current_app", "<Quart 'quartctx'>")
    shell.run(
        "await asyncio.sleep(0); print('awaited: ' + current_app.name.upper())",
        "awaited: QUARTCTX",
    )
    shell.run("_ = marker.set(6 * 7)", "")
    shell.run("await asyncio.sleep(0); print('awaited sees', marker.get())", "awaited sees 42")
    shell.run("await asyncio.sleep(0); _ = marker.set(6 * 8)", "")
    shell.run("print('sync sees', marker.get())", "sync sees 48")
    assert shell.exit(repl) == 0
    assert "Traceback" not in (tmp_path / "pty.log").read_text()


def test_an_app_attached_at_the_ipython_prompt_has_its_own_context(
    spawn: t.Callable[..., Session], tmp_path: Path, flask_app: tuple[str, Path]
) -> None:
    # %appshell in appshell's IPython: while it is attached its cells run in its session's
    # context (not in the shell's own too), and after the detach in the shell's again.
    app, teardown = flask_app
    (tmp_path / "quartctx.py").write_text(QUART_APP)
    shell = spawn(
        "--app", "quartctx:app", "shell", "--repl", "ipython", "-q",
        repl="ipython", env={"TEARDOWN_MARKER": str(teardown)},
    )  # fmt: skip
    shell.wait_prompt()
    shell.run("%load_ext appshell", "appshell loaded")
    shell.run(f"%appshell --app {app}", "names added")
    shell.run("from flask import current_app", "")
    shell.run("print('attached:', current_app.name)", "attached: flaskapp")
    shell.run("%appshell --detach", "detached")
    assert teardown.read_text() == "torn down\n"
    shell.run("from quart import current_app", "")
    shell.run("print('own:', current_app.name)", "own: quartctx")
    assert shell.exit("ipython") == 0


def test_python_history_is_saved_privately(spawn: t.Callable[..., Session], tmp_path: Path) -> None:
    state = tmp_path / "state"
    shell = spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "python",
        repl="python",
        env={"XDG_STATE_HOME": str(state)},
    )
    shell.wait_prompt()
    shell.run("remember_this = 12345 + 1", "")
    assert shell.exit("python") == 0
    history = state / "appshell" / "python_history"
    assert "remember_this = 12345 + 1" in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600

    # The next session finds it: up-arrow recalls the line.
    shell = spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "python",
        repl="python",
        env={"XDG_STATE_HOME": str(state)},
    )
    shell.wait_prompt()
    shell.child.send("\x1b[A")
    shell.child.expect("remember_this")
    shell.child.sendline("")
    shell.wait_prompt()
    shell.run("remember_this", "12346")
    assert shell.exit("python") == 0


def test_an_unwritable_history_warns_and_the_shell_starts(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    shell = spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "ptpython",
        repl="ptpython",
        env={"XDG_STATE_HOME": str(blocker / "state")},
    )
    before = shell.wait_prompt()
    assert "history is off for this session" in before
    shell.run("Note.count() + 90 + 9", "99")
    assert shell.exit("ptpython") == 0


def test_ipython_honours_the_users_profile(spawn: t.Callable[..., Session], tmp_path: Path) -> None:
    profile = tmp_path / "ipython" / "profile_default"
    (profile / "startup").mkdir(parents=True)
    (profile / "startup" / "00-names.py").write_text("from_startup_file = 'startup-ok'\n")
    (profile / "ipython_config.py").write_text("c.TerminalInteractiveShell.confirm_exit = False\n")
    shell = spawn("--app", "appshell.demo", "shell", "--repl", "ipython", repl="ipython")
    banner = shell.wait_prompt()
    assert "Tip:" not in banner
    shell.run("from_startup_file.upper()", "STARTUP-OK")
    # confirm_exit = False from the profile: Ctrl-D leaves at once.
    shell.child.sendcontrol("d")
    shell.child.expect(pexpect.EOF)
    shell.child.close()
    assert shell.child.exitstatus == 0


def test_ptpython_honours_the_users_config_file(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    config = tmp_path / "ptpython" / "config.py"
    config.parent.mkdir()
    config.write_text(
        textwrap.dedent(
            """
            def configure(repl):
                repl.prompt_style = "ipython"
            """
        )
    )
    shell = spawn("--app", "appshell.demo", "shell", "--repl", "ptpython", repl="ipython")
    shell.wait_prompt()
    shell.run("Note.count() + 70 + 7", "77")
    assert shell.exit("ptpython") == 0


def _blocking_site(tmp_path: Path, *modules: str) -> str:
    """A folder for PYTHONPATH whose sitecustomize makes ``modules`` unimportable."""
    site = tmp_path / "blocked"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    )
    return str(site)


@pytest.mark.parametrize(
    ("blocked", "expected"),
    [((), "ipython"), (("IPython",), "ptpython"), (("IPython", "ptpython"), "python")],
    ids=["all-installed", "no-ipython", "neither"],
)
def test_autodetection_picks_the_best_installed_repl(
    spawn: t.Callable[..., Session], tmp_path: Path, blocked: tuple[str, ...], expected: str
) -> None:
    env = {"PYTHONPATH": _blocking_site(tmp_path, *blocked)} if blocked else {}
    shell = spawn("--app", "appshell.demo", "shell", repl=expected, env=env)
    banner = shell.wait_prompt()
    if expected != "python":
        assert f"{expected} " in banner
    shell.run("Note.count() + 4200 + 42", "4242")
    assert shell.exit(expected) == 0


def test_an_explicit_repl_that_is_not_installed_is_never_replaced(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "ipython",
        env={"PYTHONPATH": _blocking_site(tmp_path, "IPython")},
    )
    assert result.returncode == 2
    assert "pip install 'appshell[ipython]'" in result.stderr


def test_exit_with_a_code(spawn: t.Callable[..., Session]) -> None:
    shell = spawn("--app", "appshell.demo", "shell", "--repl", "python", repl="python")
    shell.wait_prompt()
    shell.child.sendline("exit()")
    shell.child.expect(pexpect.EOF)
    shell.child.close()
    assert shell.child.exitstatus == 0


def test_the_appshell_command_is_installed_beside_the_interpreter() -> None:
    # The e2e tests spawn the appshell installed next to this interpreter.
    assert os.access(APPSHELL, os.X_OK)


def test_ipython_without_a_writable_folder_warns_once_and_starts(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    shell = spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "ipython",
        repl="ipython",
        env={"IPYTHONDIR": str(blocker / "ipython")},
    )
    before = shell.wait_prompt()
    assert before.count("history is off for this session") == 1
    assert "UserWarning" not in before
    shell.run("Note.count() + 50 + 5", "55")
    assert shell.exit("ipython") == 0


def test_python_runs_pythonstartup_and_completes_names(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    startup = tmp_path / "startup.py"
    startup.write_text("from_pythonstartup = 'ps-ok'\nNote = 'shadowed by the shell context'\n")
    shell = spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "python",
        repl="python",
        env={"PYTHONSTARTUP": str(startup)},
    )
    shell.wait_prompt()
    shell.run("from_pythonstartup.upper()", "PS-OK")
    # The shell's names win over PYTHONSTARTUP's, as in `flask shell`.
    shell.run("Note.__name__.upper()", "NOTE")
    # Tab completes a name of the shell context.
    shell.child.send("Note.cou\t")
    # rlcompleter closes the call of a callable that takes no arguments.
    shell.child.expect(r"count\(\)")
    shell.child.sendline(" + 31 + 2")
    shell.child.expect("33")
    shell.wait_prompt()
    assert shell.exit("python") == 0


def test_commands_run_from_the_ipython_prompt(spawn: t.Callable[..., Session]) -> None:
    shell = spawn("--app", "appshell.demo", "shell", "--repl", "ipython", repl="ipython")
    banner = shell.wait_prompt()
    assert "cli" in banner
    shell.run("result = cli.routes(sort='rule')", r"notes\.detail")
    shell.run("result.exit_code + 700", "700")
    shell.run("%cli seed --count 2", r"Added 2 notes")
    # The magic completes command names.
    shell.child.send("%cli se\t")
    # The completed rest of the word may be drawn apart from what was typed.
    shell.child.expect(r"se(?:\x1b\[[0-9;?]*[A-Za-z])*ed")
    shell.run("", r"Added 3 notes")
    shell.run("Note.count() * 111", "555")
    assert shell.exit("ipython") == 0


def test_cli_mistakes_at_the_ipython_prompt_are_one_line(spawn: t.Callable[..., Session]) -> None:
    shell = spawn("--app", "appshell.demo", "shell", "--repl", "ipython", repl="ipython")
    shell.wait_prompt()
    mistakes = [
        ('%cli routes "x', r"appshell: cannot split 'routes \"x' into words", ""),
        ("cli('routes \"x').exit_code + 40", r"appshell: cannot split 'routes \"x'", "42"),
        ("cli(123).exit_code + 50", r"appshell: cli\(\) takes a command line as a str", "52"),
    ]
    for line, message, value in mistakes:
        shell.child.sendline(line)
        shell.child.expect(message)
        shown = shell.wait_prompt()
        assert "Traceback" not in shown
        assert "Error" not in shown
        assert value in shown  # the exit code, 2
    # %cli alone lists the commands, as `cli` does, not the root --help.
    shell.child.sendline("%cli")
    shell.child.expect(r"cli: run a command with")
    shown = shell.wait_prompt()
    assert "init_db" in shown
    assert "Usage:" not in shown
    assert shell.exit("ipython") == 0


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_a_mistake_with_appshells_objects_is_one_line_at_every_prompt(
    spawn: t.Callable[..., Session], repl: str
) -> None:
    """``cli.nosuch_cmd()``: one line, the prompt goes on (before, a traceback ending in
    appshell's frames). ``sql.echo = "on"`` is tests/databases/test_one_line.py's."""
    shell = spawn("--app", "appshell.demo", "shell", "--repl", repl, repl=repl)
    shell.wait_prompt()
    shell.child.sendline("cli.nosuch_cmd()")
    shell.child.expect(r"AttributeError: no command 'nosuch_cmd'; the commands are: ")
    shown = shell.wait_prompt()
    assert "Traceback" not in shown
    assert "appshell/" not in shown
    shell.run("6 * 7", r"42")
    assert shell.exit(repl) == 0


def test_commands_run_from_the_python_prompt(spawn: t.Callable[..., Session]) -> None:
    shell = spawn("--app", "appshell.demo", "shell", "--repl", "python", repl="python")
    shell.wait_prompt()
    shell.run('cli("routes")', r"notes\.create\s+POST")
    shell.run("cli('init-db --bogus').exit_code * 21", "42")
    # Tab completion lists the commands as attributes.
    shell.child.send("cli.init\t")
    shell.child.expect(r"init_db\(")  # rlcompleter opens the call of a callable
    shell.child.sendline(").exit_code + 90 + 1")
    shell.child.expect("91")
    shell.wait_prompt()
    assert shell.exit("python") == 0


def test_a_pythonstartup_that_raises_shows_its_traceback_then_the_prompt(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    startup = tmp_path / "startup.py"
    startup.write_text("before_the_error = 'kept'\nraise LookupError('from the startup file')\n")
    shell = spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "python",
        repl="python",
        env={"PYTHONSTARTUP": str(startup)},
    )
    before = shell.wait_prompt()
    # As python shows it: from the startup file's own frame, not appshell's.
    assert f'File "{startup}", line 2, in <module>' in before
    assert "LookupError: from the startup file" in before
    assert "appshell" not in before.split("Traceback", 1)[1].split("LookupError")[0]
    shell.run("before_the_error.upper()", "KEPT")
    assert shell.exit("python") == 0


def _python_shell(spawn: t.Callable[..., Session], state: Path) -> Session:
    return spawn(
        "--app",
        "appshell.demo",
        "shell",
        "--repl",
        "python",
        "-q",
        repl="python",
        env={"XDG_STATE_HOME": str(state)},
    )


def test_two_python_sessions_at_once_keep_both_histories(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    history = state / "appshell" / "python_history"
    history.parent.mkdir(parents=True)
    history.write_text("typed_long_ago = 0\n")
    first = _python_shell(spawn, state)
    first.wait_prompt()
    second = _python_shell(spawn, state)
    second.wait_prompt()
    first.run("typed_in_the_first = 1 + 10", "")
    second.run("typed_in_the_second = 2 + 20", "")
    assert first.exit("python") == 0
    assert second.exit("python") == 0
    assert history.read_text().splitlines() == [
        "typed_long_ago = 0",
        "typed_in_the_first = 1 + 10",
        "typed_in_the_second = 2 + 20",
    ]


def test_a_closed_terminal_saves_the_python_history(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    shell = _python_shell(spawn, state)
    shell.wait_prompt()
    shell.run("typed_before_the_hangup = 3 + 30", "")
    # The terminal goes away: the pty's master side is closed, the shell gets SIGHUP.
    shell.child.ptyproc.fileobj.close()
    deadline = time.monotonic() + 20
    while shell.child.isalive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not shell.child.isalive()
    assert shell.child.signalstatus is None  # it ended itself, after saving
    history = state / "appshell" / "python_history"
    assert "typed_before_the_hangup = 3 + 30" in history.read_text().splitlines()


@pytest.mark.parametrize("repl", ["ipython", "ptpython", "python"])
def test_ctrl_c_during_await_shows_only_keyboard_interrupt(
    spawn: t.Callable[..., Session], repl: str
) -> None:
    shell = spawn("--app", "appshell.demo", "shell", "--repl", repl, "-q", repl=repl)
    shell.wait_prompt()
    shell.run("import asyncio", "")
    shell.child.sendline("await asyncio.sleep(60)")
    shell.child.expect(r"sleep\(\S*60\S*\)")  # colour codes may come between
    time.sleep(1.5)  # the loop is waiting now
    shell.child.sendcontrol("c")
    shell.child.expect("KeyboardInterrupt")
    shown = t.cast(str, shell.child.before) + shell.wait_prompt()
    for internal in ("selectors", "base_events", "appshell", "CancelledError", "Traceback"):
        assert internal not in shown
    # The session goes on, its loop usable.
    shell.run("await asyncio.sleep(0, result=8 * 8)", "64")
    assert shell.exit(repl) == 0


def test_the_banner_has_no_colour_on_a_dumb_terminal(spawn: t.Callable[..., Session]) -> None:
    shell = spawn(
        "--app", "appshell.demo", "shell", "--repl", "python", repl="python", env={"TERM": "dumb"}
    )
    banner = shell.wait_prompt()
    assert "appshell-demo" in banner
    assert not re.search(r"\x1b\[[0-9;]*m", banner)
    assert shell.exit("python") == 0


IPYTHON_PROFILES = """
[tool.appshell.profiles.withext]
ipython.extensions = ["no_such_extension_here", "profile_ipython_ext"]

[tool.appshell.profiles.withext.ipython.config.TerminalInteractiveShell]
confirm_exit = false

[tool.appshell.profiles.badvalue.ipython.config.TerminalInteractiveShell]
confirm_exit = "notabool"
"""


def test_a_missing_ipython_extension_of_a_profile_warns_in_one_line_and_starts(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(IPYTHON_PROFILES)
    (tmp_path / "profile_ipython_ext.py").write_text(
        "def load_ipython_extension(ip):\n    ip.push({'from_the_extension': 'ext-ok'})\n"
    )
    shell = spawn(
        "--app", "appshell.demo", "shell", "--repl", "ipython", "--profile", "withext",
        repl="ipython",
    )  # fmt: skip
    before = shell.wait_prompt()
    warnings = [line for line in before.splitlines() if "no_such_extension_here" in line]
    assert len(warnings) == 1
    assert "profile 'withext'" in warnings[0]
    assert str(tmp_path / "pyproject.toml") in warnings[0]
    assert "not installed" in warnings[0]
    assert "Traceback" not in before
    # The other extension is loaded, and the profile's config applies (no exit question).
    shell.run("from_the_extension.upper()", "EXT-OK")
    shell.child.sendcontrol("d")
    shell.child.expect(pexpect.EOF)
    shell.child.close()
    assert shell.child.exitstatus == 0


def test_a_wrong_typed_ipython_setting_of_a_profile_is_a_usage_error(
    spawn: t.Callable[..., Session], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(IPYTHON_PROFILES)
    shell = spawn(
        "--app", "appshell.demo", "shell", "--repl", "ipython", "--profile", "badvalue",
        repl="ipython",
    )  # fmt: skip
    shell.child.expect(pexpect.EOF)
    output = t.cast(str, shell.child.before)
    shell.child.close()
    assert shell.child.exitstatus == 2
    assert "CRITICAL" not in output
    assert "profile 'badvalue'" in output
    assert str(tmp_path / "pyproject.toml") in output
    assert "TerminalInteractiveShell.confirm_exit" in output
    assert "'notabool'" in output


@pytest.mark.parametrize(
    ("incomplete", "expected"),
    [("", ["ipython", "ptpython", "python"]), ("p", ["ptpython", "python"]), ("IP", ["ipython"])],
    ids=["all", "prefix", "any-case"],
)
def test_repl_names_complete_by_prefix(incomplete: str, expected: list[str]) -> None:
    from appshell.shell.backends import complete_repl_names

    items = complete_repl_names(
        click.Context(click.Command("shell")), click.Option(["--repl"]), incomplete
    )
    assert [item.value for item in items] == expected
    assert all(item.type == "plain" for item in items)
