"""Profiles in real shells: each built-in profile, and each key's effect on the REPL it
targets, driven in a pseudo-terminal as a person uses them.

Every expectation is something the echo of the typed line cannot match: the line computes
it (``Note.count() + 70 + 7`` is typed, ``77`` expected).
"""

from __future__ import annotations

import os
import re
import textwrap
import typing as t
from pathlib import Path

import pexpect
import pytest

from ..conftest import APPS
from .test_repls import PROMPTS, Session, spawn_appshell, stop_all

pytestmark = pytest.mark.slow

Spawn = t.Callable[..., Session]


def user_profile(name: str, text: str) -> Path:
    """``$XDG_CONFIG_HOME/appshell/profiles/NAME.toml`` (the conftest points it into the
    test's folder; the spawned shell gets the same environment)."""
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "appshell" / "profiles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def spawn(tmp_path: Path) -> t.Iterator[Spawn]:
    """``appshell --app appshell.demo shell ARGS`` in a pseudo-terminal."""
    children: list[pexpect.spawn] = []

    def start(*args: str, prompt: str, env: dict[str, str] | None = None) -> Session:
        state = {"XDG_STATE_HOME": str(tmp_path / "state")}
        children.append(
            spawn_appshell(
                tmp_path, ["--app", "appshell.demo", "shell", *args], state | (env or {})
            )
        )
        return Session(children[-1], PROMPTS[prompt])

    yield start
    stop_all(children)


def plain(text: str) -> str:
    """``text`` without the terminal's control sequences (colours, titles, cursor moves)."""
    return re.sub(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07)", "", text)


def value_of(shell: Session, expression: str) -> str:
    """Type ``expression`` and return what it prints as (the echo shows no ``<< ``)."""
    shell.child.sendline(f"print('<' + '<', {expression}, '>' + '>')")
    shell.child.expect(r"<< (.*?) >>")
    found = t.cast(str, shell.child.match.group(1))
    shell.wait_prompt()
    return found


WHICH_REPL = (
    "'ipython' if 'get_ipython' in dir() else 'ptpython' if 'get_ptpython' in dir() else 'python'"
)

HISTORY_FILES = {
    "python": ("state", "appshell", "python_history"),
    "ptpython": ("state", "appshell", "ptpython_history"),
    "ipython": ("ipython", "profile_default", "history.sqlite"),
}


# -- the built-in profiles ---------------------------------------------------------------------


def test_minimal_is_the_stdlib_repl_without_banner_or_history(spawn: Spawn, tmp_path: Path) -> None:
    shell = spawn("--profile", "minimal", prompt="python")
    before = plain(shell.wait_prompt())
    assert "App:" not in before
    assert "appshell-demo" not in before
    assert "Python 3" not in before
    assert value_of(shell, WHICH_REPL) == "python"
    shell.run("Note.count() + 70 + 7", "77")
    assert shell.exit("python") == 0
    assert not (tmp_path / "state" / "appshell" / "python_history").exists()


def test_default_is_ipython_with_the_banner(spawn: Spawn) -> None:
    shell = spawn("--profile", "default", prompt="ipython")
    before = shell.wait_prompt()
    assert "App: appshell-demo (appshell.demo)" in plain(before)
    assert "ipython " in before
    assert value_of(shell, WHICH_REPL) == "ipython"
    shell.run("Note.count() + 70 + 7", "77")
    assert shell.exit("ipython") == 0


def test_data_has_its_tools_at_the_prompt(spawn: Spawn) -> None:
    shell = spawn("--profile", "data", prompt="ipython")
    before = shell.wait_prompt()
    assert "profile:data" in before
    shell.run("json.loads('[40]')[0] + len(Path('/a/bc').name)", "42")
    shell.run("pprint({'key': 'v' * 3})", r"\{'key': 'vvv'\}")
    shell.run(
        "collections.Counter(itertools.chain('ab', 'b'))['b'] * 100"
        " + datetime.date(2024, 5, 6).day",
        "206",
    )
    assert shell.exit("ipython") == 0


