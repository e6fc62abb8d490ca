"""One event loop in a kernel: the session of ``%appshell`` adopts the kernel's running loop,
so what a session awaits (an ASGI lifespan, a profile's startup code, Quart's app context)
is awaited where the cells run, in the session's own context.

Each test drives a real kernel through nbclient, cell by cell (see test_notebook_asgi).
"""

from __future__ import annotations

import os
import re
import sqlite3
import textwrap
import typing as t
from pathlib import Path

import pytest

from ..conftest import APPS, RECORDED_ASGI_APP, Result
from . import test_notebook
from .test_notebook import assert_no_errors, run_cells

pytestmark = pytest.mark.slow

pytest.importorskip("nbclient")

kernel_env = test_notebook.kernel_env
project = test_notebook.project


def user_profile(name: str, text: str) -> Path:
    """A profile in ``$XDG_CONFIG_HOME`` (the kernel inherits the test's environment)."""
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "appshell" / "profiles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_profile_whose_startup_awaits_attaches_an_asgi_app(project: Path) -> None:
    (project / "nbasgi.py").write_text(RECORDED_ASGI_APP)
    user_profile(
        "awaits",
        """
        startup = [
            "import asyncio",
            "await asyncio.sleep(0)\\nloop_at_startup = asyncio.get_running_loop()",
        ]
        """,
    )
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app nbasgi:app --profile awaits",
        "import asyncio\nloop_at_startup is asyncio.get_running_loop()",
        "(await client.get('/items')).json()",
        "%appshell --detach",
        "open('lifespan.log').read()",
        folder=project,
    )
    assert_no_errors(outputs)
    _load, attached, same_loop, items, detached, log = outputs
    assert "attached FastAPI" in attached.text
    assert "loop_at_startup" in attached.text
    assert attached.stderr == ""
    # The startup code ran on the loop the cells run on: there is only one.
    assert same_loop.text == "True"
    assert items.text == "['opened by the lifespan']"
    assert "detached FastAPI" in detached.stdout
    assert log.text == repr("startup\nshutdown\n")


def test_a_quart_app_detaches_without_an_error(project: Path) -> None:
    (project / "quart_recorded.py").write_text((APPS / "quart_recorded.py").read_text())
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app quart_recorded",
        "from quart import current_app\ncurrent_app.name",
        "%appshell --detach",
        "from quart import has_app_context\nhas_app_context()",
        folder=project,
    )
    assert_no_errors(outputs)
    _load, _attach, name, detached, gone = outputs
    assert name.text == "'quart_recorded'"
    # The app context is left in the context it was entered in: nothing to complain about.
    assert detached.stderr == ""
    assert detached.stdout.startswith("appshell: detached quart_recorded;")
    assert gone.text == "False"
    assert (project / "quart.log").read_text().split("\n")[-3:] == ["shutdown", "teardown None", ""]


#: A FastAPI app whose lifespan reads a SQLite database by a path relative to its project.
RELATIVE_DB_APP = """
import contextlib
import sqlite3

from fastapi import FastAPI


@contextlib.asynccontextmanager
async def lifespan(app):
    db = sqlite3.connect("data.db")
    yield {"items": [name for (name,) in db.execute("select name from items")]}
    db.close()
    print("shutdown in", __import__("os").getcwd())


app = FastAPI(lifespan=lifespan)
"""


