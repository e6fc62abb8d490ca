"""Entry-point plugins: commands (appshell's and Flask's groups), broken plugins, and a
third-party framework adapter."""

from __future__ import annotations

import os
import sys
import typing as t
from pathlib import Path

import click
import pytest

import appshell.cli
from appshell import plugins

APPS = Path(__file__).parent / "apps"
FLASK_APP = str(APPS / "cli_flaskapp.py")
TOY_APP = str(APPS / "cli_toyapp.py")
BUILTIN = set(appshell.cli.BUILTIN_COMMANDS)

MakeDist = t.Callable[..., Path]


@pytest.fixture(autouse=True)
def _restore_environ() -> t.Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def listed_commands(help_text: str) -> dict[str, str]:
    """The "Commands:" section of a help page: name -> short help."""
    rows = {}
    for line in help_text.split("\nCommands:\n", 1)[1].splitlines():
        if not line.strip():
            break
        if not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            rows[name] = text.strip()
    return rows


def pythonpath(*folders: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(map(str, folders))}


HELLO_PLUGIN = """\
from pathlib import Path

import click

# Relative to the working directory, which is the test's folder.
Path("hello_plugin-imported").touch()


@click.command(help="Say hello from a plugin.")
def hello():
    click.echo("hello from the plugin")
"""

FLASK_PLUGIN = """\
import click
from flask import current_app
from flask.cli import with_appcontext


@click.command(help="A flask.commands plugin.")
@with_appcontext
def fplug():
    click.echo(f"flask plugin in {current_app.name}")
"""

BROKEN_PLUGIN = """\
from hello_plugin import no_such_name
"""

NOT_A_COMMAND = """\
def notcmd():
    pass
"""


@pytest.fixture
def hello_dist(make_dist: MakeDist) -> Path:
    return make_dist(
        "helloplugin",
        {"appshell.commands": {"hello": "hello_plugin:hello"}},
        modules={"hello_plugin.py": HELLO_PLUGIN},
    )


# -- appshell.commands ----------------------------------------------------------------------


def test_plugin_listed_in_help_without_import(
    runner: click.testing.CliRunner, hello_dist: Path, tmp_path: Path
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--help"])
    assert result.exit_code == 0, result.stderr
    listed = listed_commands(result.stdout)
    assert listed["hello"] == "(plugin from helloplugin)"
    assert set(listed) == {"hello", *BUILTIN}
    assert "hello_plugin" not in sys.modules
    assert not (tmp_path / "hello_plugin-imported").exists()


def test_plugin_listed_in_help_without_import_real_command(
    run_appshell: t.Callable[..., t.Any], hello_dist: Path, tmp_path: Path
) -> None:
    result = run_appshell("--help", env=pythonpath(hello_dist))
    assert result.returncode == 0, result.stderr
    assert "hello" in listed_commands(result.stdout)
    assert not (tmp_path / "hello_plugin-imported").exists()


def test_plugin_listed_with_app_commands(runner: click.testing.CliRunner, hello_dist: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "--help"])
    assert result.exit_code == 0, result.stderr
    assert list(listed_commands(result.stdout)) == sorted(
        {"debug", "env", "greet", "hello", "whoami", *BUILTIN}
    )


