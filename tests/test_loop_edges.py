"""The session loop's edges, through the real command: code that blocks the loop, Ctrl-C and
SIGTERM while it does, and tasks that will not stop.

Each process is signalled at a line it prints, never after a fixed sleep; a process that
does not end within the wait is killed, and the test fails on its exit code.
"""

from __future__ import annotations

import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from .conftest import APPSHELL, _clean_environ

pytestmark = pytest.mark.slow

#: An ASGI app whose lifespan startup blocks the loop (``block``), awaits for ever
#: (``hang``), or starts (anything else); it prints ``starting`` first.
APP = """
import asyncio, contextlib, os, time
from starlette.applications import Starlette

@contextlib.asynccontextmanager
async def lifespan(app):
    print("starting", flush=True)
    if os.environ.get("STARTUP") == "block":
        time.sleep(3600)  # a blocking connect, say
    elif os.environ.get("STARTUP") == "hang":
        await asyncio.sleep(3600)
    yield
    print("stopped", flush=True)

app = Starlette(lifespan=lifespan)
"""

#: A script whose task blocks the loop while the statement awaits.
BLOCKING_TASK = """
import asyncio, time

async def blocker():
    print("blocking", flush=True)
    time.sleep(3600)

async def main():
    task = asyncio.create_task(blocker())
    await asyncio.sleep(3600)

await main()
"""

#: A script that leaves a task behind that swallows its cancellation.
STUBBORN_TASK = """
import asyncio

async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass

async def main():
    global task
    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)

await main()
print("done", flush=True)
"""

# Far beyond the session's grace periods: only a session that never ends reaches it.
WAIT = 60


def appshell(folder: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    (folder / "blockapp.py").write_text(APP)
    return subprocess.Popen(
        [str(APPSHELL), "--app", "blockapp:app", "shell", *args],
        cwd=folder,
        env={**_clean_environ(), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def signalled_at(proc: subprocess.Popen[str], marker: str, sig: int) -> tuple[int, str, str]:
    """Send ``sig`` once ``proc`` printed the line ``marker``; its exit code (-9: it did not
    end, and was killed), and what it printed after the marker, on stdout and stderr."""
    assert proc.stdout is not None
    try:
        line = None
        while line not in (marker + "\n", ""):
            line = proc.stdout.readline()
        if line != marker + "\n":
            proc.kill()
            pytest.fail(f"{marker!r} never printed: {proc.communicate()[1]}")
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    return proc.returncode, stdout, stderr


@pytest.mark.parametrize(
    ("startup", "sig", "code"),
    [
        ("block", signal.SIGINT, 130),
        ("block", signal.SIGTERM, 143),
        ("hang", signal.SIGTERM, 143),
        ("hang", signal.SIGINT, 130),
    ],
    ids=["blocked-ctrl-c", "blocked-sigterm", "hung-sigterm", "hung-ctrl-c"],
)
def test_a_startup_that_blocks_or_hangs_ends_at_the_first_signal(
    tmp_path: Path, startup: str, sig: int, code: int
) -> None:
    proc = appshell(tmp_path, "-c", "print('ran')", STARTUP=startup)
    returncode, stdout, stderr = signalled_at(proc, "starting", sig)
    assert returncode == code, stderr
    assert "ran" not in stdout
    # Nothing of appshell's or the framework's: no frames, no task of appshell's named.
    assert stderr.strip() == "", stderr


@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [(signal.SIGINT, 130, "KeyboardInterrupt\n"), (signal.SIGTERM, 143, "")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_task_that_blocks_the_loop_is_interrupted_at_the_first_signal(
    tmp_path: Path, sig: int, code: int, said: str
) -> None:
    script = tmp_path / "blocking.py"
    script.write_text(textwrap.dedent(BLOCKING_TASK))
    proc = appshell(tmp_path, str(script))
    returncode, stdout, stderr = signalled_at(proc, "blocking", sig)
    assert returncode == code, stderr
    assert stderr == said
    assert stdout == "stopped\n"  # the lifespan shutdown ran


def test_a_task_that_swallows_its_cancellation_is_named_and_abandoned(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(textwrap.dedent(STUBBORN_TASK))
    proc = appshell(tmp_path, str(script))
    try:
        stdout, stderr = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert stdout == "starting\ndone\nstopped\n"
    last = stderr.splitlines()[-1]
    assert last.startswith("appshell: Task-"), stderr
    assert "(stubborn)" in last, stderr
    assert "abandoned" in last, stderr


def test_sigterm_ends_a_session_whose_task_swallows_its_cancellation(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(
        textwrap.dedent(STUBBORN_TASK) + "import asyncio\nawait asyncio.sleep(3600)\n"
    )
    proc = appshell(tmp_path, str(script))
    returncode, stdout, stderr = signalled_at(proc, "done", signal.SIGTERM)
    assert returncode == 143, stderr
    assert stdout == "stopped\n"
    assert "(stubborn)" in stderr, stderr
    assert "abandoned" in stderr, stderr
    assert "sleep" not in stderr  # the statement SIGTERM ended is not named
