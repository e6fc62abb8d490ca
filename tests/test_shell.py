"""The ``shell`` command without a terminal: --print-context, --list-repls, choosing a REPL,
plugin backends, the banner, history files and the errors a user can cause.

A REPL plugin defined here (``recorder``) prints what it was given instead of reading
input, so that which backend ran, its namespace and its banner can be observed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import pty
import re
import stat
import subprocess
import sys
import typing as t
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import appshell
import appshell.cli
from appshell.cli import AppShellGroup
from appshell.shell.backends.base import history_file

APPS = Path(__file__).parent / "apps"
FLASK_APP = str(APPS / "shell_flaskapp.py")
APPSHELL = Path(sys.executable).with_name("appshell")
ANSI = "\x1b["
SOURCE = re.compile(r"(default|adapter|startup|provider:\S+|profile:\S+)")
REPLS = ("IPython", "ptpython", "prompt_toolkit")

MakeDist = t.Callable[..., Path]
RunAppshell = t.Callable[..., t.Any]
Complete = t.Callable[..., list[str]]

RECORDER_MODULE = """\
import json


class RecorderBackend:
    \"\"\"A REPL that prints what it was given instead of reading input.\"\"\"

    name = "recorder"
    install_hint = "pip install recorder-repl"

    def is_available(self):
        return True

    def version(self):
        return "4.2"

    def run(self, namespace, banner, settings):
        record = {"names": sorted(namespace), "banner": banner, "show_banner": settings.banner}
        print("RECORDER " + json.dumps(record))


class MissingBackend:
    name = "missing"
    install_hint = "pip install missing-repl"

    def is_available(self):
        return False

    def version(self):
        return None

    def run(self, namespace, banner, settings):
        raise AssertionError("a REPL that is not installed was run")
"""


@pytest.fixture
def recorder(make_dist: MakeDist) -> Path:
    """The ``recorder`` and ``missing`` REPL plugins; the folder to put on PYTHONPATH."""
    return make_dist(
        "recorder-repl",
        {
            "appshell.repls": {
                "recorder": "recorder_repl:RecorderBackend",
                "missing": "recorder_repl:MissingBackend",
            }
        },
        modules={"recorder_repl.py": RECORDER_MODULE},
    )


def recorded(stdout: str) -> dict[str, t.Any]:
    """What the recorder backend was given, from its output line."""
    lines = [line for line in stdout.splitlines() if line.startswith("RECORDER ")]
    assert len(lines) == 1, stdout
    return t.cast("dict[str, t.Any]", json.loads(lines[0].removeprefix("RECORDER ")))


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The demo app's database in the test's folder (here and for subprocesses)."""
    env = {"APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3")}
    monkeypatch.setenv("APPSHELL_DEMO_DATABASE", env["APPSHELL_DEMO_DATABASE"])
    return env


def block(tmp_path: Path, *modules: str) -> Path:
    """A folder whose sitecustomize.py makes ``modules`` look not installed."""
    folder = tmp_path / ("block-" + "-".join(modules))
    folder.mkdir()
    lines = ["import sys", *(f"sys.modules[{m!r}] = None" for m in modules)]
    (folder / "sitecustomize.py").write_text("\n".join(lines) + "\n")
    return folder


def pythonpath(*folders: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(map(str, folders))}


def table(output: str) -> list[list[str]]:
    """The rows of a table printed with columns two or more spaces apart (header first)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def context_rows(output: str) -> dict[str, list[str]]:
    """--print-context's table: name -> [source, type, overrides] (overrides may be absent)."""
    rows = table(output)
    assert rows[0] == ["Name", "Source", "Type", "Overrides"]
    assert all(set(cell) == {"-"} for cell in rows[1])
    return {row[0]: row[1:] for row in rows[2:]}


def context_json(output: str) -> dict[str, dict[str, t.Any]]:
    records = json.loads(output)
    assert isinstance(records, list)
    for record in records:
        assert set(record) == {"name", "source", "type", "overrides"}
        assert SOURCE.fullmatch(record["source"]), record
    return {r["name"]: r for r in records}


