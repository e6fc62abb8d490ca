"""ASGI apps in real Jupyter kernels: a kernel installed by ``appshell kernel install`` that
attaches a FastAPI app as it starts, and ``cli.run(background=True)`` served by a kernel.

The kernels are started by nbclient from kernelspecs on the test's own Jupyter path. The
background-server tests drive one kernel cell by cell, so that the test process can make its
requests while the kernel sits idle between cells.
"""

from __future__ import annotations

import ast
import contextlib
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ..conftest import RECORDED_ASGI_APP, Result
from . import test_notebook
from .test_notebook import assert_no_errors, output_of, run_cells

if t.TYPE_CHECKING:
    from .test_notebook import Output

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

# test_notebook's fixtures, shared: kernels keep their files in the test's folder (autouse),
# and the project folder with the Flask app.
kernel_env = test_notebook.kernel_env
project = test_notebook.project

#: The recorded FastAPI app (its lifespan records its startup and shutdown in ``lifespan.log``
#: and opens an aiosqlite connection), its state also holding the loop the lifespan ran on.
LOOP_APP = (
    RECORDED_ASGI_APP
    + """
import asyncio

recorded_lifespan = lifespan


@contextlib.asynccontextmanager
async def lifespan_keeping_the_loop(app):
    async with recorded_lifespan(app) as state:
        yield {**state, "loop": asyncio.get_running_loop()}


app.router.lifespan_context = lifespan_keeping_the_loop


@app.get("/same-loop")
async def same_loop(request: Request):
    return request.state.loop is asyncio.get_running_loop()
"""
)


@pytest.fixture
def apps(project: Path) -> Path:
    """test_notebook's project folder (the Flask app ``nbflask``), with ``nbloop`` beside it."""
    (project / "nbloop.py").write_text(LOOP_APP)
    return project


class Cells:
    """One kernel, its cells run one at a time: the test acts between them."""

    def __init__(self, client: t.Any) -> None:
        self.client = client
        self.notebook = client.nb
        self.failed: set[int] = set()

    def __call__(self, source: str) -> Output:
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        index = len(self.notebook.cells) - 1
        self.client.execute_cell(cell, index)
        output = output_of(cell, index in self.failed)
        assert_no_errors([output])
        return output


@contextlib.contextmanager
def kernel(folder: Path, kernel_name: str = "python3") -> t.Iterator[Cells]:
    """A kernel started in ``folder``; shut down (gracefully, as nbclient does) at the end."""
    client = nbclient.NotebookClient(
        nbformat.v4.new_notebook(),
        timeout=60,
        kernel_name=kernel_name,
        allow_errors=True,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(folder)}},
    )
    cells = Cells(client)
    client.on_cell_error = lambda cell, cell_index, execute_reply: cells.failed.add(cell_index)
    with client.setup_kernel():
        yield cells


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.URLError:
        return True
    return False


