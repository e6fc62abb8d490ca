"""Litestar apps through the real command: their CLI plugins' commands, and the
``lifespan=[...]`` form of their startup and shutdown."""

from __future__ import annotations

import textwrap
import typing as t
from pathlib import Path

import pytest

from .conftest import APPS

pytest.importorskip("litestar")

pytestmark = pytest.mark.slow

PLUGIN_APP = "litestar_cli_plugin:app"


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (["hello"], "hello from Litestar: hi"),
        (["hello", "--loud"], "HELLO FROM LITESTAR: HI"),
        (["where"], f"LitestarEnv {PLUGIN_APP} Litestar where"),
        (["db", "count", "users"], "users: index at /"),
        (["cache", "size"], "cache of hi"),
        (["migrations", "current"], "current of LitestarEnv hi"),
    ],
    ids=["app", "app-and-option", "env-and-ctx", "group", "litestar-group", "env-in-ctx-obj"],
)
def test_a_plugin_command_is_given_what_it_asks_for(
    run_appshell: t.Callable[..., t.Any], args: list[str], printed: str
) -> None:
    result = run_appshell("--app", PLUGIN_APP, *args, cwd=APPS)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == printed


def test_a_plugin_group_runs_as_under_litestar_itself(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    # The same plugin group through Litestar's own command line and through appshell's,
    # from the command line and through cli(...) at the prompt.
    import subprocess
    import sys

    from .conftest import _clean_environ

    litestar = Path(sys.executable).with_name("litestar")
    own = subprocess.run(
        [str(litestar), "--app", PLUGIN_APP, "migrations", "current"],
        cwd=APPS, env=_clean_environ(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert own.returncode == 0, own.stderr
    result = run_appshell("--app", PLUGIN_APP, "migrations", "current", cwd=APPS)
    assert (result.returncode, result.stdout) == (0, own.stdout), result.stderr
    code = 'cli("migrations current")\ncli.migrations.current()'
    shell = run_appshell("--app", PLUGIN_APP, "shell", "-c", code, cwd=APPS)
    assert (shell.returncode, shell.stdout) == (0, own.stdout * 2), shell.stderr


def test_plugin_commands_are_listed_with_their_help(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    result = run_appshell("--app", PLUGIN_APP, "--help", cwd=APPS)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "Greet from the app." in rows["hello"]
    assert "Database tools." in rows["db"]
    assert {"where", "cache", "shell", "run"} <= set(rows)


def test_a_plugin_command_run_in_the_shell_sees_the_sessions_app(
    run_appshell: t.Callable[..., t.Any],
) -> None:
    code = 'app.state.greeting = "changed at the prompt"\ncli("hello")\ncli.db.count(table="t")'
    result = run_appshell("--app", PLUGIN_APP, "shell", "-c", code, cwd=APPS)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "hello from Litestar: changed at the prompt",
        "t: index at /",
    ]


def test_help_of_a_rich_click_command_in_the_shell(run_appshell: t.Callable[..., t.Any]) -> None:
    # Litestar's own groups make rich-click commands, which format help with their own
    # context class: the shell's help for them used to be an AttributeError traceback.
    code = "print(cli.cache.size.__doc__)"
    result = run_appshell("--app", PLUGIN_APP, "shell", "-c", code, cwd=APPS)
    assert (result.returncode, result.stderr) == (0, "")
    assert "Usage: appshell cache size [OPTIONS]" in result.stdout


LIFESPAN_APP = """\
import contextlib
from litestar import Litestar, get
from litestar.datastructures import State

def record(event):
    with open("lifespan.log", "a") as f:
        f.write(event + "\\n")

@contextlib.asynccontextmanager
async def pool(app):
    app.state.pool = ["conn"]
    record("startup")
    try:
        yield
    finally:
        record("shutdown")

@get("/pool")
async def read_pool(state: State) -> dict:
    return {"pool": state.pool}

app = Litestar([read_pool], lifespan=[pool], logging_config=None)
"""


@pytest.mark.parametrize(
    ("code", "printed"),
    [
        ("print(app.state.pool)", "['conn']"),
        ('r = await client.get("/pool"); print(r.json())', "{'pool': ['conn']}"),
    ],
    ids=["app-state", "client"],
)
def test_a_lifespan_context_manager_runs_once_each_way(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path, code: str, printed: str
) -> None:
    (tmp_path / "pooled.py").write_text(LIFESPAN_APP)
    result = run_appshell("--app", "pooled:app", "shell", "-c", code)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == printed
    assert (tmp_path / "lifespan.log").read_text().split() == ["startup", "shutdown"]


def test_no_lifespan_leaves_the_context_manager_unentered(
    run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    (tmp_path / "pooled.py").write_text(LIFESPAN_APP)
    code = textwrap.dedent('print(app.state.get("pool"))')
    result = run_appshell("--app", "pooled:app", "shell", "--no-lifespan", "-c", code)
    assert (result.returncode, result.stdout.strip()) == (0, "None")
    assert not (tmp_path / "lifespan.log").exists()
