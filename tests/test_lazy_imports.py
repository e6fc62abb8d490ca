"""A profile's whole-module imports are made the first time their name is used, once.

``heavymod`` (written by each test) stands for pandas: it appends a line to a log file each
time its code runs, so that "not imported" and "imported once" are read from the log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
import time
import typing as t
from pathlib import Path

import pytest

from .conftest import Result, _clean_environ
from .e2e.test_repls import PROMPTS, Session, spawn_appshell, stop_all

RunAppshell = t.Callable[..., Result]

HEAVY = """
import os, time
with open(os.environ["HEAVY_LOG"], "a") as log:
    log.write("imported\\n")
time.sleep(float(os.environ.get("HEAVY_SLEEP", "0")))
VALUE = 42
"""

APP = "from flask import Flask\napp = Flask(__name__)\n"


class Project(t.NamedTuple):
    folder: Path
    log: Path
    run: t.Callable[..., Result]

    def imports(self) -> int:
        """How many times heavymod's code ran."""
        return self.log.read_text().count("imported") if self.log.exists() else 0


MakeProject = t.Callable[[str], Project]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def project(tmp_path: Path, run_appshell: RunAppshell) -> t.Callable[[str], Project]:
    """A Flask app with heavymod beside it and a pyproject.toml whose profile ``team`` is
    the TOML given; ``run(ARGS)`` runs ``appshell shell ARGS`` there."""

    def make(profile: str) -> Project:
        write(tmp_path / "heavymod.py", HEAVY)
        write(tmp_path / "lazyapp.py", APP)
        settings = '[tool.appshell]\napp = "lazyapp:app"\nprofile = "team"\n'
        body = textwrap.dedent(profile).strip()
        write(tmp_path / "pyproject.toml", f"{settings}\n[tool.appshell.profiles.team]\n{body}\n")
        log = tmp_path / "heavy.log"

        def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
            environ = {"PYTHONPATH": str(tmp_path), "HEAVY_LOG": str(log), **(env or {})}
            return run_appshell("shell", *args, env=environ, input=input)

        return Project(tmp_path, log, run)

    return make


def test_a_session_that_does_not_use_the_module_never_imports_it(
    project: MakeProject,
) -> None:
    team = project('imports = ["heavymod", "heavymod as hm"]')
    script = (
        "import sys, types, inspect\n"
        "print(isinstance(hm, types.ModuleType), inspect.ismodule(heavymod), type(hm).__name__)\n"
        "print('heavymod' in sys.modules)"
    )
    result = team.run("-c", script)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "True True module\nFalse\n"
    assert team.imports() == 0


def test_print_context_lists_the_module_without_importing_it(
    project: MakeProject,
) -> None:
    team = project('imports = ["heavymod as hm"]')
    result = team.run("--print-context")
    assert result.returncode == 0, result.stderr
    (row,) = [line.split(None, 2) for line in result.stdout.splitlines() if line.startswith("hm ")]
    assert row == ["hm", "profile:team", "module (imported on first use)"]
    assert team.imports() == 0


@pytest.mark.parametrize("way", ["-c", "file", "stdin"], ids=["command", "file", "stdin"])
def test_first_use_imports_it_once_and_the_name_becomes_the_module(
    project: MakeProject, way: str
) -> None:
    team = project('imports = ["heavymod"]')
    script = textwrap.dedent(
        """
        import sys
        def later():
            return heavymod.VALUE
        print(heavymod.VALUE, later(), heavymod.VALUE + 0)
        print(heavymod is sys.modules["heavymod"], type(heavymod) is type(sys))
        print("VALUE" in dir(heavymod), vars(heavymod)["VALUE"])
        """
    )
    if way == "-c":
        result = team.run("-c", script)
    elif way == "file":
        result = team.run(str(write(team.folder / "use_it.py", script)))
    else:
        result = team.run(input=script)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "42 42 42\nTrue True\nTrue 42\n"
    assert team.imports() == 1


def test_two_threads_using_it_at_once_import_it_once(project: MakeProject) -> None:
    team = project('imports = ["heavymod", "heavymod as hm"]')
    script = textwrap.dedent(
        """
        import sys, threading
        start = threading.Barrier(4)
        seen = []
        def use(module):
            start.wait()
            seen.append(module.VALUE)
        threads = [threading.Thread(target=use, args=(m,)) for m in (heavymod, hm) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(seen, hm.__dict__ is sys.modules["heavymod"].__dict__)
        """
    )
    result = team.run("-c", script, env={"HEAVY_SLEEP": "0.3"})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "[42, 42, 42, 42] True\n"
    assert team.imports() == 1