def load_script(name: str) -> t.Any:
    """Import a custom script of tests/apps (the conftest forgets it afterwards)."""
    sys.path.insert(0, str(APPS))
    return importlib.import_module(name)


# -- --print-context ---------------------------------------------------------------------------


def test_print_context_demo_app(run_appshell: RunAppshell, demo_env: dict[str, str]) -> None:
    result = run_appshell("--app", "appshell.demo", "shell", "--print-context", env=demo_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = context_rows(result.stdout)
    assert rows["app"] == ["default", "appshell.demo.app.DemoApp"]
    assert rows["db"] == ["adapter", "sqlite3.Connection"]
    assert rows["Note"] == ["adapter", "class appshell.demo.app.Note"]


def test_print_context_json_demo_app(run_appshell: RunAppshell, demo_env: dict[str, str]) -> None:
    result = run_appshell(
        "--app", "appshell.demo", "shell", "--print-context", "--json", env=demo_env
    )
    assert result.returncode == 0, result.stderr
    records = context_json(result.stdout)
    assert records["app"] == {
        "name": "app",
        "source": "default",
        "type": "appshell.demo.app.DemoApp",
        "overrides": [],
    }
    assert records["db"] == {
        "name": "db",
        "source": "adapter",
        "type": "sqlite3.Connection",
        "overrides": [],
    }
    assert records["Note"]["source"] == "adapter"


def test_print_context_flask_shell_context_processor(runner: CliRunner) -> None:
    result = runner.invoke(
        appshell.cli.cli, ["--app", FLASK_APP, "shell", "--print-context", "--json"]
    )
    assert result.exit_code == 0, result.output
    records = context_json(result.stdout)
    # make_shell_context() returns app and g again, and a processor returns app again: the
    # identical objects are no override, they stay the defaults.
    assert records["app"]["source"] == "default"
    assert records["app"]["overrides"] == []
    assert records["app"]["type"] == "flask.app.Flask"
    assert records["g"]["source"] == "default"
    assert records["g"]["overrides"] == []
    assert records["User"] == {
        "name": "User",
        "source": "adapter",
        "type": "class shell_flaskapp.User",
        "overrides": [],
    }
    assert records["SETTINGS"]["source"] == "adapter"
    assert records["SETTINGS"]["type"] == "dict"


def test_print_context_custom_script_providers(runner: CliRunner) -> None:
    manage = load_script("shell_manage")
    result = runner.invoke(manage.cli, ["shell", "--print-context", "--json"])
    assert result.exit_code == 0, result.output
    records = context_json(result.stdout)
    found = {name: (r["source"], r["overrides"]) for name, r in records.items()}
    assert {name: found.get(name) for name in ("app", "db", "User", "answer")} == {
        "app": ("default", []),
        "db": ("provider:models", ["adapter"]),
        # helpers returns the same User class again: not an override.
        "User": ("provider:models", []),
        "answer": ("provider:helpers", []),
    }
    assert records["db"]["type"] == "shell_manage.ModelsDB"
    assert "audit" not in records


def test_print_context_subgroup_providers_come_after_the_outer_groups(
    runner: CliRunner,
) -> None:
    manage = load_script("shell_manage")
    result = runner.invoke(manage.cli, ["admin", "shell", "--print-context"])
    assert result.exit_code == 0, result.output
    rows = context_rows(result.stdout)
    assert rows["db"] == [
        "provider:admin_names",
        "shell_manage.AdminDB",
        "adapter, provider:models",
    ]
    assert rows["audit"] == ["provider:admin_names", "list"]
    assert rows["answer"] == ["provider:helpers", "int"]


SHELL_CONTEXT_PLUGIN = """\
class Tag:
    pass


class Note:
    pass


def models():
    return {"Tag": Tag, "Note": Note}


def broken():
    raise LookupError("no such table: tag")
"""


def test_print_context_entry_point_providers(
    runner: CliRunner, make_dist: MakeDist, demo_env: dict[str, str]
) -> None:
    make_dist(
        "tags-plugin",
        {"appshell.shell_context": {"tags": "tags_plugin:models"}},
        modules={"tags_plugin.py": SHELL_CONTEXT_PLUGIN},
    )
    result = runner.invoke(
        appshell.cli.cli, ["--app", "appshell.demo", "shell", "--print-context", "--json"]
    )
    assert result.exit_code == 0, result.output
    records = context_json(result.stdout)
    assert records["Tag"]["source"] == "provider:tags"
    assert records["Note"] == {
        "name": "Note",
        "source": "provider:tags",
        "type": "class tags_plugin.Note",
        "overrides": ["adapter"],
    }
    assert records["db"]["source"] == "adapter"


def test_entry_point_providers_come_after_group_providers(
    runner: CliRunner, make_dist: MakeDist, tmp_path: Path
) -> None:
    make_dist(
        "tags-plugin",
        {"appshell.shell_context": {"tags": "tags_plugin:models"}},
        modules={"tags_plugin.py": SHELL_CONTEXT_PLUGIN},
    )
    from appshell.demo import create_app

    group = AppShellGroup(create_app=lambda: create_app(str(tmp_path / "demo.sqlite3")))

    @group.shell_context
    def labels() -> dict[str, t.Any]:
        return {"Tag": "a label"}

    result = runner.invoke(group, ["shell", "--print-context", "--json"])
    assert result.exit_code == 0, result.output
    tag = context_json(result.stdout)["Tag"]
    assert (tag["source"], tag["overrides"]) == ("provider:tags", ["provider:labels"])


def failing_group(tmp_path: Path, returned: object) -> click.Group:
    """A custom script whose provider ``models`` raises or returns ``returned``."""
    from appshell.demo import create_app

    group = AppShellGroup(create_app=lambda: create_app(str(tmp_path / "demo.sqlite3")))

    @group.shell_context(name="models")
    def load_models() -> object:
        if isinstance(returned, Exception):
            raise returned
        return returned

    @group.shell_context
    def helpers() -> dict[str, t.Any]:
        return {"answer": 42}

    return group


def test_raising_provider_is_reported_and_skipped(runner: CliRunner, tmp_path: Path) -> None:
    group = failing_group(tmp_path, LookupError("no such table: user"))
    result = runner.invoke(group, ["shell", "--print-context", "--json"])
    assert result.exit_code == 0, result.output
    assert set(context_json(result.stdout)) >= {"app", "db", "Note", "answer"}
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "provider:models" in lines[0]
    assert "LookupError: no such table: user" in lines[0]


def test_raising_provider_with_strict_exits_1_with_the_users_traceback(
    runner: CliRunner, tmp_path: Path
) -> None:
    group = failing_group(tmp_path, LookupError("no such table: user"))
    result = runner.invoke(group, ["shell", "--print-context", "--strict"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback (most recent call last):" in result.stderr
    assert "in load_models" in result.stderr
    assert result.stderr.rstrip().endswith("LookupError: no such table: user")


def test_raising_entry_point_provider_with_strict_exits_1(
    run_appshell: RunAppshell, make_dist: MakeDist, demo_env: dict[str, str]
) -> None:
    site = make_dist(
        "tags-plugin",
        {"appshell.shell_context": {"tags": "tags_plugin:broken"}},
        modules={"tags_plugin.py": SHELL_CONTEXT_PLUGIN},
    )
    env = {**demo_env, **pythonpath(site)}
    lenient = run_appshell("--app", "appshell.demo", "shell", "--print-context", env=env)
    strict = run_appshell("--app", "appshell.demo", "shell", "--print-context", "--strict", env=env)

    assert lenient.returncode == 0, lenient.stderr
    assert "provider:tags" in lenient.stderr
    assert "LookupError: no such table: tag" in lenient.stderr
    assert set(context_rows(lenient.stdout)) >= {"app", "db", "Note"}
    assert "Tag" not in context_rows(lenient.stdout)

    assert strict.returncode == 1
    assert strict.stdout == ""
    assert "Traceback (most recent call last):" in strict.stderr
    assert 'raise LookupError("no such table: tag")' in strict.stderr
    assert strict.stderr.rstrip().endswith("LookupError: no such table: tag")


def test_strict_still_names_the_failing_provider(
    run_appshell: RunAppshell, make_dist: MakeDist, demo_env: dict[str, str]
) -> None:
    # The traceback shows the function (tags_plugin.broken), not the provider's name: the
    # user must be told which provider it was, as without --strict.
    site = make_dist(
        "tags-plugin",
        {"appshell.shell_context": {"tags": "tags_plugin:broken"}},
        modules={"tags_plugin.py": SHELL_CONTEXT_PLUGIN},
    )
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "--print-context",
        "--strict",
        env={**demo_env, **pythonpath(site)},
    )
    assert result.returncode == 1
    assert "provider:tags" in result.stderr


@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["lenient", "strict"])
def test_provider_returning_a_non_mapping_is_an_error_naming_it(
    runner: CliRunner, tmp_path: Path, strict: list[str]
) -> None:
    group = failing_group(tmp_path, ["User", "Role"])
    result = runner.invoke(group, ["shell", "--print-context", *strict])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert "provider:models" in result.stderr
    assert "'list'" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_without_print_context_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(appshell.cli.cli, ["shell", "--json"])
    assert result.exit_code == 2
    assert "--json" in result.stderr
    assert "--print-context" in result.stderr


# -- --list-repls ------------------------------------------------------------------------------


def repl_rows(output: str) -> dict[str, list[str]]:
    """--list-repls' table: name -> [installed, version, note] (note may be absent)."""
    rows = table(output)
    assert rows[0] == ["REPL", "Installed", "Version"]
    return {row[0]: row[1:] for row in rows[1:]}


def installed(distribution: str) -> str:
    return importlib.metadata.version(distribution)


@pytest.mark.parametrize(
    ("blocked", "autodetected"),
    [((), "ipython"), (("IPython",), "ptpython"), (("IPython", "ptpython"), "python")],
    ids=["all-installed", "no-ipython", "no-ipython-no-ptpython"],
)
def test_list_repls_autodetection(
    run_appshell: RunAppshell,
    tmp_path: Path,
    blocked: tuple[str, ...],
    autodetected: str,
) -> None:
    env = pythonpath(block(tmp_path, *blocked)) if blocked else {}
    # No app is needed to list the REPLs.
    result = run_appshell("shell", "--list-repls", env=env)
    assert result.returncode == 0, result.stderr
    rows = repl_rows(result.stdout)
    assert list(rows) == ["ipython", "ptpython", "python"]
    expected = {
        "ipython": ["yes", installed("ipython")],
        "ptpython": ["yes", installed("ptpython")],
        "python": ["yes", platform.python_version()],
    }
    for module in blocked:
        expected[module.lower()] = ["no", "-", f"pip install 'appshell[{module.lower()}]'"]
    expected[autodetected].append("autodetected")
    assert rows == expected


def test_list_repls_shows_plugin_backends(runner: CliRunner, recorder: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["shell", "--list-repls"])
    assert result.exit_code == 0, result.output
    rows = repl_rows(result.stdout)
    assert list(rows)[:3] == ["ipython", "ptpython", "python"]
    assert rows["ipython"][-1] == "autodetected"
    assert rows["recorder"] == ["yes", "4.2", "plugin: chosen with --repl only"]
    assert rows["missing"] == ["no", "-", "pip install missing-repl"]


@pytest.mark.parametrize(
    "args",
    [
        ["shell", "--list-repls"],
        ["--app", "appshell.demo", "shell", "--print-context"],
        ["--app", "appshell.demo", "shell", "-i", "--repl", "recorder"],
    ],
    ids=["list-repls", "print-context", "plugin-repl"],
)
def test_choosing_and_listing_imports_no_builtin_repl(
    tmp_path: Path, recorder: Path, demo_env: dict[str, str], args: list[str]
) -> None:
    code = (
        "import sys\n"
        "from appshell.cli import cli\n"
        f"cli.main({args!r}, prog_name='appshell', standalone_mode=False)\n"
        f"print('IMPORTED', sorted(m for m in {REPLS!r} if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    env.update(demo_env, **pythonpath(recorder))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "IMPORTED []"


# -- choosing a REPL ---------------------------------------------------------------------------


def test_plugin_backend_runs_with_the_namespace_and_banner(
    run_appshell: RunAppshell, recorder: Path, demo_env: dict[str, str]
) -> None:
    env = {**demo_env, **pythonpath(recorder)}
    result = run_appshell("--app", "appshell.demo", "shell", "-i", "--repl", "recorder", env=env)
    assert result.returncode == 0, result.stderr
    record = recorded(result.stdout)
    assert set(record["names"]) >= {"app", "db", "Note"}
    assert record["show_banner"] is True
    assert "recorder 4.2" in record["banner"]
    assert "App: appshell-demo (appshell.demo)" in record["banner"]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--repl", "recorder"], {"APPSHELL_REPL": "python"}, "recorder"),
        (["--repl", "RECORDER"], {}, "recorder"),
        ([], {"APPSHELL_REPL": "recorder"}, "recorder"),
        (["--repl", "python"], {"APPSHELL_REPL": "recorder"}, "python"),
    ],
    ids=["option-over-env", "option-any-case", "env", "option-python-over-env-plugin"],
)
def test_repl_option_and_environment(
    run_appshell: RunAppshell,
    recorder: Path,
    demo_env: dict[str, str],
    args: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "-i",
        "-q",
        "--no-history",
        *args,
        env={**demo_env, **pythonpath(recorder), **env},
        input="print('python ran', sorted(n for n in dir() if not n.startswith('_')))\n",
    )
    assert result.returncode == 0, result.stderr
    if expected == "recorder":
        assert "python ran" not in result.stdout
        assert recorded(result.stdout)["banner"] == ""
    else:
        assert "RECORDER" not in result.stdout
        assert "python ran" in result.stdout
        assert "'Note'" in result.stdout