def test_dev_reloads_an_edited_module(spawn: Spawn, tmp_path: Path) -> None:
    module = tmp_path / "reloadme.py"
    module.write_text("def value():\n    return 100\n")
    shell = spawn("--profile", "dev", prompt="ipython", env={"PYTHONPATH": str(tmp_path)})
    shell.wait_prompt()
    assert (
        value_of(shell, "'IPython.extensions.autoreload' in get_ipython().extension_manager.loaded")
        == "True"
    )
    shell.run("import reloadme", "")
    shell.run("reloadme.value() + 1", "101")
    module.write_text("def value():\n    return 300\n")
    stat = module.stat()
    os.utime(module, (stat.st_atime, stat.st_mtime + 10))
    # %autoreload 2: the edit is picked up before the next statement, without a reload call.
    shell.run("reloadme.value() + 2", "302")
    assert shell.exit("ipython") == 0


def test_dev_keeps_the_extensions_of_the_users_ipython_config(spawn: Spawn, tmp_path: Path) -> None:
    config = tmp_path / "ipython" / "profile_default" / "ipython_config.py"
    config.parent.mkdir(parents=True)
    config.write_text('c.InteractiveShellApp.extensions = ["profile_ipython_ext"]\n')
    shell = spawn("--profile", "dev", prompt="ipython", env={"PYTHONPATH": str(APPS)})
    shell.wait_prompt()
    loaded = "get_ipython().extension_manager.loaded"
    assert value_of(shell, f"'IPython.extensions.autoreload' in {loaded}") == "True"
    assert value_of(shell, f"'profile_ipython_ext' in {loaded}") == "True"
    assert shell.exit("ipython") == 0


# -- each key, in the REPL it targets ----------------------------------------------------------


@pytest.mark.parametrize("confirm", [True, False], ids=["confirm", "no-confirm"])
def test_ipython_config_sets_a_real_ipython_setting(spawn: Spawn, confirm: bool) -> None:
    user_profile(
        "quiet",
        f"""
        repl = ["ipython"]

        [ipython.config]
        TerminalInteractiveShell.confirm_exit = {str(confirm).lower()}
        """,
    )
    shell = spawn("--profile", "quiet", prompt="ipython")
    shell.wait_prompt()
    shell.run("Note.count() + 70 + 7", "77")
    shell.child.sendcontrol("d")
    asked = shell.child.expect([r"really want to exit", pexpect.EOF]) == 0
    assert asked is confirm
    if asked:
        shell.child.send("y\n")
        shell.child.expect(pexpect.EOF)
    shell.child.close()
    assert shell.child.exitstatus == 0


def test_ipython_config_changes_what_the_prompt_shows(spawn: Spawn) -> None:
    user_profile(
        "all",
        """
        repl = ["ipython"]

        [ipython.config]
        InteractiveShell.ast_node_interactivity = "all"
        """,
    )
    shell = spawn("--profile", "all", prompt="ipython")
    shell.wait_prompt()
    # Every expression statement of the cell is shown, not only the last one.
    shell.child.sendline("40 + 2; 100 + 11")
    shell.child.expect("42")
    shell.child.expect("111")
    shell.wait_prompt()
    assert shell.exit("ipython") == 0


def test_ipython_extensions_are_loaded(spawn: Spawn) -> None:
    user_profile(
        "ext",
        """
        repl = ["ipython"]

        [ipython]
        extensions = ["profile_ipython_ext"]
        """,
    )
    shell = spawn("--profile", "ext", prompt="ipython", env={"PYTHONPATH": str(APPS)})
    shell.wait_prompt()
    shell.run("from_user_extension.upper() + '!'", "USER-EXT-OK!")
    assert shell.exit("ipython") == 0