def test_a_lazy_module_touched_by_many_threads_imports_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appshell.lazymodule import LazyModule

    write(tmp_path / "threadmod.py", HEAVY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HEAVY_LOG", str(tmp_path / "threads.log"))
    monkeypatch.setenv("HEAVY_SLEEP", "0.2")
    home: dict[str, t.Any] = {}
    lazy = LazyModule("threadmod as tm", "threadmod", "tm", top=False, source="t", home=home)
    home["tm"] = lazy
    start = threading.Barrier(8)
    seen: list[t.Any] = []

    def use(index: int) -> None:
        start.wait()
        # Completion asks dir(), the prompt an attribute: both at the same moment.
        seen.append("VALUE" in dir(lazy) if index % 2 else lazy.VALUE == 42)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [True] * 8
    assert (tmp_path / "threads.log").read_text() == "imported\n"
    assert home["tm"] is sys.modules["threadmod"]  # rebound in its namespace


def test_another_modules_import_gets_the_real_module_loaded_once(
    project: MakeProject,
) -> None:
    team = project('imports = ["heavymod"]')
    write(team.folder / "other.py", "import heavymod\n\ndef get():\n    return heavymod\n")
    script = (
        "import other; heavymod.VALUE; print(other.get() is heavymod, 'lazy' in repr(other.get()))"
    )
    first_the_other = team.run("-c", script)
    assert (first_the_other.returncode, first_the_other.stderr) == (0, "")
    assert first_the_other.stdout == "True False\n"
    assert team.imports() == 1

    team.log.unlink()
    first_the_name = team.run("-c", "heavymod.VALUE; import other; print(other.get() is heavymod)")
    assert first_the_name.stdout == "True\n", first_the_name.stderr
    assert team.imports() == 1


def test_a_module_that_fails_on_first_use_says_so_in_one_line_naming_the_profile(
    project: MakeProject,
) -> None:
    team = project('imports = ["explodes", "heavymod"]')
    write(team.folder / "explodes.py", "raise RuntimeError('boom at import')\n")
    quiet = team.run("-c", "print('unused: nothing said')")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "unused: nothing said\n", "")

    result = team.run("-c", "print(heavymod.VALUE)\nexplodes.anything\nprint('not reached')")
    assert result.returncode == 1
    assert result.stdout == "42\n"
    (line,) = result.stderr.splitlines()
    assert "profile:team" in line
    assert "'explodes'" in line
    assert "RuntimeError: boom at import" in line


def test_after_a_failed_first_use_the_session_goes_on(project: MakeProject) -> None:
    team = project('imports = ["broken_dep"]')
    write(team.folder / "broken_dep.py", "import dependency_that_is_not_installed\n")
    result = team.run(
        "--echo",
        input="print(6 * 7)\nbroken_dep.x\nprint(6 * 8)\ntry:\n  broken_dep.y\n"
        "except ImportError as e:\n  print('again:', 'broken_dep' in str(e))\n\n",
    )
    assert "42" in result.stdout
    assert "48" in result.stdout
    assert "again: True" in result.stdout
    failures = [line for line in result.stdout.splitlines() if "failed on first use" in line]
    assert failures
    assert all("profile:team" in line for line in failures)
    assert "No module named 'dependency_that_is_not_installed'" in failures[0]
    # The one line only: no traceback through appshell's stand-in.
    assert "Traceback" not in result.stdout
    assert "lazymodule" not in result.stdout


def test_a_missing_module_is_still_reported_before_the_prompt(
    project: MakeProject,
) -> None:
    team = project('imports = ["not_installed_anywhere", "heavymod"]')
    result = team.run("-c", "print('ran')")
    assert (result.returncode, result.stdout) == (0, "ran\n")
    (line,) = result.stderr.splitlines()
    assert "profile:team" in line
    assert "'not_installed_anywhere'" in line
    assert team.imports() == 0