def test_an_installed_kernels_lifespan_runs_in_the_project_folder(
    project: Path, tmp_path: Path, run_appshell: t.Callable[..., Result]
) -> None:
    (project / "nbrelative.py").write_text(RELATIVE_DB_APP)
    with sqlite3.connect(project / "data.db") as db:
        db.execute("create table items (name text)")
        db.execute("insert into items values ('from the project')")
    installed = run_appshell(
        "--app", "nbrelative:app", "kernel", "install", "--name", "appshell-relative", cwd=project
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    outputs = run_cells(
        "state['items']",
        "import os\nos.getcwd() == os.path.realpath('.'), os.path.basename(os.getcwd())",
        folder=notebooks,
        kernel_name="appshell-relative",
    )
    assert_no_errors(outputs)
    items, cwd = outputs
    assert items.text == "['from the project']"
    # The cells still run in the notebook's own folder.
    assert cwd.text == "(True, 'notebooks')"
    # No empty database was made beside the notebook.
    assert not (notebooks / "data.db").exists()


#: A FastAPI app whose lifespan prints as it starts and stops, and keeps a task printing.
PRINTING_APP = """
import asyncio
import contextlib

from fastapi import FastAPI


@contextlib.asynccontextmanager
async def lifespan(app):
    print("lifespan started")
    yield {}
    print("lifespan stopping")


app = FastAPI(lifespan=lifespan)
"""


def test_what_the_lifespan_prints_shows_under_the_cell_that_ran_it(project: Path) -> None:
    (project / "nbprinting.py").write_text(PRINTING_APP)
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app nbprinting:app",
        "print('a cell of its own')",
        "%appshell --detach",
        "print('after')",
        folder=project,
    )
    assert_no_errors(outputs)
    _load, attached, between, detached, after = outputs
    assert attached.stdout == "lifespan started\n"
    assert between.stdout == "a cell of its own\n"
    assert detached.stdout.startswith("lifespan stopping\nappshell: detached FastAPI;")
    assert after.stdout == "after\n"


#: A FastAPI app whose lifespan startup fails.
FAILING_APP = """
import contextlib

from fastapi import FastAPI


@contextlib.asynccontextmanager
async def lifespan(app):
    raise ConnectionError("the database is down")
    yield {}


app = FastAPI(lifespan=lifespan)
"""


def test_a_kernel_whose_app_fails_to_attach_says_so_once(
    project: Path,
    tmp_path: Path,
    run_appshell: t.Callable[..., Result],
    capfd: pytest.CaptureFixture[str],
) -> None:
    (project / "nbfailing.py").write_text(FAILING_APP)
    installed = run_appshell(
        "--app", "nbfailing:app", "kernel", "install", "--name", "appshell-failing", cwd=project
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    capfd.readouterr()
    outputs = run_cells("1 + 1", "2 + 2", folder=project, kernel_name="appshell-failing")
    assert_no_errors(outputs)
    first, second = outputs
    assert first.text == "2"
    # Said under the first cell: what failed, the app's own traceback, nothing of appshell's.
    assert first.stderr.startswith("appshell: nbfailing:app could not be attached")
    assert "ConnectionError: the database is down" in first.stderr
    assert 'nbfailing.py", line 9, in lifespan' in first.stderr
    assert "appshell/" not in first.stderr
    assert second.stderr == ""
    # The kernel's own log has the message's first line, and no traceback.
    log = capfd.readouterr().err
    assert "appshell: nbfailing:app could not be attached" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("app", "module"),
    [("nbflask:create_app", "flask"), ("quart_recorded", "quart")],
    ids=["flask", "quart"],
)
def test_a_failing_request_cell_shows_the_users_cell(project: Path, app: str, module: str) -> None:
    (project / "quart_recorded.py").write_text((APPS / "quart_recorded.py").read_text())
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {app}",
        f"%%appshell_request /where\nfrom {module} import request\nx = 1\n"
        "raise LookupError(request.path)",
        "%%appshell_request /where\ny = (",
        folder=project,
    )
    _load, _attach, raised, syntax = outputs
    assert [(e.ename, e.evalue) for e in raised.errors] == [("LookupError", "/where")]
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(raised.errors[0].traceback))
    # The cell as the user wrote it, numbered as the cell it is, its lines as in the notebook.
    assert "Cell In[3], line 4" in shown
    assert "----> 4 raise LookupError(request.path)" in shown
    assert f"{os.sep}appshell{os.sep}" not in shown
    assert "jupyter_await" not in shown
    assert "get_ipython()" not in shown
    assert "In[4]" not in shown
    (error,) = syntax.errors
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))
    assert "Cell In[4], line 2" in shown
    assert "In[5]" not in shown


