"""The IPython extension in real Jupyter kernels, driven by nbclient as a notebook is run.

Each notebook starts a kernel (a few seconds each): the cells of one test tell one story.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from ..conftest import RECORDED_ASGI_APP, Result, _clean_environ

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLE = Path(__file__).parents[2] / "docs" / "example.ipynb"

FLASK_APP = """
import os
from flask import Flask

TEARDOWN_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "teardown.log")


def create_app():
    app = Flask("nbflask")

    @app.route("/hello/<name>")
    def hello(name):
        return f"hi {name}"

    @app.shell_context_processor
    def names():
        return {"answer": 42}

    @app.teardown_appcontext
    def log_teardown(exc):
        with open(TEARDOWN_LOG, "a") as f:
            f.write("torn down\\n")

    return app
"""

FLASK = "nbflask:create_app"


@dataclasses.dataclass
class Output:
    """What a cell shows: stdout, stderr, its value as text and HTML, its errors; and whether
    its execution failed (the kernel's reply said so: what stops a notebook run)."""

    stdout: str = ""
    stderr: str = ""
    text: str = ""
    html: str = ""
    errors: list[t.Any] = dataclasses.field(default_factory=list)
    failed: bool = False


def output_of(cell: t.Any, failed: bool) -> Output:
    seen = Output(failed=failed)
    for out in cell.outputs:
        if out.output_type == "stream":
            setattr(seen, out.name, getattr(seen, out.name) + out.text)
        elif out.output_type in ("execute_result", "display_data"):
            seen.text += out.data.get("text/plain", "")
            seen.html += out.data.get("text/html", "")
        elif out.output_type == "error":
            seen.errors.append(out)
    return seen


def execute(notebook: t.Any, folder: Path, kernel_name: str = "python3") -> list[Output]:
    """Run every cell in a new kernel whose working folder is ``folder``; each one's output."""
    failed: set[int] = set()
    client = nbclient.NotebookClient(
        notebook,
        timeout=60,
        kernel_name=kernel_name,
        allow_errors=True,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(folder)}},
        on_cell_error=lambda cell, cell_index, execute_reply: failed.add(cell_index),
    )
    client.execute()
    return [
        output_of(cell, index in failed)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    ]


def run_cells(*sources: str, folder: Path, kernel_name: str = "python3") -> list[Output]:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return execute(nbformat.v4.new_notebook(cells=cells), folder, kernel_name)


def assert_no_errors(outputs: list[Output]) -> None:
    failed = {i: [e.ename + ": " + e.evalue for e in o.errors] for i, o in enumerate(outputs)}
    assert not {i: e for i, e in failed.items() if e}
    assert not [i for i, o in enumerate(outputs) if o.failed]


