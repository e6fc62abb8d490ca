"""The session loop keeps running while each REPL's prompt waits, in a real pseudo-terminal."""

from __future__ import annotations

import re
import time
import typing as t
from pathlib import Path

import pexpect
import pytest

from ..conftest import RECORDED_ASGI_APP
from .test_repls import PROMPTS, Session, spawn_appshell, stop_all

pytestmark = pytest.mark.slow

REPLS = ["ipython", "ptpython", "python"]

APP = """
from flask import Flask

def create_app():
    return Flask("tickingapp")
"""

# Tasks for the prompt to start: in a module, since each REPL types blocks its own way.
TASKS = """
import asyncio
from flask import current_app

async def tick(path):
    while True:
        with open(path, "a") as f:
            f.write(current_app.name + "\\n")
        await asyncio.sleep(0.05)

async def say(text):
    await asyncio.sleep(0.3)
    print(text)

async def fail():
    await asyncio.sleep(0.3)
    raise ValueError("failed " + "on purpose")
"""


@pytest.fixture
def shell(tmp_path: Path, request: pytest.FixtureRequest) -> t.Iterator[Session]:
    """``appshell shell`` on a Flask app, in the REPL the test is parametrized with, with
    ``asyncio`` and the module of tasks imported."""
    repl = request.param
    (tmp_path / "tickingapp.py").write_text(APP)
    (tmp_path / "tasks.py").write_text(TASKS)
    child = spawn_appshell(
        tmp_path, ["--app", "tickingapp:create_app", "shell", "--repl", repl, "-q"]
    )
    session = Session(child, PROMPTS[repl])
    session.wait_prompt()
    start(session, "import asyncio, tasks")
    try:
        yield session
    finally:
        stop_all([child])


def start(shell: Session, statement: str) -> None:
    """Run ``statement`` and wait until the prompt after it is there: ``expect`` of the
    prompt alone could match a prompt drawn again as the line was typed."""
    shell.child.sendline(statement)
    shell.run("print('ran ' + 'before')", "ran before")


def repl_of(shell: Session) -> str:
    return next(name for name, prompt in PROMPTS.items() if prompt == shell.prompt)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for_growth(path: Path, seconds: float = 1.0) -> tuple[int, int]:
    before = len(lines(path))
    time.sleep(seconds)
    return before, len(lines(path))