@pytest.mark.parametrize(
    ("options", "prompt", "vi_mode"),
    [("", "ptpython", "False"), ('vi_mode = true\nprompt_style = "ipython"\n', "ipython", "True")],
    ids=["none", "vi-and-ipython-prompt"],
)
def test_ptpython_options_set_real_ptpython_options(
    spawn: Spawn, tmp_path: Path, options: str, prompt: str, vi_mode: str
) -> None:
    # The user's own config file still runs; the profile's options are set after it.
    config = tmp_path / "ptpython" / "config.py"
    config.parent.mkdir()
    config.write_text(
        "def configure(repl):\n    repl.vi_mode = False\n    repl.show_status_bar = False\n"
    )
    user_profile("pt", 'repl = ["ptpython"]\n\n[ptpython.options]\n' + options)
    shell = spawn("--profile", "pt", prompt=prompt)
    shell.wait_prompt()
    assert value_of(shell, "get_ptpython().vi_mode") == vi_mode
    assert value_of(shell, "get_ptpython().show_status_bar") == "False"
    shell.run("Note.count() + 70 + 7", "77")
    assert shell.exit("ptpython") == 0


def test_an_unknown_ptpython_option_is_reported_and_ignored(spawn: Spawn) -> None:
    user_profile("pt", 'repl = ["ptpython"]\n\n[ptpython.options]\nno_such_option = 1\n')
    shell = spawn("--profile", "pt", prompt="ptpython")
    before = shell.wait_prompt()
    assert "no_such_option" in before
    shell.run("Note.count() + 70 + 7", "77")
    assert shell.exit("ptpython") == 0


@pytest.mark.parametrize("history", [True, False], ids=["history", "no-history"])
@pytest.mark.parametrize("repl", ["python", "ptpython", "ipython"])
def test_history_false_writes_no_history_file(
    spawn: Spawn, tmp_path: Path, repl: str, history: bool
) -> None:
    user_profile("h", f'repl = ["{repl}"]\nhistory = {str(history).lower()}\n')
    shell = spawn("--profile", "h", prompt=repl)
    shell.wait_prompt()
    shell.run("Note.count() + 400 + 20", "420")
    assert shell.exit(repl) == 0
    assert tmp_path.joinpath(*HISTORY_FILES[repl]).exists() is history


@pytest.mark.parametrize("banner", [True, False], ids=["banner", "no-banner"])
@pytest.mark.parametrize("repl", ["python", "ptpython", "ipython"])
def test_banner_false_hides_the_banner(spawn: Spawn, repl: str, banner: bool) -> None:
    user_profile("b", f'repl = ["{repl}"]\nbanner = {str(banner).lower()}\n')
    shell = spawn("--profile", "b", prompt=repl)
    before = shell.wait_prompt()
    assert ("App: appshell-demo" in plain(before)) is banner
    shell.run("Note.count() + 70 + 7", "77")
    assert shell.exit(repl) == 0


@pytest.mark.parametrize("repl", ["python", "ptpython", "ipython"])
def test_startup_runs_in_every_repl(spawn: Spawn, repl: str) -> None:
    profile = user_profile(
        "s",
        f"""
        repl = ["{repl}"]
        imports = ["json"]
        startup = ["setup/names.py", "from_code = json.dumps([from_file])"]
        """,
    )
    (profile.parent / "setup").mkdir()
    (profile.parent / "setup" / "names.py").write_text("from_file = 'file-ok'\n")
    shell = spawn("--profile", "s", prompt=repl)
    before = shell.wait_prompt()
    assert "startup" in before  # the banner groups the names by source
    shell.run("(from_code + from_file).upper()", r'\["FILE-OK"\]FILE-OK')
    assert shell.exit(repl) == 0


def test_repl_order_starts_the_first_installed(spawn: Spawn) -> None:
    user_profile("order", 'repl = ["nosuch", "ptpython", "ipython"]\n')
    shell = spawn("--profile", "order", prompt="ptpython")
    shell.wait_prompt()
    assert value_of(shell, WHICH_REPL) == "ptpython"
    assert shell.exit("ptpython") == 0
