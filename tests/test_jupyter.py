"""The IPython extension in an in-process IPython shell: ``%load_ext appshell``, ``%appshell``
(attach, status, --detach), ``%cli``, ``%%appshell_request`` and ``%unload_ext appshell``.

Real kernels and notebooks are in ``tests/e2e/test_notebook.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

import appshell

from .conftest import RECORDED_ASGI_APP, _clean_environ

if t.TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

FLASK_APP = """
import os
from flask import Flask

TEARDOWN_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "teardown.log")


def create_app():
    app = Flask("jupyter_flaskapp")

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

FLASK = "jupyter_flaskapp:create_app"
DEMO_NAMES = {"app", "cli", "client", "db", "Note"}
FLASK_NAMES = {"answer", "app", "cli", "client", "g"}
LOAD_HINT = (
    "appshell loaded: attach an app with %appshell --app IMPORT (or just %appshell to use"
    " APPSHELL_APP, .env or pyproject.toml)."
)


@pytest.fixture(scope="session")
def _ipython(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[InteractiveShell]:
    from IPython.core.async_helpers import get_asyncio_loop
    from IPython.core.interactiveshell import InteractiveShell

    # A singleton: another test may have made one (a TerminalInteractiveShell is one too).
    if InteractiveShell.initialized():
        yield InteractiveShell.instance()
        return
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    folder = tmp_path_factory.mktemp("ipython")
    yield InteractiveShell.instance(config=config, ipython_dir=str(folder))
    # The loop that ran cells with top-level await; IPython makes a new one if needed.
    get_asyncio_loop().close()


@pytest.fixture
def shell(_ipython: InteractiveShell) -> t.Iterator[InteractiveShell]:
    """The in-process IPython shell; the extension unloaded and the test's names gone after."""
    before = set(_ipython.user_ns)
    yield _ipython
    if "appshell" in _ipython.extension_manager.loaded:
        _ipython.run_line_magic("unload_ext", "appshell")
    appshell.unload_ipython_extension(_ipython)  # for a test that loaded it without %load_ext
    for name in set(_ipython.user_ns) - before:
        del _ipython.user_ns[name]


@pytest.fixture
def loaded(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> InteractiveShell:
    ok(shell, "%load_ext appshell")
    capsys.readouterr()
    return shell


@pytest.fixture
def flask_app(tmp_path: Path) -> Path:
    """A Flask app in the test's folder (the current one); returns its teardown log."""
    (tmp_path / "jupyter_flaskapp.py").write_text(FLASK_APP)
    return tmp_path / "teardown.log"


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "demo.sqlite3"
    monkeypatch.setenv("APPSHELL_DEMO_DATABASE", str(db))
    return db


def run(shell: InteractiveShell, source: str) -> ExecutionResult:
    """Run a cell as a notebook does (in the history, so that magics see it)."""
    return shell.run_cell(source, store_history=True)


def ok(shell: InteractiveShell, source: str) -> t.Any:
    """Run a cell that must succeed; its value."""
    result = run(shell, source)
    assert result.success, result.error_before_exec or result.error_in_exec
    return result.result


def failed(shell: InteractiveShell, source: str) -> BaseException:
    """Run a cell that must fail; the exception it raised."""
    result = run(shell, source)
    assert not result.success, f"{source!r} did not fail"
    error = result.error_in_exec or result.error_before_exec
    assert error is not None
    return error


def shown(error: BaseException) -> list[str]:
    """The lines IPython shows for an exception that renders its own traceback."""
    render = getattr(error, "_render_traceback_", None)
    assert render is not None, f"IPython would show a full traceback for {error!r}"
    return t.cast("list[str]", render())


def completions(shell: InteractiveShell, line: str) -> set[str]:
    """What Tab offers at the end of ``line``."""
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        return {c.text for c in shell.Completer.completions(line, len(line))}


def summary_rows(summary: object) -> dict[str, list[str]]:
    """The text summary: name -> [source, type], from the lines after the title."""
    lines = repr(summary).splitlines()[1:]
    return {line.split()[0]: line.split()[1:] for line in lines}


# -- the package and loading ------------------------------------------------------------------

LIGHT_IMPORT = """\
import sys
import appshell
appshell.load_ipython_extension, appshell.unload_ipython_extension
heavy = ("IPython", "ipykernel", "jupyter_client", "jupyter_core", "traitlets", "nbformat")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m == "appshell.jupyter"))
"""


def test_import_appshell_does_not_import_ipython_or_jupyter(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LIGHT_IMPORT],
        cwd=tmp_path,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_package_hooks_load_and_unload_the_magics(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.magics
    appshell.load_ipython_extension(shell)
    assert {"appshell", "cli"} <= set(magics["line"])
    assert "appshell_request" in magics["cell"]
    appshell.unload_ipython_extension(shell)
    assert not {"appshell", "cli"} & set(magics["line"])
    assert "appshell_request" not in magics["cell"]


def test_load_ext_prints_how_to_attach(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(shell, "%load_ext appshell")
    out, err = capsys.readouterr()
    assert out.splitlines() == [LOAD_HINT]
    assert err == ""


def test_unload_ext_detaches_and_removes_the_magics(
    loaded: InteractiveShell, flask_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    ok(loaded, "%unload_ext appshell")
    magics = loaded.magics_manager.magics
    assert "appshell" not in magics["line"]
    assert "cli" not in magics["line"]
    assert "appshell_request" not in magics["cell"]
    assert flask_app.read_text() == "torn down\n"
    assert not FLASK_NAMES & set(loaded.user_ns)
    assert ok(loaded, "from flask import has_app_context\nhas_app_context()") is False
    assert "routes" not in completions(loaded, "%cli ro")
    # Symmetric: loading again works as the first time.
    capsys.readouterr()
    ok(loaded, "%load_ext appshell")
    assert capsys.readouterr().out.splitlines() == [LOAD_HINT]


# -- attaching ----------------------------------------------------------------------------------


def test_attach_injects_the_shell_names_and_keeps_the_context_for_later_cells(
    loaded: InteractiveShell, demo_db: Path
) -> None:
    summary = ok(loaded, "%appshell --app appshell.demo")
    assert set(loaded.user_ns) >= DEMO_NAMES
    assert type(loaded.user_ns["cli"]).__name__ == "CommandRunner"
    ok(loaded, "Note.create('from a cell')")
    assert ok(loaded, "Note.count()") == 1
    assert repr(summary).splitlines()[0] == (
        "appshell: attached appshell-demo (appshell.demo); its app context stays pushed."
        " 5 names added:"
    )
    assert summary_rows(summary) == {
        "app": ["default", "appshell.demo.app.DemoApp"],
        "cli": ["default", "appshell.shell.runner.CommandRunner"],
        "client": ["default", "appshell.clients.LazyClient"],
        "db": ["adapter", "sqlite3.Connection"],
        "Note": ["adapter", "class", "appshell.demo.app.Note"],
    }


def test_summary_is_a_table_in_jupyter_and_text_in_a_terminal(
    loaded: InteractiveShell, demo_db: Path
) -> None:
    summary = ok(loaded, "%appshell --app appshell.demo")
    data, _ = loaded.display_formatter.format(summary)
    html = data["text/html"]
    assert "<table>" in html
    assert "<th>name</th><th>source</th><th>type</th>" in html
    for name in DEMO_NAMES:
        assert f"<code>{name}</code>" in html
    assert data["text/plain"] == repr(summary)
    assert "<" not in data["text/plain"]


@pytest.mark.parametrize(
    ("setup", "line"),
    [
        ({"app.env": f"APPSHELL_APP={FLASK}\n"}, "%appshell --env-file app.env"),
        ({".env": f"APPSHELL_APP={FLASK}\n"}, "%appshell"),
        ({"pyproject.toml": f'[tool.appshell]\napp = "{FLASK}"\n'}, "%appshell"),
        ({".env": f"QUART_APP={FLASK}\n"}, "%appshell"),
    ],
    ids=["env-file", "dotenv", "pyproject", "a-frameworks-own-variable"],
)
def test_attach_without_app_uses_the_command_lines_discovery(
    loaded: InteractiveShell,
    flask_app: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: dict[str, str],
    line: str,
) -> None:
    # Env files set os.environ: make monkeypatch remove what they set after the test.
    for variable in ("APPSHELL_APP", "QUART_APP"):
        monkeypatch.setenv(variable, "unset")
        monkeypatch.delenv(variable)
    for name, text in setup.items():
        (tmp_path / name).write_text(text)
    ok(loaded, line)
    assert ok(loaded, "from flask import current_app\ncurrent_app.name") == "jupyter_flaskapp"
    assert loaded.user_ns["answer"] == 42


def test_attach_with_a_profile_adds_its_imports(loaded: InteractiveShell, flask_app: Path) -> None:
    summary = ok(loaded, f"%appshell --app {FLASK} --profile data")
    assert summary_rows(summary)["Path"] == ["profile:data", "class", "pathlib.Path"]
    assert ok(loaded, "Path.__module__") == "pathlib"


def test_status_shows_what_is_attached(loaded: InteractiveShell, flask_app: Path) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    status = ok(loaded, "%appshell")
    assert repr(status).splitlines()[0] == (f"appshell: jupyter_flaskapp ({FLASK}) is attached.")
    assert set(summary_rows(status)) == FLASK_NAMES
    assert not flask_app.exists()  # status is not a new attach


def test_kernel_environment_attaches_on_load(
    shell: InteractiveShell,
    flask_app: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("APPSHELL_KERNEL_APP", FLASK)
    monkeypatch.setenv("APPSHELL_KERNEL_PROJECT_DIR", str(tmp_path))
    ok(shell, "%load_ext appshell")
    assert capsys.readouterr().out.splitlines() == [
        f"appshell: attached jupyter_flaskapp ({FLASK}); its app context stays pushed."
        " 5 names added:"
    ]
    assert ok(shell, "from flask import current_app\ncurrent_app.name") == "jupyter_flaskapp"
    assert os.getcwd() == str(elsewhere)


# -- detaching ----------------------------------------------------------------------------------


def test_detach_removes_the_injected_names_but_not_the_users(
    loaded: InteractiveShell, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(loaded, "%appshell --app appshell.demo")
    ok(loaded, "app = 'mine'")
    capsys.readouterr()
    assert ok(loaded, "%appshell --detach") is None  # printed, not an Out[] value
    assert capsys.readouterr().out == (
        "appshell: detached appshell-demo; its app context is popped and 4 names removed.\n"
    )
    assert not {"cli", "db", "Note"} & set(loaded.user_ns)
    assert loaded.user_ns["app"] == "mine"
    error = failed(loaded, "from appshell.demo import current_app\ncurrent_app()")
    assert isinstance(error, RuntimeError)


def test_detach_runs_the_apps_teardown(loaded: InteractiveShell, flask_app: Path) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    ok(loaded, "1 + 1")
    assert not flask_app.exists()
    ok(loaded, "%appshell --detach")
    assert flask_app.read_text() == "torn down\n"
    assert ok(loaded, "from flask import has_app_context\nhas_app_context()") is False


def test_detach_with_nothing_attached_says_so(
    loaded: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert ok(loaded, "%appshell --detach") is None
    assert capsys.readouterr().out == "appshell: no app attached.\n"


def test_attaching_a_second_app_detaches_the_first(
    loaded: InteractiveShell, flask_app: Path, demo_db: Path
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    ok(loaded, "%appshell --app appshell.demo")
    assert flask_app.read_text() == "torn down\n"
    assert "answer" not in loaded.user_ns
    assert "g" not in loaded.user_ns
    assert set(loaded.user_ns) >= DEMO_NAMES
    assert ok(loaded, "from flask import has_app_context\nhas_app_context()") is False
    assert ok(loaded, "Note.count()") == 0


def test_failed_attach_keeps_the_attached_app(
    loaded: InteractiveShell, flask_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    capsys.readouterr()
    error = failed(loaded, "%appshell --app nosuch")
    lines = shown(error)
    assert len(lines) == 1
    assert "'nosuch'" in lines[0]
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert lines[0] in out
    assert not flask_app.exists()
    assert loaded.user_ns["answer"] == 42
    assert ok(loaded, "from flask import current_app\ncurrent_app.name") == "jupyter_flaskapp"


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%appshell --bogus", "appshell: No such option '--bogus'."),
        ("%appshell --app 'unclosed", "Could not read the arguments"),
        ("%appshell --app appshell.demo --env-file missing.env", "'missing.env' does not exist"),
        ("%appshell --app appshell.demo --profile nosuchprofile", "'nosuchprofile'"),
        ("%appshell --app nosuch", "Could not import 'nosuch'"),
        ("%appshell --cli json:dumps", "'json:dumps' is not an AppGroup"),
        ("%cli routes", "No app attached"),
        ("%%appshell_request /\n1", "No app attached"),
    ],
    ids=[
        "bad-option",
        "bad-quoting",
        "missing-env-file",
        "missing-profile",
        "no-app",
        "not-a-group",
        "cli",
        "request",
    ],
)
def test_magic_errors_are_one_line_and_the_shell_stays_usable(
    loaded: InteractiveShell,
    demo_db: Path,
    capsys: pytest.CaptureFixture[str],
    cell: str,
    message: str,
) -> None:
    error = failed(loaded, cell)
    lines = shown(error)
    assert len(lines) == 1
    assert lines[0].startswith("appshell: ")
    assert message in lines[0]
    assert "Traceback" not in capsys.readouterr().out
    assert ok(loaded, "1 + 1") == 2


BROKEN_APP = """
from flask import Flask

app = Flask(__name__)
settings = {}
port = settings["PORT"]
"""


def test_an_error_in_the_apps_code_shows_the_users_traceback_not_appshells(
    loaded: InteractiveShell, tmp_path: Path
) -> None:
    (tmp_path / "jupyter_brokenapp.py").write_text(BROKEN_APP)
    lines = "\n".join(shown(failed(loaded, "%appshell --app jupyter_brokenapp")))
    assert 'jupyter_brokenapp.py", line 6' in lines
    assert "KeyError: 'PORT'" in lines
    assert f"{os.sep}appshell{os.sep}" not in lines
    assert ok(loaded, "1 + 1") == 2


# -- %cli and %%appshell_request ----------------------------------------------------------------


def test_cli_runs_a_command_against_the_attached_app(
    loaded: InteractiveShell, flask_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    capsys.readouterr()
    ok(loaded, "%cli routes")
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["Endpoint", "Methods", "Rule"]
    assert ["hello", "GET", "/hello/<name>"] in rows


@pytest.mark.parametrize(
    ("line", "expected"),
    [("%cli ro", {"routes"}), ("%cli ", {"kernel", "profiles", "routes", "run"})],
    ids=["prefix", "empty"],
)
def test_cli_completes_command_names(
    loaded: InteractiveShell, flask_app: Path, line: str, expected: set[str]
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    found = completions(loaded, line)
    assert expected <= found
    assert "hello" not in found  # an endpoint, not a command


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ('%cli routes "x', "appshell: cannot split 'routes \"x' into words"),
        ("result = cli('routes \"x')", "appshell: cannot split 'routes \"x' into words"),
        ("result = cli(123)", "appshell: cli() takes a command line as a str"),
    ],
    ids=["magic-unclosed-quote", "call-unclosed-quote", "call-int"],
)
def test_cli_mistakes_are_one_line_and_exit_code_2(
    loaded: InteractiveShell,
    flask_app: Path,
    capsys: pytest.CaptureFixture[str],
    cell: str,
    message: str,
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    capsys.readouterr()
    ok(loaded, cell)
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(message)
    if cell.startswith("result = "):
        assert loaded.user_ns["result"].exit_code == 2


def test_cli_alone_lists_the_commands(
    loaded: InteractiveShell, flask_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    capsys.readouterr()
    assert ok(loaded, "%cli") is None
    out = capsys.readouterr().out
    assert out == repr(loaded.user_ns["cli"]) + "\n"
    assert out.startswith("cli: run a command with cli('name --option value')")
    assert "Usage:" not in out


def test_one_magics_instance_per_shell_and_unload_removes_it(loaded: InteractiveShell) -> None:
    from appshell.shell.magics import AppShellMagics

    registry = loaded.magics_manager.registry
    first = registry["AppShellMagics"]
    assert isinstance(first, AppShellMagics)
    appshell.load_ipython_extension(loaded)  # again: nothing new
    assert registry["AppShellMagics"] is first
    assert loaded.magics_manager.magics["line"]["cli"] == first.cli
    ok(loaded, "%unload_ext appshell")
    assert "AppShellMagics" not in registry
    assert "%cli" not in loaded.strdispatchers["complete_command"].strs


def test_the_extension_in_appshells_ipython_shell_puts_its_cli_back(
    shell: InteractiveShell, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from appshell.cli import AppShellGroup
    from appshell.scriptinfo import ScriptInfo
    from appshell.shell.runner import CommandRunner

    # As `appshell shell --repl ipython` gives its shell %cli.
    info = ScriptInfo(app_import_path="appshell.demo")
    own = CommandRunner(AppShellGroup(name="appshell"), info)
    own.register_ipython_magic(shell)
    try:
        ok(shell, "%load_ext appshell")
        capsys.readouterr()
        ok(shell, "%cli")  # no app attached: the shell's own runner
        assert capsys.readouterr().out == repr(own) + "\n"
        ok(shell, "%unload_ext appshell")
        assert "appshell" not in shell.magics_manager.magics["line"]
        ok(shell, "%cli")
        assert capsys.readouterr().out == repr(own) + "\n"
        assert "routes" in completions(shell, "%cli ro")
    finally:
        from appshell.shell.magics import installed, uninstall

        found = installed(shell)
        if found is not None:
            uninstall(shell, found)
    assert "cli" not in shell.magics_manager.magics["line"]


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            "def fail():\n    1 / 0\nfail()",
            # Numbered as the notebook numbers the lines (the magic's is line 1).
            ["----> 3     1 / 0", "ZeroDivisionError: division by zero"],
        ),
        ("x = (", ["x = (", "SyntaxError: incomplete input"]),
    ],
    ids=["raises", "syntax-error"],
)
def test_a_request_cell_that_raises_fails_as_any_cell_does(
    loaded: InteractiveShell,
    flask_app: Path,
    capsys: pytest.CaptureFixture[str],
    body: str,
    shown: list[str],
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    capsys.readouterr()
    failed(loaded, f"%%appshell_request /hello/x\n{body}")
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    for line in shown:
        assert out.count(line) == 1, out  # shown once: not by the body and again by the cell
    assert f"{os.sep}IPython{os.sep}" not in out
    assert f"{os.sep}appshell{os.sep}" not in out
    after = "from flask import has_app_context, has_request_context\n"
    assert ok(loaded, after + "has_request_context(), has_app_context()") == (False, True)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/hello/x?y=1", ("/hello/x", {"y": "1"})), ("", ("/", {}))],
    ids=["path-and-query", "default-path"],
)
def test_appshell_request_runs_the_cell_in_a_test_request(
    loaded: InteractiveShell,
    flask_app: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    expected: tuple[str, dict[str, str]],
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    capsys.readouterr()
    cell = f"%%appshell_request {path}\nfrom flask import request\nrequest.path, dict(request.args)"
    ok(loaded, cell)
    assert repr(expected) in capsys.readouterr().out
    after = "from flask import has_app_context, has_request_context\n"
    assert ok(loaded, after + "has_request_context(), has_app_context()") == (False, True)


# -- top-level await ----------------------------------------------------------------------------


def test_cells_with_await_see_the_attached_app(
    loaded: InteractiveShell, flask_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(loaded, f"%appshell --app {FLASK}")
    ok(loaded, "from flask import current_app\nimport asyncio")
    capsys.readouterr()
    assert ok(loaded, "await asyncio.sleep(0)\ncurrent_app.name") == "jupyter_flaskapp"
    assert ok(loaded, "current_app.name") == "jupyter_flaskapp"
    assert capsys.readouterr().err == ""


def test_an_app_attached_in_a_cell_with_await_stays_for_the_next_cells(
    loaded: InteractiveShell, flask_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(
        loaded,
        textwrap.dedent(f"""\
        import asyncio
        await asyncio.sleep(0)
        %appshell --app {FLASK}
    """),
    )
    # Pushed in the session's context, where every later cell runs: nothing was lost.
    ok(loaded, "from flask import current_app, has_app_context")
    assert ok(loaded, "current_app.name") == "jupyter_flaskapp"
    assert ok(loaded, "await asyncio.sleep(0)\ncurrent_app.name") == "jupyter_flaskapp"
    ok(loaded, "%appshell --detach")
    assert ok(loaded, "has_app_context()") is False
    assert capsys.readouterr().err == ""


def test_cli_completion_offers_real_names_that_start_with_the_prefix(
    loaded: InteractiveShell, demo_db: Path
) -> None:
    ok(loaded, "%appshell --app appshell.demo")
    runner = loaded.user_ns["cli"]
    # The names %cli accepts (init-db, not init_db), filtered by the word being typed.
    assert runner.complete_line("%cli ") == [
        "init-db",
        "kernel",
        "profiles",
        "routes",
        "run",
        "seed",
    ]
    assert runner.complete_line("%cli in") == ["init-db"]
    assert runner.complete_line("%cli routes ") == []
    ok(loaded, "%appshell --detach")


def test_attach_uses_the_projects_profile(
    loaded: InteractiveShell, demo_db: Path, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.appshell]\nprofile = "team"\n\n'
        '[tool.appshell.profiles.team]\nimports = ["collections:Counter"]\n'
    )
    ok(loaded, "%appshell --app appshell.demo")
    try:
        assert loaded.user_ns["Counter"].__name__ == "Counter"
    finally:
        ok(loaded, "%appshell --detach")
    assert "Counter" not in loaded.user_ns


ASGI_APP = RECORDED_ASGI_APP


ACTIVE_APPS = "from appshell.adapters import _active_apps\nlist(_active_apps.get())"


@pytest.fixture
def asgi_app(tmp_path: Path) -> Path:
    """A FastAPI app whose lifespan records startup/shutdown; returns its log."""
    (tmp_path / "jupyter_asgiapp.py").write_text(ASGI_APP)
    return tmp_path / "lifespan.log"


def test_an_asgi_app_attaches_and_detaches_by_awaiting(
    loaded: InteractiveShell, asgi_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = ok(loaded, "%appshell --app jupyter_asgiapp:app")
    assert "attached FastAPI" in repr(summary) or "attached" in repr(summary)
    assert asgi_app.read_text() == "startup\n"
    response = ok(loaded, "r = await client.get('/items')\nr.json()")
    assert response == ["opened by the lifespan"]
    assert ok(loaded, "state['items']") == ["opened by the lifespan"]
    ok(loaded, "%appshell --detach")
    assert asgi_app.read_text() == "startup\nshutdown\n"
    assert "client" not in loaded.user_ns
    assert "appshell: detached FastAPI; " in capsys.readouterr().out
    # What the awaited attach carried into the shell's context is gone before the next cell.
    assert ok(loaded, ACTIVE_APPS) == []


def test_unload_runs_an_asgi_apps_shutdown(loaded: InteractiveShell, asgi_app: Path) -> None:
    ok(loaded, "%appshell --app jupyter_asgiapp:app")
    ok(loaded, "%unload_ext appshell")
    assert asgi_app.read_text() == "startup\nshutdown\n"
    assert "appshell" not in loaded.extension_manager.loaded
    assert ok(loaded, ACTIVE_APPS) == []
    assert _transformer(loaded) is None


def _transformer(shell: InteractiveShell) -> t.Any:
    return next(
        (f for f in shell.input_transformers_cleanup if type(f).__name__ == "AwaitTransformer"),
        None,
    )


def test_await_attach_in_code_and_a_flask_app_after_it(
    loaded: InteractiveShell, asgi_app: Path, flask_app: Path
) -> None:
    ok(loaded, "import appshell\nawait appshell.attach('jupyter_asgiapp:app')")
    assert asgi_app.read_text() == "startup\n"
    # Replacing it with a Flask app: the shutdown runs, the Flask context stays pushed.
    ok(loaded, f"%appshell --app {FLASK}")
    assert asgi_app.read_text() == "startup\nshutdown\n"
    assert ok(loaded, "from flask import current_app\ncurrent_app.name") == "jupyter_flaskapp"
    assert ok(loaded, "current_app.name") == "jupyter_flaskapp"
    ok(loaded, "await appshell.detach()")
    assert ok(loaded, "from flask import has_app_context\nhas_app_context()") is False
    assert flask_app.read_text() == "torn down\n"


def test_the_transformer_leaves_lines_it_cannot_judge_to_the_magic(
    loaded: InteractiveShell,
) -> None:
    transformer = _transformer(loaded)
    lines = ["%appshell --app nosuch_module_x\n", '%appshell --app "x\n', "%appshell\n"]
    assert transformer(lines) == lines
    result = run(loaded, "%appshell --app nosuch_module_x")
    assert isinstance(result.error_in_exec, Exception)


def test_no_lifespan_and_no_startup_mean_what_they_mean_to_the_shell(
    loaded: InteractiveShell, asgi_app: Path, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.appshell.profiles.team]\nstartup = [\"started = 'the startup code ran'\"]\n"
    )
    summary = ok(loaded, "%appshell --app jupyter_asgiapp:app --profile team --no-lifespan")
    assert not asgi_app.exists()  # the lifespan's startup never ran
    assert summary_rows(summary)["started"][0] == "startup"
    ok(loaded, "%appshell --detach")
    assert not asgi_app.exists()  # nor its shutdown
    summary = ok(loaded, "%appshell --app jupyter_asgiapp:app --profile team --no-startup")
    assert asgi_app.read_text() == "startup\n"
    assert "started" not in summary_rows(summary)
    ok(loaded, "%appshell --detach")