def test_an_attach_whose_lifespan_fails_keeps_the_app_attached_before(project: Path) -> None:
    (project / "nbasgi.py").write_text(RECORDED_ASGI_APP)
    (project / "nbfailing.py").write_text(FAILING_APP)
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app nbasgi:app",
        "%appshell --app nbfailing:app",
        "(await client.get('/items')).json()",
        "%appshell",
        "%appshell --detach",
        "open('lifespan.log').read()",
        folder=project,
    )
    _load, _attached, failed, items, status, detached, log = outputs
    assert_no_errors([items, status, detached, log])
    assert [(e.ename, e.evalue) for e in failed.errors] == [
        (
            "LifespanFailed",
            "The app's lifespan startup failed: ConnectionError: the database is down",
        )
    ]
    assert "ConnectionError: the database is down" in failed.errors[0].traceback[-1]
    # The app attached before is still attached, its lifespan never stopped.
    assert items.text == "['opened by the lifespan']"
    assert "FastAPI (nbasgi:app) is attached" in status.text
    assert "detached FastAPI" in detached.stdout
    assert log.text == repr("startup\nshutdown\n")


def test_what_a_kernel_prints_as_it_attaches_shows_under_the_first_cell(
    project: Path, tmp_path: Path, run_appshell: t.Callable[..., Result]
) -> None:
    (project / "nbprinting.py").write_text(PRINTING_APP)
    installed = run_appshell(
        "--app", "nbprinting:app", "kernel", "install", "--name", "appshell-printing", cwd=project
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    first, second = run_cells(
        "print('first')", "print('second')", folder=notebooks, kernel_name="appshell-printing"
    )
    assert_no_errors([first, second])
    # Printed while the kernel started, before any cell: the first cell shows it, before its own.
    assert first.stdout.startswith("lifespan started\nappshell: attached FastAPI (nbprinting:app);")
    assert first.stdout.endswith("names added:\nfirst\n")
    assert second.stdout == "second\n"


def test_a_profile_whose_startup_awaits_attaches_a_flask_app(project: Path) -> None:
    user_profile(
        "awaits",
        """
        startup = ["import asyncio\\nawait asyncio.sleep(0)\\nfrom_startup = 'awaited'"]
        """,
    )
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app nbflask:create_app --profile awaits",
        "from flask import current_app\ncurrent_app.name, answer, from_startup",
        "%appshell --detach",
        "from flask import has_app_context\nhas_app_context()",
        folder=project,
    )
    assert_no_errors(outputs)
    _load, attached, names, detached, gone = outputs
    assert attached.stderr == ""
    assert names.text == "('nbflask', 42, 'awaited')"
    assert "detached nbflask" in detached.stdout
    assert gone.text == "False"
    assert (project / "teardown.log").read_text() == "torn down\n"


def test_an_attach_that_has_to_await_with_autoawait_off_is_one_line(project: Path) -> None:
    (project / "nbasgi.py").write_text(RECORDED_ASGI_APP)
    outputs = run_cells(
        "%load_ext appshell",
        "%autoawait off",
        "%appshell --app nbasgi:app",
        "%autoawait on",
        "%appshell --app nbasgi:app",
        "%appshell --detach",
        folder=project,
    )
    _load, _off, refused, _on, attached, detached = outputs
    assert_no_errors([attached, detached])
    assert [e.traceback for e in refused.errors] == [
        [
            "appshell: This has to run on the event loop that is running this code (the"
            " kernel's): await it instead (in a notebook, run %appshell as a line of its own"
            " with %autoawait on, or await appshell.attach(...) / appshell.detach())."
        ]
    ]
    # Refused before anything started: the lifespan ran once, for the awaited attach.
    assert "attached FastAPI" in attached.text
    assert (project / "lifespan.log").read_text() == "startup\nshutdown\n"
