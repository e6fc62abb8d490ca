"""Ctrl-C at a prompt while a task blocks the session's loop, in a real pseudo-terminal."""

from __future__ import annotations

import signal
from pathlib import Path

import pexpect
import pytest

import appshell

from .test_repls import PROMPTS, Session, spawn_appshell, stop_all

pytestmark = pytest.mark.slow

APP = """
import contextlib
from starlette.applications import Starlette

@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    print("stop" + "ped", flush=True)

app = Starlette(lifespan=lifespan)
"""

# In a module: a task that blocks the loop with synchronous code while a statement awaits.
TASKS = """
import asyncio, time

async def blocker():
    print("block" + "ing", flush=True)
    time.sleep(3600)

async def main():
    task = asyncio.create_task(blocker())
    await asyncio.sleep(3600)
"""

WAITING = """
async def wait():
    print("wait" + "ing", flush=True)
    await asyncio.sleep(3600)
"""


def test_the_first_ctrl_c_interrupts_a_task_that_blocks_the_loop(tmp_path: Path) -> None:
    (tmp_path / "blockapp.py").write_text(APP)
    (tmp_path / "tasks.py").write_text(TASKS)
    child = spawn_appshell(tmp_path, ["--app", "blockapp:app", "shell", "--repl", "ipython"])
    shell = Session(child, PROMPTS["ipython"])
    try:
        shell.wait_prompt()
        shell.run("import tasks", "")
        child.sendline("await tasks.main()")
        child.expect("blocking")
        child.sendintr()
        shown = shell.wait_prompt()
        # As python shows it: the frames of the code it interrupted (the blocking task's:
        # time.sleep, or the print before it if the signal came that early), then the line;
        # no frame of appshell's signal handling after them.
        traceback = shown[shown.index("Traceback") : shown.index("KeyboardInterrupt\r\n")]
        files = [line.split('"')[1] for line in traceback.splitlines() if 'File "' in line]
        assert files[0] == str(tmp_path / "tasks.py"), traceback
        assert not files[-1].startswith(str(Path(appshell.__file__).parent)), traceback
        shell.run("print('still' + ' here')", "still here")
    finally:
        if child.isalive():
            child.sendcontrol("d")
            child.expect([pexpect.EOF, r"\(\[y\]/n\)"])
        stop_all([child])


@pytest.mark.parametrize("statement", ["await tasks.main()", "await tasks.wait()"])
def test_sigterm_during_an_awaited_cell_ends_ipython(tmp_path: Path, statement: str) -> None:
    # IPython takes a cell's SystemExit as the cell's own and goes on: SIGTERM's must end
    # the session all the same, by its own road, not at the deadline that forces it.
    (tmp_path / "blockapp.py").write_text(APP)
    (tmp_path / "tasks.py").write_text(TASKS + WAITING)
    child = spawn_appshell(tmp_path, ["--app", "blockapp:app", "shell", "--repl", "ipython"])
    shell = Session(child, PROMPTS["ipython"])
    try:
        shell.wait_prompt()
        shell.run("import tasks", "")
        child.sendline(statement)
        child.expect("blocking|waiting")
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF, timeout=60)
        child.close()
        assert child.exitstatus == 143
        # Ended by the session's own closing (the lifespan shutdown ran), not forced.
        assert "did not end within" not in child.before
        assert "stopped" in child.before
    finally:
        stop_all([child])
