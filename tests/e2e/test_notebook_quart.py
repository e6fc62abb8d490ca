"""A Quart app in a real Jupyter kernel (nbclient): attached by awaiting (its before_serving
and after_serving once each), its app context across cells, ``client`` awaited, and
``%%appshell_request`` cells awaited in a test request; a FastAPI app has no test request."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ..conftest import APPS, RECORDED_ASGI_APP
from .test_notebook import assert_no_errors, run_cells

pytestmark = pytest.mark.slow

QUART_APP = (APPS / "quart_recorded.py").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "quart_recorded.py").write_text(QUART_APP)
    (folder / "recorded_asgi.py").write_text(RECORDED_ASGI_APP)
    return folder


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def log(project: Path) -> list[str]:
    path = project / "quart.log"
    return path.read_text().splitlines() if path.exists() else []


def test_a_quart_app_in_a_notebook(project: Path) -> None:
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app quart_recorded",
        "from quart import current_app, g\ng.mark = 'kept'\ncurrent_app.name, answer",
        "open('quart.log').read().split()",
        "r = await client.get('/')\nr.status_code, r.text",
        "current_app.config['POOL'], g.mark",
        "%%appshell_request /where?page=2\n"
        "from quart import request\n"
        "import asyncio\n"
        "await asyncio.sleep(0)\n"
        "request.path, request.args['page'], current_app.name, g.mark",
        "from quart import has_request_context\nhas_request_context(), g.mark",
        "%appshell --detach",
        "from quart import has_app_context\nhas_app_context()",
        folder=project,
    )
    assert_no_errors(outputs)
    _load, attach, names, started, response, pool, request, after, detach, gone = outputs
    assert "attached quart_recorded" in attach.text
    assert names.text == "('quart_recorded', 42)"
    # before_serving ran once, finished before the next cell, in an app context of its own.
    assert started.text == "['startup', 'teardown', 'None']"
    assert response.text == "(200, 'index of quart_recorded')"
    assert pool.text == "('pool', 'kept')"
    assert request.text == "('/where', '2', 'quart_recorded', 'kept')"
    assert after.text == "(False, 'kept')"
    assert "detached quart_recorded" in detach.stdout
    assert gone.text == "False"
    assert log(project) == [
        "startup",
        "teardown None",
        "teardown kept",  # the session's app context, popped by the detach
        "shutdown",
        "teardown None",
    ]


def test_request_cells_that_fail(project: Path) -> None:
    outputs = run_cells(
        "%load_ext appshell",
        "%%appshell_request /\n1",
        "%appshell --app quart_recorded",
        "%%appshell_request /where\nfrom quart import request\nraise LookupError(request.path)",
        "%%appshell_request /where\nx = (",
        "from quart import has_request_context\nhas_request_context(), 1 + 1",
        "%autoawait off",
        "%%appshell_request /where\n1",
        "%autoawait on",
        "%appshell --app recorded_asgi",
        "%%appshell_request /items\n1",
        folder=project,
    )
    _load, unattached, attach, raised, syntax, after, _off, not_awaited, _on = outputs[:9]
    fastapi, no_request = outputs[9:]
    assert_no_errors([attach, after, fastapi])
    assert unattached.failed
    assert [e.traceback for e in unattached.errors] == [
        ["appshell: No app attached: attach one with %appshell --app IMPORT."]
    ]
    # The user's error, once, from the user's line, and the cell fails.
    assert raised.failed
    assert [(e.ename, e.evalue) for e in raised.errors] == [("LookupError", "/where")]
    traceback = _plain("\n".join(raised.errors[0].traceback))
    # As for a Flask app's request cell: the user's cell, its lines as in the notebook, and
    # neither the awaited call it is run by nor a frame of appshell.
    assert "Cell In[4], line 3" in traceback
    assert "----> 3 raise LookupError(request.path)" in traceback
    assert "await __import__" not in traceback
    assert f"{os.sep}appshell{os.sep}" not in traceback
    assert syntax.failed
    (error,) = syntax.errors
    shown = _plain("\n".join(error.traceback))
    assert "x = (" in shown
    assert shown.rstrip().endswith("SyntaxError: incomplete input")
    assert after.text == "(False, 2)"
    assert not_awaited.failed
    assert [e.traceback for e in not_awaited.errors] == [
        [
            "appshell: A test request of quart_recorded is entered on the event loop, so the"
            " cell has to be awaited: turn on %autoawait and run %%appshell_request again."
        ]
    ]
    assert no_request.failed
    assert [e.traceback for e in no_request.errors] == [
        [
            "appshell: %%appshell_request runs a cell inside a test request, which Flask and"
            " Quart apps have and FastAPI (starlette) has not: make a request with client"
            " instead, or attach a Flask or Quart app."
        ]
    ]


def test_every_cell_runs_in_the_sessions_context(project: Path) -> None:
    # What a cell sets is there for the next, whether either awaits or not (a cell that
    # awaits is a task of the kernel's: it ran in a copy of the kernel's context, and what
    # it set went with it), and a value is shown in the app context.
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app quart_recorded",
        "import asyncio, contextvars\nfrom quart import current_app\n"
        "marker = contextvars.ContextVar('marker')",
        "current_app",
        "await asyncio.sleep(0)\n_ = marker.set(6 * 7)",
        "marker.get()",
        "_ = marker.set(6 * 8)",
        "await asyncio.sleep(0)\nmarker.get(), current_app.name",
        "%appshell --detach",
        "from quart import has_app_context\nhas_app_context()",
        folder=project,
    )
    assert_no_errors(outputs)
    shown, _set_awaiting, got, _set_plainly, got_awaiting, detach, gone = outputs[3:]
    assert shown.text == "<Quart 'quart_recorded'>"
    assert got.text == "42"
    assert got_awaiting.text == "(48, 'quart_recorded')"
    assert "detached" in detach.stdout
    assert gone.text == "False"