def test_an_installed_kernel_runs_the_lifespan_on_its_own_loop(
    apps: Path, tmp_path: Path, kernel_env: Path, run_appshell: t.Callable[..., Result]
) -> None:
    installed = run_appshell(
        "--app", "nbloop:app", "kernel", "install", "--name", "appshell-loop", cwd=apps
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert (kernel_env / "kernels" / "appshell-loop" / "kernel.json").is_file()
    log = apps / "lifespan.log"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    outputs = run_cells(
        f"import asyncio\nopen({str(log)!r}).read(), state['loop'] is asyncio.get_running_loop()",
        "r = await client.get('/items')\nr.status_code, r.json()",
        "(await client.get('/same-loop')).json()",
        "(await (await state['db'].execute('select count(*) from items')).fetchone())",
        folder=notebooks,
        kernel_name="appshell-loop",
    )
    assert_no_errors(outputs)
    started, items, same_loop, counted = outputs
    # Started once, before the first cell, on the loop that runs the cells.
    assert ast.literal_eval(started.text) == ("startup\n", True)
    assert items.text == "(200, ['opened by the lifespan'])"
    assert same_loop.text == "True"
    assert counted.text == "(1,)"
    # nbclient shut the kernel down: the shutdown ran once, before the kernel ended.
    assert log.read_text() == "startup\nshutdown\n"


def test_an_asgi_background_server_answers_between_cells_and_stops(apps: Path) -> None:
    log = apps / "lifespan.log"
    with kernel(apps) as cell:
        cell("%load_ext appshell")
        cell("%appshell --app nbloop:app")
        started = cell("server = cli.run(background=True, port=0)\nserver.url")
        url = ast.literal_eval(started.text)
        assert started.stdout == f"Serving FastAPI on {url} (stop with .stop())\n"
        # The kernel is idle between cells: its loop answers the test process.
        assert get(url + "/items") == '["opened by the lifespan"]'
        assert get(url + "/same-loop") == "true"
        # Another process, from a cell that awaits it (the loop serves meanwhile).
        other = cell(
            "import asyncio, sys\n"
            "script = f'import urllib.request; print(urllib.request.urlopen({server.url!r}"
            ' + "/items", timeout=10).read().decode())\'\n'
            "proc = await asyncio.create_subprocess_exec(sys.executable, '-c', script,"
            " stdout=asyncio.subprocess.PIPE)\n"
            "(await proc.communicate())[0].decode().strip(), proc.returncode"
        )
        assert ast.literal_eval(other.text) == ('["opened by the lifespan"]', 0)
        stopped = cell("server.stop()\nawait asyncio.sleep(0.5)\nserver.running")
        assert stopped.text == "False"
        assert refused(url + "/items")
        # Started and stopped again, awaiting the stop this time.
        again = cell("server = cli.run(background=True, port=0)\nserver.url")
        url = ast.literal_eval(again.text)
        assert get(url + "/same-loop") == "true"
        awaited = cell("await server.stop()\nserver.running")
        assert awaited.text == "False"
        assert refused(url + "/items")
        cell("%appshell --detach")
        # The servers shared the session's lifespan: it ran once.
        assert log.read_text() == "startup\nshutdown\n"


def test_a_background_server_left_running_stops_with_the_detach(apps: Path) -> None:
    with kernel(apps) as cell:
        cell("%load_ext appshell")
        cell("%appshell --app nbloop:app")
        url = ast.literal_eval(cell("server = cli.run(background=True, port=0)\nserver.url").text)
        assert get(url + "/items") == '["opened by the lifespan"]'
        detached = cell("%appshell --detach")
        # The server stopped as the session closed: no task of appshell's is cancelled.
        assert detached.stderr == ""
        left = cell("import asyncio\nawait asyncio.sleep(0.5)\nserver.running")
        assert left.text == "False"
        assert refused(url + "/items")
    assert (apps / "lifespan.log").read_text() == "startup\nshutdown\n"


def test_a_flask_background_server_in_a_kernel(apps: Path) -> None:
    with kernel(apps) as cell:
        cell("%load_ext appshell")
        cell("%appshell --app nbflask:create_app")
        started = cell("server = cli.run(background=True, port=0)\nserver.url")
        url = ast.literal_eval(started.text)
        assert get(url + "/hello/test") == "hi test"
        # A WSGI server has threads of its own: even a cell that blocks gets its answer.
        blocking = cell(
            "import subprocess, sys\n"
            "script = f'import urllib.request; print(urllib.request.urlopen({server.url!r}"
            ' + "/hello/cell", timeout=10).read().decode())\'\n'
            "subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,"
            " timeout=30).stdout.strip()"
        )
        assert blocking.text == "'hi cell'"
        stopped = cell("server.stop()\nserver.running")
        assert stopped.text == "False"
        assert refused(url + "/hello/test")
        # Each request's own app context was torn down; the session's is still pushed.
        assert (apps / "teardown.log").read_text() == "torn down\n" * 2
    # Shutting the kernel down detached the app: its app context was popped.
    assert (apps / "teardown.log").read_text() == "torn down\n" * 3


def test_a_background_server_in_the_shell_gets_the_lifespans_state(
    apps: Path, run_appshell: t.Callable[..., Result]
) -> None:
    script = (
        "import asyncio, urllib.request\n"
        "server = cli.run(background=True, port=0)\n"
        "read = lambda: urllib.request.urlopen(server.url + '/items', timeout=10).read()\n"
        "print((await asyncio.to_thread(read)).decode())\n"
        "await server.stop()\n"
        "print(server.running)\n"
    )
    result = run_appshell("--app", "nbloop:app", "shell", "-c", script, cwd=apps)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ['["opened by the lifespan"]', "False"]
    assert (apps / "lifespan.log").read_text() == "startup\nshutdown\n"