@pytest.mark.parametrize("quiet", ["-q", "--quiet"], ids=["short", "long"])
def test_quiet_hides_the_banner(
    run_appshell: RunAppshell, recorder: Path, demo_env: dict[str, str], quiet: str
) -> None:
    env = {**demo_env, **pythonpath(recorder)}
    result = run_appshell(
        "--app", "appshell.demo", "shell", "-i", quiet, "--repl", "recorder", env=env
    )
    assert result.returncode == 0, result.stderr
    record = recorded(result.stdout)
    assert record["banner"] == ""
    assert record["show_banner"] is False
    assert set(record["names"]) >= {"app", "db", "Note"}


def run_on_terminal(
    args: list[str], cwd: Path, env: dict[str, str], *, terminal: bool
) -> tuple[int, str]:
    """Run appshell with stdout and stderr on a pseudo-terminal (or pipes); (exit code,
    stdout and stderr)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("APPSHELL_", "FLASK_"))}
    full_env.pop("NO_COLOR", None)
    full_env.update(env)
    if not terminal:
        proc = subprocess.run(
            [str(APPSHELL), *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return proc.returncode, proc.stdout + proc.stderr
    primary, secondary = pty.openpty()
    with subprocess.Popen(
        [str(APPSHELL), *args],
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    ) as proc:
        os.close(secondary)
        chunks = []
        while True:
            try:
                data = os.read(primary, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(primary)
        returncode = proc.wait(timeout=60)
    return returncode, b"".join(chunks).decode()


@pytest.mark.parametrize(
    ("terminal", "env", "colored"),
    [
        (True, {}, True),
        (True, {"NO_COLOR": "1"}, False),
        (False, {}, False),
    ],
    ids=["terminal", "terminal-NO_COLOR", "pipe"],
)
def test_banner_color_only_on_a_terminal_without_no_color(
    tmp_path: Path,
    recorder: Path,
    demo_env: dict[str, str],
    terminal: bool,
    env: dict[str, str],
    colored: bool,
) -> None:
    code, output = run_on_terminal(
        ["--app", "appshell.demo", "shell", "-i", "--repl", "recorder"],
        tmp_path,
        {**demo_env, **pythonpath(recorder), **env},
        terminal=terminal,
    )
    assert code == 0
    banner = recorded(output)["banner"]
    assert "App: " in banner
    assert (ANSI in banner) is colored


@pytest.mark.parametrize(
    ("terminal", "env", "colored"),
    [
        (True, {}, True),
        (True, {"NO_COLOR": "1"}, False),
        (False, {}, False),
    ],
    ids=["terminal", "terminal-NO_COLOR", "pipe"],
)
def test_provider_warning_color_only_on_a_terminal_without_no_color(
    tmp_path: Path,
    make_dist: MakeDist,
    demo_env: dict[str, str],
    terminal: bool,
    env: dict[str, str],
    colored: bool,
) -> None:
    site = make_dist(
        "tags-plugin",
        {"appshell.shell_context": {"tags": "tags_plugin:broken"}},
        modules={"tags_plugin.py": SHELL_CONTEXT_PLUGIN},
    )
    code, output = run_on_terminal(
        ["--app", "appshell.demo", "shell", "--print-context"],
        tmp_path,
        {**demo_env, **pythonpath(site), **env},
        terminal=terminal,
    )
    assert code == 0
    assert "provider:tags raised LookupError" in output
    assert (ANSI in output) is colored


# -- history -----------------------------------------------------------------------------------


def state_home() -> Path:
    return Path(os.environ["XDG_STATE_HOME"])


@pytest.mark.parametrize("name", ["python_history", "ptpython_history"], ids=["python", "ptpython"])
def test_history_file_is_created_private(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = history_file(name)
    assert path == state_home() / "appshell" / name
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert capsys.readouterr().err == ""


def test_history_file_keeps_existing_history() -> None:
    folder = state_home() / "appshell"
    folder.mkdir(parents=True)
    (folder / "python_history").write_text("print('earlier')\n")
    path = history_file("python_history")
    assert path is not None
    assert path.read_text() == "print('earlier')\n"


def unwritable_state_home(tmp_path: Path) -> Path:
    # Tests run as root, so chmod cannot make a folder unwritable: a file in the way can.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return blocker / "state"


def test_history_file_not_writable_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(unwritable_state_home(tmp_path)))
    assert history_file("python_history") is None
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("appshell: history is off")
    assert str(unwritable_state_home(tmp_path) / "appshell" / "python_history") in lines[0]


@pytest.mark.parametrize(
    ("options", "writable", "created"),
    [([], True, True), (["--no-history"], True, False), ([], False, False)],
    ids=["history", "no-history", "not-writable"],
)
def test_python_repl_history(
    run_appshell: RunAppshell,
    tmp_path: Path,
    demo_env: dict[str, str],
    options: list[str],
    writable: bool,
    created: bool,
) -> None:
    state = state_home() if writable else unwritable_state_home(tmp_path)
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "-i",
        "--repl",
        "python",
        "-q",
        *options,
        env={**demo_env, "XDG_STATE_HOME": str(state)},
        input="print('answer', 6 * 7)\n",
    )
    assert result.returncode == 0, result.stderr
    assert "answer 42" in result.stdout
    history = state_home() / "appshell" / "python_history"
    assert history.is_file() is created
    if created:
        assert stat.S_IMODE(history.stat().st_mode) == 0o600
    # The stdlib console ends with a newline on stderr at end of input.
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    if writable:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert warnings[0].startswith("appshell: history is off")


# -- what a user can get wrong -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--repl", "nosuch"], {}), ([], {"APPSHELL_REPL": "nosuch"})],
    ids=["option", "environment"],
)
def test_unknown_repl(
    run_appshell: RunAppshell,
    recorder: Path,
    demo_env: dict[str, str],
    args: list[str],
    env: dict[str, str],
) -> None:
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "-i",
        *args,
        env={**demo_env, **pythonpath(recorder), **env},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'nosuch'" in result.stderr
    for known in ("ipython", "ptpython", "python", "recorder"):
        assert known in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("repl", "blocked", "hint"),
    [
        ("ptpython", ("ptpython",), "pip install 'appshell[ptpython]'"),
        ("ipython", ("IPython",), "pip install 'appshell[ipython]'"),
        ("missing", (), "pip install missing-repl"),
    ],
    ids=["ptpython", "ipython", "plugin"],
)
def test_repl_not_installed_is_not_replaced(
    run_appshell: RunAppshell,
    tmp_path: Path,
    recorder: Path,
    demo_env: dict[str, str],
    repl: str,
    blocked: tuple[str, ...],
    hint: str,
) -> None:
    folders = [block(tmp_path, *blocked)] if blocked else []
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "-i",
        "--repl",
        repl,
        env={**demo_env, **pythonpath(*folders, recorder)},
        input="print('some REPL ran')\n",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{repl!r}" in result.stderr
    assert hint in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [["shell"], ["shell", "--print-context"], ["shell", "-i", "--repl", "python"]],
    ids=["shell", "print-context", "repl-python"],
)
def test_no_app_configured(run_appshell: RunAppshell, args: list[str]) -> None:
    result = run_appshell(*args, input="print('a REPL ran')\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--app" in result.stderr
    assert "APPSHELL_APP" in result.stderr
    assert "Traceback" not in result.stderr


def test_what_to_run_is_never_read_from_the_environment(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    # -c, -i, --echo and --ipython are not options a stray variable may set.
    env = {
        **demo_env,
        "APPSHELL_SHELL_COMMAND": "print('ran from the environment')",
        "APPSHELL_SHELL_ECHO": "1",
    }
    result = run_appshell(
        "--app", "appshell.demo", "shell", env=env, input="print('ran from stdin')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran from stdin\n"


def test_json_is_settable_as_its_option_is_named(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    env = {**demo_env, "APPSHELL_SHELL_JSON": "1"}
    result = run_appshell("--app", "appshell.demo", "shell", "--print-context", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["name"] == "app"
    routes = run_appshell(
        "--app", "appshell.demo", "routes", env={**env, "APPSHELL_ROUTES_JSON": "1"}
    )
    assert json.loads(routes.stdout)[0]["rule"]


def test_stdlib_repl_tracebacks_start_at_the_users_code(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    source = "1/0\nimport asyncio\nasync def f():\n    raise ValueError(3)\n\nawait f()\n"
    result = run_appshell(
        "--app",
        "appshell.demo",
        "shell",
        "-i",
        "-q",
        "--repl",
        "python",
        "--no-history",
        env=demo_env,
        input=source,
    )
    assert result.returncode == 0
    tracebacks = result.stderr.split("Traceback (most recent call last):\n")[1:]
    assert len(tracebacks) == 2
    assert tracebacks[0].startswith('  File "<console>", line 1, in <module>\n')
    assert tracebacks[1].startswith('  File "<console>", line 1, in <module>\n')
    assert "appshell" + os.sep not in result.stderr
    assert "asyncio" not in result.stderr


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("appshell shell --repl ", {"ipython", "ptpython", "python"}),
        ("appshell shell --repl pt", {"ptpython"}),
        ("appshell shell --profile ", {"default", "minimal", "data", "dev"}),
        ("appshell shell --profile d", {"default", "data", "dev"}),
    ],
    ids=["repls", "repl-prefix", "profiles", "profile-prefix"],
)
def test_shell_options_complete_their_values(
    complete: Complete, words: str, expected: set[str]
) -> None:
    assert {line.split(",", 1)[1] for line in complete(words)} == expected