@pytest.mark.parametrize(
    "missing",
    ["not_installed_anywhere as nia", "not_installed_anywhere", "json.not_a_submodule as ns"],
    ids=["alias", "module", "submodule"],
)
def test_an_optional_module_not_installed_is_absent(project: MakeProject, missing: str) -> None:
    team = project(f'optional_imports = ["{missing}", "heavymod as hm"]')
    result = team.run(
        "-c", "print(sorted({'nia', 'not_installed_anywhere', 'ns', 'hm'} & set(dir())))"
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "['hm']\n"
    assert team.imports() == 0


def test_strict_imports_every_module_before_the_script(project: MakeProject) -> None:
    team = project('imports = ["heavymod"]\noptional_imports = ["explodes"]')
    result = team.run("--strict", "-c", "import sys; print('heavymod' in sys.modules)")
    assert (result.returncode, result.stdout, result.stderr) == (0, "True\n", "")
    assert team.imports() == 1

    write(team.folder / "explodes.py", "raise RuntimeError('boom at import')\n")
    failing = team.run("--strict", "-c", "print('the script ran')")
    assert failing.returncode == 1
    assert failing.stdout == ""
    assert "RuntimeError: boom at import" in failing.stderr


def test_an_eager_import_is_imported_before_the_script(project: MakeProject) -> None:
    team = project('eager_imports = ["heavymod as hm"]\nimports = ["explodes"]')
    write(team.folder / "explodes.py", "raise RuntimeError('boom at import')\n")
    result = team.run(
        "-c", "import sys; print('heavymod' in sys.modules, hm is sys.modules['heavymod'])"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "True True\n", "")
    assert team.imports() == 1
    listed = team.run("--print-context")
    assert re.search(r"^hm\s+profile:team\s+module\s*$", listed.stdout, re.M), listed.stdout


@pytest.fixture
def repl(project: MakeProject) -> t.Iterator[t.Callable[[str, str], Session]]:
    """``appshell shell --repl REPL`` in a pseudo-terminal, with the profile given."""
    children: list[t.Any] = []

    def start(name: str, profile: str) -> Session:
        team = project(profile)
        environ = {"PYTHONPATH": str(team.folder), "HEAVY_LOG": str(team.log)}
        args = ["shell", "--repl", name, "--no-history", "-q"]
        children.append(spawn_appshell(team.folder, args, environ))
        shell = Session(children[-1], PROMPTS[name])
        shell.wait_prompt()
        assert team.imports() == 0
        return shell

    yield start
    stop_all(children)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["python", "ptpython", "ipython"], ids=["python", "ptpython", "ipython"]
)
def test_tab_completes_the_modules_names_in_every_repl(
    repl: t.Callable[[str, str], Session], tmp_path: Path, name: str
) -> None:
    shell = repl(name, 'imports = ["heavymod"]')
    shell.child.send("heavymod.VA")
    if name == "ptpython":
        # It completes while typing, in a thread of its own: the menu shows VALUE.
        shell.child.expect("VALUE")
    shell.child.send("\t")
    # 84 only if the Tab made heavymod.VALUE.
    shell.child.send(" * 2")
    time.sleep(0.5)
    shell.child.sendline("")
    shell.child.expect("84")
    shell.wait_prompt()
    shell.run(
        "import sys; print(sys.modules['heavymod'] is heavymod, 'is', 'the module')", "True is"
    )
    assert shell.exit(name) == 0
    assert (tmp_path / "heavy.log").read_text() == "imported\n"


@pytest.mark.slow
def test_ipython_inspects_it_as_a_module(
    repl: t.Callable[[str, str], Session], tmp_path: Path
) -> None:
    shell = repl("ipython", 'imports = ["heavymod as hm"]')
    shell.child.sendline("hm?")
    shell.child.expect(r"Type:\S*\s+module")
    shell.child.expect(r"File:\S*\s+\S+heavymod\.py")
    shell.wait_prompt()
    assert shell.exit("ipython") == 0
    assert (tmp_path / "heavy.log").read_text() == "imported\n"


NOTEBOOK = """
import sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
for cell in [
    "%load_ext appshell",
    "%appshell --app lazyapp:app --profile team",
    "import sys; before = 'heavymod' in sys.modules",
    "value = hm.VALUE * 2",
    "after = hm is sys.modules['heavymod']",
    "%unload_ext appshell",
]:
    result = shell.run_cell(cell, store_history=True)
    assert result.success, (cell, result.error_in_exec)
ns = shell.user_ns
print(ns["before"], ns["value"], ns["after"], "hm" in ns)
"""


def test_a_notebook_cell_imports_it_on_first_use(project: MakeProject) -> None:
    team = project('imports = ["heavymod as hm"]')
    notebook = write(team.folder / "notebook.py", NOTEBOOK)
    environ = _clean_environ() | {"HEAVY_LOG": str(team.log), "IPYTHONDIR": str(team.folder)}
    result = subprocess.run(
        [sys.executable, str(notebook)],
        cwd=team.folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The cell saw the module; %unload_ext took the name away, rebound or not.
    assert result.stdout.splitlines()[-1] == "False 84 True False"
    assert team.imports() == 1


def test_startup_code_importing_the_module_itself_overrides_nothing(project: MakeProject) -> None:
    team = project('imports = ["heavymod"]\nstartup = ["import heavymod, sys"]')
    result = team.run("--print-context", "--json")
    assert result.returncode == 0, result.stderr
    (record,) = [r for r in json.loads(result.stdout) if r["name"] == "heavymod"]
    assert record == {
        "name": "heavymod",
        "source": "profile:team",
        "type": "module",
        "overrides": [],
    }
    assert team.imports() == 1