def test_plugin_runs(runner: click.testing.CliRunner, hello_dist: Path, tmp_path: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["hello"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "hello from the plugin\n"
    assert (tmp_path / "hello_plugin-imported").exists()


def test_plugin_runs_real_command(
    run_appshell: t.Callable[..., t.Any], hello_dist: Path, tmp_path: Path
) -> None:
    result = run_appshell("hello", env=pythonpath(hello_dist))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from the plugin\n"
    assert result.stderr == ""
    assert (tmp_path / "hello_plugin-imported").exists()


def test_plugin_help(runner: click.testing.CliRunner, hello_dist: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["hello", "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Usage: appshell hello [OPTIONS]" in result.stdout
    assert "Say hello from a plugin." in result.stdout


def test_entry_points_read_once_per_process(
    runner: click.testing.CliRunner, hello_dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    scan = plugins._scan_path

    def counting() -> t.Any:
        calls.append(1)
        return scan()

    monkeypatch.setattr(plugins, "_scan_path", counting)
    for args in (
        ["--help"],
        ["hello"],
        ["--app", FLASK_APP, "--help"],
        ["--app", FLASK_APP, "whoami"],
    ):
        result = runner.invoke(appshell.cli.cli, args)
        assert result.exit_code == 0, result.stderr
    assert len(calls) == 1


# -- the scan kept between runs -------------------------------------------------------------


def _age(folder: Path) -> None:
    """Make ``folder`` and everything in it an hour old: a scan that saw a stamp under two
    seconds old is never written, since it may change again within the same clock tick."""
    import time

    old = time.time() - 3600
    for path in (folder, *folder.rglob("*")):
        os.utime(path, (old, old))


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "home" / "xdg_cache_home" / "appshell").glob("entry-points-*"))


def test_the_scan_is_kept_and_read_back(
    run_appshell: t.Callable[..., t.Any], hello_dist: Path, tmp_path: Path
) -> None:
    _age(hello_dist)
    first = run_appshell("--help", env=pythonpath(hello_dist))
    assert first.returncode == 0, first.stderr
    [cache] = _cache_files(tmp_path)
    # A row only the cache has: the next run lists it, so the cache is what it read.
    cache.write_text(
        cache.read_text() + "\nE\tappshell.commands\tcached\thello_plugin:hello\thelloplugin"
    )
    second = run_appshell("--help", env=pythonpath(hello_dist))
    assert second.returncode == 0, second.stderr
    assert set(listed_commands(second.stdout)) == set(listed_commands(first.stdout)) | {"cached"}


def test_a_plugin_installed_after_the_scan_was_kept_is_seen(
    run_appshell: t.Callable[..., t.Any], make_dist: MakeDist, tmp_path: Path
) -> None:
    site = make_dist("other", {"appshell.commands": {}})
    _age(site)
    assert "hello" not in listed_commands(run_appshell("--help", env=pythonpath(site)).stdout)
    assert _cache_files(tmp_path)
    make_dist("helloplugin", {"appshell.commands": {"hello": "hello_plugin:hello"}})
    assert "hello" in listed_commands(run_appshell("--help", env=pythonpath(site)).stdout)


def test_entry_points_changed_in_place_are_seen(
    run_appshell: t.Callable[..., t.Any], hello_dist: Path, tmp_path: Path
) -> None:
    [info] = hello_dist.glob("helloplugin-*.dist-info")
    _age(hello_dist)
    assert "hello" in listed_commands(run_appshell("--help", env=pythonpath(hello_dist)).stdout)
    assert _cache_files(tmp_path)
    entry_points = info / "entry_points.txt"
    entry_points.write_text(entry_points.read_text().replace("hello =", "bonjour ="))
    listed = listed_commands(run_appshell("--help", env=pythonpath(hello_dist)).stdout)
    assert "bonjour" in listed
    assert "hello" not in listed


def test_a_scan_that_saw_a_fresh_stamp_is_not_kept(
    run_appshell: t.Callable[..., t.Any], hello_dist: Path, tmp_path: Path
) -> None:
    result = run_appshell("--help", env=pythonpath(hello_dist))
    assert result.returncode == 0, result.stderr
    assert "hello" in listed_commands(result.stdout)
    assert _cache_files(tmp_path) == []


def test_a_cache_file_that_is_not_ours_is_ignored_and_replaced(
    run_appshell: t.Callable[..., t.Any], hello_dist: Path, tmp_path: Path
) -> None:
    _age(hello_dist)
    run_appshell("--help", env=pythonpath(hello_dist))
    [cache] = _cache_files(tmp_path)
    cache.write_text("appshell entry points 1\nnonsense\n\nE\tx")
    result = run_appshell("--help", env=pythonpath(hello_dist))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "hello" in listed_commands(result.stdout)
    assert cache.read_text().startswith("appshell entry points 1\n/")


# -- flask.commands -------------------------------------------------------------------------


@pytest.fixture
def flask_plugin_dist(make_dist: MakeDist) -> Path:
    return make_dist(
        "flaskplugin",
        {"flask.commands": {"fplug": "flask_plugin:fplug"}},
        modules={"flask_plugin.py": FLASK_PLUGIN},
    )


def test_flask_plugin_listed(runner: click.testing.CliRunner, flask_plugin_dist: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["--help"])
    assert result.exit_code == 0, result.stderr
    assert listed_commands(result.stdout)["fplug"] == "(plugin from flaskplugin)"
    assert "flask_plugin" not in sys.modules


def test_flask_plugin_runs_in_app_context(
    runner: click.testing.CliRunner, flask_plugin_dist: Path
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "fplug"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "flask plugin in cli_flaskapp\n"


def test_flask_plugin_real_command(
    run_appshell: t.Callable[..., t.Any], flask_plugin_dist: Path
) -> None:
    result = run_appshell("fplug", env={**pythonpath(flask_plugin_dist), "FLASK_APP": FLASK_APP})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "flask plugin in cli_flaskapp\n"


#: A group of an extension's commands, as Flask-Migrate registers its `db` group: through the
#: flask.commands entry point, its commands in the app context reading the app's extensions.
FLASK_GROUP_PLUGIN = """\
import click
from flask import current_app
from flask.cli import with_appcontext


@click.group()
def db():
    \"\"\"Database migrations.\"\"\"


@db.command()
@click.option("-d", "--directory", default=None)
@with_appcontext
def current(directory):
    folder = directory or current_app.extensions.get("migrate", "migrations")
    print("current of", current_app.name, "in", folder)
"""


def test_an_extensions_command_group_runs_as_under_flask(
    run_appshell: t.Callable[..., t.Any], make_dist: MakeDist, tmp_path: Path
) -> None:
    import subprocess

    from .conftest import _clean_environ

    site = make_dist(
        "flaskmigrateish",
        {"flask.commands": {"db": "flaskmigrateish:db"}},
        modules={"flaskmigrateish.py": FLASK_GROUP_PLUGIN},
    )
    env = {**pythonpath(site), "FLASK_APP": FLASK_APP}
    flask = Path(sys.executable).with_name("flask")
    own = subprocess.run(
        [str(flask), "db", "current", "-d", "other"],
        env={**_clean_environ(), **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (own.returncode, own.stdout) == (0, "current of cli_flaskapp in other\n"), own.stderr
    result = run_appshell("db", "current", "-d", "other", env=env)
    assert (result.returncode, result.stdout) == (0, own.stdout), result.stderr
    code = 'cli("db current -d other")\ncli.db.current(directory="other")'
    shell = run_appshell("shell", "-c", code, env=env)
    assert (shell.returncode, shell.stdout) == (0, own.stdout * 2), shell.stderr


def test_appshells_own_flask_entry_point_is_not_listed(
    runner: click.testing.CliRunner, make_dist: MakeDist
) -> None:
    # The entry that makes `flask shell` appshell's must not come back into appshell.
    make_dist(
        "appshellish",
        {
            "flask.commands": {
                "own-shell": "appshell.integrations.flask:shell_command",
                "other": "other_flask_plugin:other",
            }
        },
    )
    listed = listed_commands(runner.invoke(appshell.cli.cli, ["--help"]).stdout)
    assert "own-shell" not in listed
    assert "other" in listed


# -- broken plugins -------------------------------------------------------------------------


@pytest.fixture
def broken_dist(make_dist: MakeDist, hello_dist: Path) -> Path:
    return make_dist(
        "brokenplugin",
        {"appshell.commands": {"broken": "broken_plugin:broken"}},
        modules={"broken_plugin.py": BROKEN_PLUGIN},
    )


def assert_one_line_report(stderr: str, name: str, error: str) -> None:
    """stderr is one line, naming the plugin and its error (and nothing misleading after)."""
    [line] = stderr.splitlines()
    assert repr(name) in line
    assert error in line


@pytest.mark.parametrize("app_args", [[], ["--app", FLASK_APP]], ids=["no-app", "with-app"])
def test_broken_plugin_reported_in_one_line(
    runner: click.testing.CliRunner, broken_dist: Path, app_args: list[str]
) -> None:
    result = runner.invoke(appshell.cli.cli, [*app_args, "broken"])
    assert result.exit_code != 0
    assert_one_line_report(result.stderr, "broken", "cannot import name 'no_such_name'")


@pytest.mark.parametrize(
    ("args", "stdout"),
    [
        (["hello"], "hello from the plugin\n"),
        (["--app", FLASK_APP, "whoami"], "current_app=cli_flaskapp\n"),
    ],
    ids=["other-plugin", "app-command"],
)
def test_broken_plugin_leaves_other_commands_working(
    runner: click.testing.CliRunner, broken_dist: Path, args: list[str], stdout: str
) -> None:
    result = runner.invoke(appshell.cli.cli, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == stdout
    assert result.stderr == ""


def test_broken_plugin_leaves_help_working(
    runner: click.testing.CliRunner, broken_dist: Path
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--help"])
    assert result.exit_code == 0, result.stderr
    assert {"broken", "hello", "routes", "run"} <= set(listed_commands(result.stdout))


def test_broken_plugin_real_command(
    run_appshell: t.Callable[..., t.Any], broken_dist: Path
) -> None:
    env = pythonpath(broken_dist)
    broken = run_appshell("broken", env=env)
    assert broken.returncode != 0
    assert_one_line_report(broken.stderr, "broken", "cannot import name 'no_such_name'")
    assert "broken_plugin:broken" in broken.stderr

    help_ = run_appshell("--help", env=env)
    assert help_.returncode == 0, help_.stderr
    assert "broken" in listed_commands(help_.stdout)

    hello = run_appshell("hello", env=env)
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout == "hello from the plugin\n"


def test_plugin_that_is_not_a_command(runner: click.testing.CliRunner, make_dist: MakeDist) -> None:
    make_dist(
        "notcmdplugin",
        {"appshell.commands": {"notcmd": "notcmd_plugin:notcmd"}},
        modules={"notcmd_plugin.py": NOT_A_COMMAND},
    )
    result = runner.invoke(appshell.cli.cli, ["notcmd"])
    assert result.exit_code != 0
    assert_one_line_report(result.stderr, "notcmd", "function is not a click command")


def test_broken_adapter_plugin_reported_once(
    runner: click.testing.CliRunner, make_dist: MakeDist
) -> None:
    make_dist(
        "brokenadapter",
        {"appshell.adapters": {"badadapter": "broken_adapter:Adapter"}},
        modules={"broken_adapter.py": "raise ImportError('the adapter needs a missing lib')\n"},
    )
    result = runner.invoke(appshell.cli.cli, ["--app", FLASK_APP, "whoami"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "current_app=cli_flaskapp\n"
    assert_one_line_report(result.stderr, "badadapter", "the adapter needs a missing lib")


# -- a third-party adapter ------------------------------------------------------------------


@pytest.fixture
def toy_dist(make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(APPS))
    return make_dist("toyadapter", {"appshell.adapters": {"toy": "cli_toyadapter:ToyAdapter"}})


TOY_ROUTES = [
    "Endpoint  Methods    Rule",
    "--------  ---------  --------",
    "contact   GET, POST  /contact",
    "home      GET        /",
]


def test_adapter_app_found_by_scanning(runner: click.testing.CliRunner, toy_dist: Path) -> None:
    # The app is called "website": only the adapter tells discovery it is an app.
    result = runner.invoke(appshell.cli.cli, ["--app", TOY_APP, "routes"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == TOY_ROUTES


def test_adapter_routes_sorted_by_match(runner: click.testing.CliRunner, toy_dist: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", TOY_APP, "routes", "-s", "match"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2:] == [TOY_ROUTES[3], TOY_ROUTES[2]]


def test_adapter_app_real_command(run_appshell: t.Callable[..., t.Any], toy_dist: Path) -> None:
    result = run_appshell("--app", TOY_APP, "routes", env=pythonpath(toy_dist, APPS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == TOY_ROUTES


def test_without_the_adapter_the_toy_app_is_not_found(
    runner: click.testing.CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(APPS))
    plugins.reset()
    result = runner.invoke(appshell.cli.cli, ["--app", TOY_APP, "routes"])
    assert result.exit_code == 2
    assert "Found no app in module 'cli_toyapp'" in result.stderr


def test_adapter_commands_run_in_app_context(
    runner: click.testing.CliRunner, toy_dist: Path
) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", TOY_APP, "hello"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "hello from toysite\n"


def test_adapter_commands_real_command(
    run_appshell: t.Callable[..., t.Any], toy_dist: Path
) -> None:
    result = run_appshell("hello", env={**pythonpath(toy_dist, APPS), "APPSHELL_APP": TOY_APP})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from toysite\n"


def test_adapter_commands_in_help(runner: click.testing.CliRunner, toy_dist: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", TOY_APP, "--help"])
    assert result.exit_code == 0, result.stderr
    listed = listed_commands(result.stdout)
    assert listed["hello"] == "Say hello from inside the toy app context."
    assert set(listed) == {"hello", *BUILTIN}


def test_adapter_context_is_popped(runner: click.testing.CliRunner, toy_dist: Path) -> None:
    result = runner.invoke(appshell.cli.cli, ["--app", TOY_APP, "hello"])
    assert result.exit_code == 0, result.stderr
    toy = sys.modules["cli_toyframework"]
    with pytest.raises(RuntimeError, match="outside of the toy app context"):
        toy.current_app()