@pytest.fixture(autouse=True)
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Kernels start with this process's environment: keep their files in the test's folder."""
    jupyter = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("APPSHELL_DEMO_DATABASE", str(tmp_path / "demo.sqlite3"))
    return jupyter


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a Flask app (its teardown log beside it)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "nbflask.py").write_text(FLASK_APP)
    return folder


def test_example_notebook_runs(tmp_path: Path) -> None:
    notebook = nbformat.read(EXAMPLE, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert sources == [
        "%load_ext appshell",
        "%appshell --app appshell.demo",
        "Note.count()",
        "%cli routes",
        "%appshell --detach",
    ]
    load, attach, count, routes, detach = execute(notebook, tmp_path)
    assert_no_errors([load, attach, count, routes, detach])
    assert load.stdout.startswith("appshell loaded: attach an app with %appshell --app IMPORT")
    assert "<table>" in attach.html
    assert "<code>Note</code>" in attach.html
    assert count.text == "0"
    assert "notes.detail  GET      /notes/<int:note_id>" in routes.stdout
    assert "detached appshell-demo" in detach.stdout


def test_a_notebook_session(project: Path) -> None:
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app appshell.demo",
        "Note.create('first')\nNote.count()",
        f"%appshell --app {FLASK}",
        "sorted(name for name in ('Note', 'db', 'answer') if name in globals())",
        "from flask import current_app\ncurrent_app.name, answer",
        "import asyncio\nawait asyncio.sleep(0)\ncurrent_app.name",
        "current_app.name",
        "%cli routes",
        "%%appshell_request /hello/x?y=1\n"
        "from flask import request\nrequest.path, request.args['y']",
        "%appshell --detach",
        "from flask import has_app_context\n"
        "has_app_context(), [n for n in ('answer', 'app', 'cli', 'g') if n in globals()]",
        folder=project,
    )
    assert_no_errors(outputs)
    (
        _load,
        demo,
        count,
        attach,
        left,
        names,
        awaited,
        after_await,
        routes,
        request,
        detach,
        gone,
    ) = outputs
    assert "attached appshell-demo" in demo.text
    assert count.text == "1"
    assert "<table>" in attach.html
    assert "attached nbflask" in attach.text
    assert left.text == "['answer']"
    assert names.text == "('nbflask', 42)"
    assert awaited.text == after_await.text == "'nbflask'"
    assert "hello     GET      /hello/<name>" in routes.stdout
    assert request.text == "('/hello/x', '1')"
    assert "detached nbflask" in detach.stdout
    assert gone.text == "(False, [])"
    assert (project / "teardown.log").read_text() == "torn down\n"


def test_a_failed_attach_is_one_line_and_the_kernel_goes_on(project: Path) -> None:
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {FLASK}",
        "%appshell --app nosuch",
        "from flask import current_app\ncurrent_app.name, 1 + 1",
        folder=project,
    )
    assert_no_errors(outputs[:2])
    failed, after = outputs[2:]
    assert len(failed.errors) == 1
    (traceback,) = failed.errors[0].traceback
    assert traceback.startswith("appshell: Could not import 'nosuch'")
    assert not after.errors
    assert after.text == "('nbflask', 2)"


def test_request_cells_that_raise_and_cli_mistakes(project: Path) -> None:
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {FLASK}",
        "%%appshell_request /hello/x\nfrom flask import request\nraise LookupError(request.path)",
        '%cli routes "x',
        "r = cli(123)\nr.exit_code",
        "%cli",
        "from flask import has_request_context\nhas_request_context(), 1 + 1",
        folder=project,
    )
    assert_no_errors(outputs[:2])
    request, unsplit, not_a_line, listing, after = outputs[2:]
    # The cell fails as any cell that raises does: one error, the user's, and a failed run.
    assert request.failed
    assert [(e.ename, e.evalue) for e in request.errors] == [("LookupError", "/hello/x")]
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(request.errors[0].traceback))
    assert "----> 3 raise LookupError(request.path)" in traceback
    assert f"{os.sep}appshell{os.sep}" not in traceback
    assert_no_errors([unsplit, not_a_line, listing, after])
    assert unsplit.stderr.startswith("appshell: cannot split 'routes \"x' into words")
    assert not_a_line.stderr.startswith("appshell: cli() takes a command line as a str")
    assert len(unsplit.stderr.splitlines()) == len(not_a_line.stderr.splitlines()) == 1
    assert not_a_line.text == "2"
    assert listing.stdout.startswith("cli: run a command with cli('name --option value')")
    assert "Usage:" not in listing.stdout
    assert after.text == "(False, 2)"


PROJECT_PROFILE = """
[tool.appshell.profiles.nb]
imports = ["textwrap:dedent"]
"""


def test_kernel_install_starts_notebooks_with_the_app_attached(
    project: Path,
    tmp_path: Path,
    kernel_env: Path,
    run_appshell: t.Callable[..., Result],
) -> None:
    (project / "settings.env").write_text("NB_GREETING=hello from settings.env\n")
    (project / "pyproject.toml").write_text(PROJECT_PROFILE)
    installed = run_appshell(
        "--app", FLASK, "--env-file", "settings.env",
        "kernel", "install", "--name", "appshell-test", "--profile", "nb",
        cwd=project,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    where = kernel_env / "kernels" / "appshell-test"
    assert installed.stdout == (
        f"Installed the kernel 'appshell-test' (appshell: nbflask) in {where}\n"
    )
    spec = json.loads((where / "kernel.json").read_text())
    assert os.path.samefile(spec["argv"][0], sys.executable)
    assert spec["env"] == {
        "APPSHELL_KERNEL_APP": FLASK,
        "APPSHELL_KERNEL_ENV_FILE": str(project / "settings.env"),
        "APPSHELL_KERNEL_PROFILE": "nb",
        "APPSHELL_KERNEL_PROJECT_DIR": str(project),
    }

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (first,) = run_cells(
        "from flask import current_app\nimport os\n"
        "current_app.name, answer, dedent('  x'), os.environ['NB_GREETING'], os.getcwd()",
        folder=notebooks,
        kernel_name="appshell-test",
    )
    assert_no_errors([first])
    assert ast.literal_eval(first.text) == (
        "nbflask", 42, "x", "hello from settings.env", str(notebooks)
    )  # fmt: skip

    listed = run_appshell("kernel", "list", cwd=notebooks)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [
        "appshell-test", "appshell:", "nbflask", f"app={FLASK}", str(where)
    ]  # fmt: skip

    removed = run_appshell("kernel", "remove", "appshell-test", cwd=notebooks)
    assert removed.returncode == 0, removed.stderr
    assert "Removed the kernel 'appshell-test'" in removed.stdout
    assert not where.exists()
    assert "No appshell kernels are installed" in run_appshell("kernel", "list").stdout

    again = run_appshell("kernel", "remove", "appshell-test")
    assert again.returncode == 2
    assert "No appshell kernel called 'appshell-test'" in again.stderr


def assert_same_namespace(
    from_shell: list[dict[str, t.Any]], magic: str, folder: Path
) -> dict[str, dict[str, t.Any]]:
    """Assert that the line ``magic`` in a real kernel gives the names, sources, types and
    overrides ``from_shell`` (a shell's ``--print-context --json``) lists; its records."""
    load, attach, described = run_cells(
        "%load_ext appshell",
        magic,
        "import json\n"
        "from appshell.shell.magics import installed\n"
        "notebook = installed(get_ipython()).notebook\n"
        "print(json.dumps(notebook.attachment.namespace.describe()))",
        folder=folder,
    )
    assert_no_errors([load, attach, described])

    def key(records: list[dict[str, t.Any]]) -> list[tuple[str, str, str, list[str]]]:
        return [(r["name"], r["source"], r["type"], r["overrides"]) for r in records]

    assert key(json.loads(described.stdout)) == key(from_shell)
    return {r["name"]: r for r in from_shell}


SAME_APP = """
from flask import Flask

app = Flask("sameapp")


@app.shell_context_processor
def names():
    return {"answer": 42, "Path": "shadowed by the profile"}
"""

SAME_PROVIDER = """
def provide():
    return {"audit": "the audit log", "answer": 43}
"""

SAME_PYPROJECT = """
[tool.appshell]
app = "sameapp:app"
profile = "team"

[tool.appshell.profiles.team]
imports = ["json", "pathlib:Path"]
"""


def test_the_shell_and_a_notebook_build_the_same_namespace(
    project: Path, run_appshell: t.Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "sameapp.py").write_text(SAME_APP)
    (project / "pyproject.toml").write_text(SAME_PYPROJECT)
    site = project / "site"
    (site / "sameplugin-1.0.dist-info").mkdir(parents=True)
    (site / "sameplugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sameplugin\nVersion: 1.0\n"
    )
    (site / "sameplugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[appshell.shell_context]\nsame = same_provider:provide\n"
    )
    (site / "same_provider.py").write_text(SAME_PROVIDER)
    # The kernel and the command both find the plugin and the app on their path.
    monkeypatch.setenv("PYTHONPATH", f"{site}{os.pathsep}{project}")

    listed = run_appshell(
        "shell", "--print-context", "--json", cwd=project, env={"PYTHONPATH": str(site)}
    )
    assert listed.returncode == 0, listed.stderr
    from_shell = json.loads(listed.stdout)

    records = assert_same_namespace(from_shell, "%appshell", project)
    assert records["answer"]["source"] == "provider:same"
    assert records["answer"]["overrides"] == ["adapter"]
    assert records["Path"]["source"] == "profile:team"
    assert records["audit"]["source"] == "provider:same"


ASGI_APP = RECORDED_ASGI_APP


def test_an_asgi_app_in_a_kernel(project: Path) -> None:
    (project / "nbasgi.py").write_text(ASGI_APP)
    log = project / "lifespan.log"
    outputs = run_cells(
        "%load_ext appshell",
        "%appshell --app nbasgi:app",
        "open('lifespan.log').read()",
        "r = await client.get('/items')\nr.status_code, r.json()",
        "%appshell --detach",
        "open('lifespan.log').read()",
        "import appshell\nawait appshell.attach('nbasgi:app')",
        "(await client.get('/items')).json()",
        f"%appshell --app {FLASK}",
        "open('lifespan.log').read()",
        "from flask import current_app\ncurrent_app.name",
        "current_app.name, answer",
        "%unload_ext appshell",
        "from flask import has_app_context\nhas_app_context()",
        folder=project,
    )
    assert_no_errors(outputs)
    (_load, attach, started, got, detach, stopped, awaited, again, flask, replaced, *rest) = outputs
    name, name_again, _unload, gone = rest
    assert "attached FastAPI" in attach.text
    assert started.text == repr("startup\n")
    assert got.text == "(200, ['opened by the lifespan'])"
    assert "detached FastAPI" in detach.stdout
    assert stopped.text == repr("startup\nshutdown\n")
    assert "attached FastAPI" in awaited.text
    assert again.text == "['opened by the lifespan']"
    assert "attached nbflask" in flask.text
    assert replaced.text == repr("startup\nshutdown\n" * 2)
    assert name.text == "'nbflask'"
    assert name_again.text == "('nbflask', 42)"
    assert gone.text == "False"
    assert log.read_text() == "startup\nshutdown\n" * 2
    assert (project / "teardown.log").read_text() == "torn down\n"


CUSTOM_SCRIPT = """
from flask import Flask

from appshell.cli import AppShellGroup


def create_app():
    app = Flask("managed")

    @app.shell_context_processor
    def names():
        return {"answer": 42}

    return app


cli = AppShellGroup(create_app=create_app)


@cli.shell_context
def models():
    return {"User": "the user model", "answer": 43}


if __name__ == "__main__":
    cli()
"""

CUSTOM_PYPROJECT = """
[tool.appshell]
profile = "team"

[tool.appshell.profiles.team]
imports = ["pathlib:Path"]
startup = ["started = 'the startup code ran'"]
"""


def test_a_notebook_gets_a_custom_groups_providers_and_the_shells_switches(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``%appshell --cli manage:cli --no-startup`` gives the names ``python manage.py shell
    --no-startup`` gives: the group's providers, the profile's imports, no startup code."""
    (project / "manage.py").write_text(CUSTOM_SCRIPT)
    (project / "pyproject.toml").write_text(CUSTOM_PYPROJECT)
    monkeypatch.setenv("PYTHONPATH", str(project))
    listed = subprocess.run(
        [sys.executable, "manage.py", "shell", "--print-context", "--json", "--no-startup"],
        cwd=project,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    from_shell = json.loads(listed.stdout)

    records = assert_same_namespace(from_shell, "%appshell --cli manage:cli --no-startup", project)
    assert (records["User"]["source"], records["answer"]["source"]) == ("provider:models",) * 2
    assert records["Path"]["source"] == "profile:team"
    assert "started" not in records