@pytest.mark.parametrize("shell", REPLS, ids=REPLS, indirect=True)
def test_a_task_made_at_the_prompt_runs_while_it_waits(shell: Session, tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.txt"
    start(
        shell, f"ticker = asyncio.create_task(tasks.tick({str(ticks)!r})); await asyncio.sleep(0)"
    )
    before, after = wait_for_growth(ticks)
    assert after >= before + 8, (before, after)  # 20 ticks a second, minus a busy machine
    # The task runs in the session's context: the app context pushed for the session.
    assert set(lines(ticks)) == {"tickingapp"}
    # A synchronous statement sees no running loop.
    shell.run("print(asyncio.run(asyncio.sleep(0, result=6 * 7)))", "42")
    # Ctrl-C clears a half-typed line; the task goes on.
    shell.child.send("half_typed_name")
    shell.child.expect("half_typed_name")
    shell.child.sendcontrol("c")
    if repl_of(shell) == "ipython":
        time.sleep(0.5)  # IPython empties the line in place: no new prompt
    else:
        shell.wait_prompt()
    shell.run("print(ticker.done(), 'half' + '_typed')", "False half_typed")
    before, after = wait_for_growth(ticks, 0.5)
    assert after >= before + 4, (before, after)
    # Ctrl-C inside an awaited statement cancels that statement, not the task.
    shell.child.sendline("await asyncio.sleep(60)")
    shell.child.expect(r"sleep\(\S*60\S*\)")
    time.sleep(1)
    shell.child.sendcontrol("c")
    shell.child.expect("KeyboardInterrupt")
    shell.wait_prompt()
    shell.run("print(ticker.done() or 'still ' + 'ticking')", "still ticking")
    before, after = wait_for_growth(ticks, 0.5)
    assert after >= before + 4, (before, after)


@pytest.mark.parametrize("shell", REPLS, ids=REPLS, indirect=True)
def test_what_a_task_prints_comes_above_the_prompt(shell: Session) -> None:
    shell.run(
        "_ = asyncio.create_task(tasks.say('from ' + 'the task')); await asyncio.sleep(0)", ""
    )
    shell.child.send("typed_meanwhile")
    shell.child.expect("from the task")
    # The prompt and what was typed are drawn again under the task's line...
    shell.child.expect(shell.prompt)
    shell.child.expect("typed_meanwhile")
    # ...and the line is still the user's to finish.
    shell.child.sendline(" = 5 * 5")
    shell.wait_prompt()
    shell.run("print(typed_meanwhile)", "25")


@pytest.mark.parametrize("shell", REPLS, ids=REPLS, indirect=True)
def test_a_task_failing_while_idle_shows_its_traceback_once(shell: Session) -> None:
    start(shell, "failing = asyncio.create_task(tasks.fail()); await asyncio.sleep(0)")
    shell.child.expect("failed on purpose")
    time.sleep(1)
    shell.child.sendline("print('after ' + 'the failure')")
    shell.child.expect("after the failure")
    shown = t.cast(str, shell.child.before)
    assert "failed on purpose" not in shown  # once, not twice
    shell.wait_prompt()
    shell.run("print(type(failing.exception()).__name__)", "ValueError")


@pytest.mark.parametrize("shell", REPLS, ids=REPLS, indirect=True)
def test_tasks_pending_at_exit_are_cancelled_and_named(shell: Session, tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.txt"
    start(
        shell, f"ticker = asyncio.create_task(tasks.tick({str(ticks)!r})); await asyncio.sleep(0)"
    )
    repl = repl_of(shell)
    shell.child.sendcontrol("d")
    if repl != "python":
        shell.child.expect("really want to exit")
        shell.child.send("y\n" if repl == "ipython" else "y")
    shell.child.expect(r"1 task still running at exit cancelled: Task-\d+ \(tick\)\.")
    shell.child.expect(pexpect.EOF)
    shell.child.close()
    assert shell.child.exitstatus == 0
    stopped = len(lines(ticks))
    time.sleep(0.3)
    assert len(lines(ticks)) == stopped
    assert not re.search("Traceback", (tmp_path / "pty.log").read_text())


def test_a_python_session_that_never_awaits_imports_no_asyncio(tmp_path: Path) -> None:
    (tmp_path / "tickingapp.py").write_text(APP)
    child = spawn_appshell(
        tmp_path, ["--app", "tickingapp:create_app", "shell", "--repl", "python", "-q"]
    )
    shell = Session(child, PROMPTS["python"])
    try:
        shell.wait_prompt()
        shell.run("import sys; print('asyncio:', 'asyncio' in sys.modules)", "asyncio: False")
    finally:
        stop_all([child])


FASTAPI_APP = RECORDED_ASGI_APP


def sigterm_exit_code(child: pexpect.spawn) -> int | None:
    """Send the shell SIGTERM and return its exit code once it has ended."""
    import signal

    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    return t.cast("int | None", child.exitstatus)


@pytest.mark.parametrize("repl", REPLS, ids=REPLS)
def test_a_background_server_answers_while_the_prompt_is_idle_and_sigterm_shuts_down(
    tmp_path: Path, repl: str
) -> None:
    import json
    import urllib.request

    (tmp_path / "asgiapp.py").write_text(FASTAPI_APP)
    child = spawn_appshell(tmp_path, ["--app", "asgiapp:app", "shell", "--repl", repl, "-q"])
    shell = Session(child, PROMPTS[repl])
    try:
        shell.wait_prompt()
        child.sendline("server = cli.run(background=True, port=0)")
        child.expect(r"http://127\.0\.0\.1:(\d+)")
        port = int(child.match.group(1))
        shell.wait_prompt()
        # Another process asks while the prompt sits idle.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/answer", timeout=10) as response:
            assert json.loads(response.read()) == {"answer": 42}
        assert sigterm_exit_code(child) == 143
    finally:
        stop_all([child])
    assert lines(tmp_path / "lifespan.log") == ["startup", "shutdown"]


@pytest.mark.parametrize("repl", REPLS, ids=REPLS)
def test_sigterm_while_a_task_runs_ends_the_session(tmp_path: Path, repl: str) -> None:
    # The signal lands inside a task that keeps the loop busy: it must end the session
    # (exit 143, lifespan shutdown), not fail that task and leave the shell running.
    (tmp_path / "asgiapp.py").write_text(FASTAPI_APP)
    child = spawn_appshell(tmp_path, ["--app", "asgiapp:app", "shell", "--repl", repl, "-q"])
    shell = Session(child, PROMPTS[repl])
    try:
        shell.wait_prompt()
        child.sendline(
            "async def spin():\n"
            "    while True:\n"
            "        sum(range(20000)); open('spun', 'w').close(); await asyncio.sleep(0)\n"
        )
        if repl == "python":
            child.sendline("")
        shell.wait_prompt()
        shell.run(
            "import asyncio; spinner = asyncio.create_task(spin()); await asyncio.sleep(0)", ""
        )
        deadline = time.monotonic() + 10
        while not (tmp_path / "spun").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sigterm_exit_code(child) == 143
    finally:
        stop_all([child])
    assert lines(tmp_path / "lifespan.log") == ["startup", "shutdown"]
