"""``cli`` in the shell: commands run in-process with the shell's app and context, as
``cli("name --option value")`` or ``cli.name(option=value)``; every outcome is a
CommandResult; ``shell`` and a blocking ``run`` are refused; ``cli.run(background=True)``
serves the shell's own app object from a thread.

The unit tests build the runner as the shell does, on a Flask factory app that counts how
often it was created (tests/apps/runner_app.py) or on the demo app; the end-to-end tests run
``appshell --app ... shell -c CODE`` for real, with a real server on loopback.
"""

from __future__ import annotations

import importlib
import json
import socket
import textwrap
import types
import typing as t
import urllib.request
from pathlib import Path

import click
import flask
import pytest
from click.testing import CliRunner

from appshell.cli import AppShellGroup, ScriptInfo
from appshell.shell.runner import BackgroundServer, CommandResult, CommandRunner

from .conftest import APPS

RunAppshell = t.Callable[..., t.Any]
MakeDist = t.Callable[..., Path]

# Binds as a server restarting on the port would (SO_REUSEADDR, as werkzeug's does), so that
# connections left in TIME_WAIT by the requests do not count as the port being taken.
PORT_IS_FREE = """\
def port_is_free(port):
    import socket
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True
"""
_helpers: dict[str, t.Any] = {}
exec(PORT_IS_FREE, _helpers)
port_is_free: t.Callable[[int], bool] = _helpers["port_is_free"]


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """tests/apps/runner_app.py, imported fresh: its CREATED list starts empty."""
    monkeypatch.syspath_prepend(str(APPS))
    return importlib.import_module("runner_app")


@pytest.fixture
def info(factory: types.ModuleType) -> ScriptInfo:
    return ScriptInfo(create_app=factory.create_app)


@pytest.fixture
def cli(info: ScriptInfo) -> t.Iterator[CommandRunner]:
    """The runner as the shell builds it: the app loaded once, its context pushed."""
    with info.adapter.app_context():
        runner = CommandRunner(AppShellGroup(name="appshell"), info)
        yield runner
        runner.close()


@pytest.fixture
def demo_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> t.Iterator[CommandRunner]:
    monkeypatch.setenv("APPSHELL_DEMO_DATABASE", str(tmp_path / "demo.sqlite3"))
    info = ScriptInfo(app_import_path="appshell.demo")
    with info.adapter.app_context():
        runner = CommandRunner(AppShellGroup(name="appshell"), info)
        yield runner
        runner.close()


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    return {"APPSHELL_DEMO_DATABASE": str(tmp_path / "demo.sqlite3")}


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return t.cast(str, response.read().decode())


# -- running a command line -----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    ["show-args --name ann --tag a x", ["show-args", "--name", "ann", "--tag", "a", "x"]],
    ids=["string", "list"],
)
def test_command_line_runs_and_prints_to_the_terminal(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str], args: t.Any
) -> None:
    result = cli(args)

    assert result == CommandResult(0)
    assert result.stdout is None  # printed, not captured
    assert capsys.readouterr().out == "name=ann shout=None verbose=False tags=['a']\nwords=['x']\n"


def test_commands_use_the_shells_app_and_app_context(
    cli: CommandRunner,
    info: ScriptInfo,
    factory: types.ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    flask.g.marker = "set at the prompt"

    cli.marker()
    cli("created")
    cli.routes()

    out = capsys.readouterr().out
    assert "app=runner_app marker=set at the prompt\n" in out
    assert "created=1\n" in out
    assert "/greeting" in out
    assert [info.load_app()] == factory.CREATED


def test_capture_returns_the_output_instead_of_printing_it(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli.created(capture=True)

    assert (result.exit_code, result.stdout, result.stderr) == (0, "created=1\n", "")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ("created", 0, ""),
        ("routes --sort nope", 2, "Invalid value for '--sort'"),
        ("routes --nope", 2, "No such option"),
        ("nope", 2, "No such command 'nope'"),
        ("db upgrade --revision", 2, "Option '--revision' requires an argument"),
        ("exit-three", 3, ""),
        ("sys-exit", 4, ""),
    ],
    ids=[
        "success",
        "bad-value",
        "no-such-option",
        "no-such-command",
        "missing-value",
        "ctx-exit",
        "sys-exit",
    ],
)
def test_exit_code_and_message_are_those_of_the_command_line(
    cli: CommandRunner, info: ScriptInfo, args: str, code: int, message: str
) -> None:
    result = cli(args, capture=True)
    expected = CliRunner().invoke(
        AppShellGroup(name="appshell"), args.split(), obj=info, prog_name="appshell"
    )

    assert result.exit_code == expected.exit_code == code
    assert message in result.stderr  # type: ignore[operator]
    assert result.stderr == expected.stderr
    assert result.stdout == expected.stdout


@pytest.mark.parametrize("capture", [False, True], ids=["printed", "captured"])
def test_exception_in_a_command_shows_its_traceback_and_returns_1(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str], capture: bool
) -> None:
    result = cli.boom(capture=capture)

    stderr = result.stderr if capture else capsys.readouterr().err
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)
    assert str(result.exception) == "boom from the command"
    assert stderr is not None
    assert stderr.startswith("Traceback (most recent call last):")
    assert 'runner_app.py", line' in stderr
    assert stderr.endswith("ValueError: boom from the command\n")


def test_a_failed_command_leaves_the_runner_usable(
    cli: CommandRunner, factory: types.ModuleType
) -> None:
    codes = [cli(args, capture=True).exit_code for args in ("sys-exit", "boom", "exit-three")]
    after = cli.created(capture=True)

    assert codes == [4, 1, 3]
    assert (after.exit_code, after.stdout) == (0, "created=1\n")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda cli: cli('routes "x'), "appshell: cannot split 'routes \"x' into words"),
        (lambda cli: cli("routes x\\"), "appshell: cannot split 'routes x\\\\' into words"),
        (lambda cli: cli(123), "appshell: cli() takes a command line as a str"),
        (lambda cli: cli(None), "appshell: cli() takes a command line as a str"),
        (lambda cli: cli(b"routes"), "appshell: cli() takes a command line as a str"),
        (lambda cli: cli.db(123), "appshell: cli.db() takes a command line as a str"),
    ],
    ids=["unclosed-quote", "trailing-backslash", "int", "none", "bytes", "subgroup"],
)
def test_a_call_that_is_not_a_command_line_is_one_line_and_exit_code_2(
    cli: CommandRunner,
    capsys: pytest.CaptureFixture[str],
    call: t.Callable[[t.Any], CommandResult],
    message: str,
) -> None:
    result = call(cli)

    out, err = capsys.readouterr()
    assert result == CommandResult(2)
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(message)
    assert cli.created(capture=True).exit_code == 0


@pytest.mark.slow
def test_a_call_that_is_not_a_command_line_at_the_prompt(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    code = textwrap.dedent(
        """\
        print(cli('routes "x').exit_code)
        print(cli(123).exit_code)
        print(cli(["seed", "--count", 1]).exit_code)
        """
    )

    result = run_appshell("--app", "appshell.demo", "shell", "-c", code, env=demo_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["2", "2", "Added 1 notes; there are 1 now.", "0"]
    assert result.stderr.splitlines() == [
        "appshell: cannot split 'routes \"x' into words (no closing quotation); check its quotes"
        " and backslashes, or give the words as a list: cli(['routes', '--sort', 'rule']).",
        "appshell: cli() takes a command line as a str or its words as a list, not int:"
        " cli('routes --sort rule') or cli(['routes', '--sort', 'rule']).",
    ]


# -- commands as attributes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "name=nobody shout=None verbose=False tags=[]\nwords=[]\n"),
        ({"name": "ann"}, "name=ann shout=None verbose=False tags=[]\nwords=[]\n"),
        ({"verbose": True}, "name=nobody shout=None verbose=True tags=[]\nwords=[]\n"),
        ({"verbose": False}, "name=nobody shout=None verbose=False tags=[]\nwords=[]\n"),
        ({"shout": True}, "name=nobody shout=True verbose=False tags=[]\nwords=[]\n"),
        ({"shout": False}, "name=nobody shout=False verbose=False tags=[]\nwords=[]\n"),
        ({"tags": ["a", "b"]}, "name=nobody shout=None verbose=False tags=['a', 'b']\nwords=[]\n"),
        ({"tags": ("a",)}, "name=nobody shout=None verbose=False tags=['a']\nwords=[]\n"),
        ({"words": ["x", "y"]}, "name=nobody shout=None verbose=False tags=[]\nwords=['x', 'y']\n"),
    ],
    ids=[
        "nothing",
        "option",
        "flag-true",
        "flag-false",
        "secondary-flag-true",
        "secondary-flag-false",
        "multiple-list",
        "multiple-tuple",
        "argument-keyword",
    ],
)
def test_keyword_arguments_map_to_options(
    cli: CommandRunner, options: dict[str, t.Any], expected: str
) -> None:
    result = cli.show_args(capture=True, **options)

    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [((2, 3), {}, "5\n"), ((), {"a": 2, "b": 3}, "5\n"), ((-1, 3), {}, "2\n")],
    ids=["positional", "keywords", "negative-number"],
)
def test_positional_arguments(
    cli: CommandRunner, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], expected: str
) -> None:
    result = cli.add(*args, capture=True, **kwargs)

    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")


def test_unknown_keyword_is_a_message_and_exit_code_2(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli.show_args(colour="red")

    out, err = capsys.readouterr()
    assert result.exit_code == 2
    assert out == ""  # the command did not run
    assert "'colour'" in err
    assert "name, shout, verbose, tags" in err


def test_subgroup_is_an_attribute(cli: CommandRunner) -> None:
    by_attribute = cli.db.upgrade(revision="abc", capture=True)
    by_line = cli("db upgrade --revision abc", capture=True)

    assert by_attribute.exit_code == by_line.exit_code == 0
    assert by_attribute.stdout == by_line.stdout == "upgraded to abc\n"
    assert dir(cli.db) == ["upgrade"]
    assert cli.db.upgrade.__doc__.startswith("Usage: appshell db upgrade [OPTIONS]\n")


def test_dir_lists_the_commands_with_underscores(cli: CommandRunner) -> None:
    names = dir(cli)

    assert {"add", "created", "db", "exit_three", "routes", "run", "show_args"} <= set(names)
    assert not [name for name in names if "-" in name]


def test_repr_lists_the_commands_with_their_help(cli: CommandRunner) -> None:
    lines = [line.split(None, 1) for line in repr(cli).splitlines()[1:]]

    assert ["show_args", "Print what the command was given."] in lines
    assert ["db", "Database migrations."] in lines
    assert ["routes", "Show the routes for the app."] in lines


def test_help_shows_the_commands_usage(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    help(cli.routes)

    out = capsys.readouterr().out
    assert cli.routes.__doc__.startswith("Usage: appshell routes [OPTIONS]\n")
    assert "Usage: appshell routes [OPTIONS]" in out
    assert "--sort" in out


def test_unknown_attribute_names_the_commands(cli: CommandRunner) -> None:
    with pytest.raises(AttributeError, match="no command 'nope'; the commands are: add, "):
        cli.nope  # noqa: B018
    assert not hasattr(cli, "nope")


def test_demo_commands_are_attributes(
    demo_cli: CommandRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    init = demo_cli.init_db()
    seed = demo_cli.seed(count=2)
    kept = demo_cli.init_db(keep=True)
    again = demo_cli("seed -n 1")

    out = capsys.readouterr().out
    assert [r.exit_code for r in (init, seed, kept, again)] == [0, 0, 0, 0]
    assert "Added 2 notes; there are 2 now." in out
    assert "Added 1 notes; there are 3 now." in out  # --keep kept the first two


def test_plugin_commands_are_attributes(
    cli: CommandRunner, make_dist: MakeDist, capsys: pytest.CaptureFixture[str]
) -> None:
    make_dist(
        "runner-plugin",
        {"appshell.commands": {"plug-hello": "runner_plugin_mod:hello"}},
        modules={
            "runner_plugin_mod.py": """
            import click

            @click.command("plug-hello")
            @click.option("--who", default="world")
            def hello(who):
                \"\"\"Say hello from a plugin.\"\"\"
                click.echo(f"plugin says hello to {who}")
            """
        },
    )

    result = cli.plug_hello(who="ann")

    assert result.exit_code == 0
    assert capsys.readouterr().out == "plugin says hello to ann\n"
    assert "plug_hello" in dir(cli)


# -- what is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda cli: cli("shell"), "nested shells are refused"),
        (lambda cli: cli(["shell", "-c", "print(1)"]), "nested shells are refused"),
        (lambda cli: cli.shell(), "nested shells are refused"),
        (lambda cli: cli("run"), "cli.run(background=True"),
        (lambda cli: cli.run(), "cli.run(background=True"),
        (lambda cli: cli.run(port=0), "cli.run(background=True"),
        (lambda cli: cli.run(background=True, reload=True), "reloader"),
        (lambda cli: cli.run(background=True, cert="adhoc"), "not cert"),
        (lambda cli: cli.created(background=True), "only `run` can run in the background"),
    ],
    ids=[
        "shell-line",
        "shell-list",
        "shell-attribute",
        "run-line",
        "run-attribute",
        "run-without-background",
        "run-reload",
        "run-unknown-option",
        "background-other-command",
    ],
)
def test_refused_with_a_message_and_exit_code_2(
    cli: CommandRunner,
    capsys: pytest.CaptureFixture[str],
    call: t.Callable[[CommandRunner], t.Any],
    message: str,
) -> None:
    result = call(cli)

    out, err = capsys.readouterr()
    assert result == CommandResult(2)
    assert message in err
    assert out == ""  # nothing ran, nothing was served


# -- the background server ------------------------------------------------------------------


def test_background_server_serves_the_shells_app(
    cli: CommandRunner,
    info: ScriptInfo,
    factory: types.ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = cli.run(background=True, port=0)
    assert isinstance(server, BackgroundServer)
    try:
        before = get(server.url + "/greeting")
        info.load_app().config["GREETING"] = "changed at the prompt"
        after = get(server.url + "/greeting")
        taken = not port_is_free(server.port)
    finally:
        server.stop()

    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert f"Serving runner_app on {server.url}" in capsys.readouterr().out
    assert (before, after) == ("hello from the factory", "changed at the prompt")
    assert len(factory.CREATED) == 1
    assert taken
    assert not server.running
    assert repr(server) == f"<BackgroundServer {server.url} stopped>"
    assert port_is_free(server.port)


def test_closing_the_runner_stops_its_servers(cli: CommandRunner) -> None:
    first = cli.run(background=True, port=0)
    second = cli.run(background=True, port=0)
    assert get(first.url + "/greeting") == get(second.url + "/greeting")

    cli.close()

    assert [first.running, second.running] == [False, False]
    assert [port_is_free(first.port), port_is_free(second.port)] == [True, True]


def test_busy_port_is_a_message_and_exit_code_2(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = cli.run(background=True, port=port)

    assert isinstance(result, CommandResult)
    assert result.exit_code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # one line, not werkzeug's two and ours
    assert f"Port {port} on 127.0.0.1 is not available: it is in use" in lines[0]
    assert isinstance(result.exception, click.ClickException)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": "abc"}, "'abc' is not a port"),
        ({"port": 70000}, "70000 is not a port"),
        ({"port": -1}, "-1 is not a port"),
        ({"host": "no.such.host.invalid", "port": 0}, "the host does not resolve"),
        (
            {"host": "0.0.0.0", "port": 0, "debugger": True},
            "Refusing to run the debugger on '0.0.0.0'",
        ),
    ],
    ids=["port-text", "port-too-big", "port-negative", "host-unresolvable", "remote-debugger"],
)
def test_bad_serving_options_are_one_line_and_exit_code_2(
    cli: CommandRunner,
    capsys: pytest.CaptureFixture[str],
    options: dict[str, t.Any],
    message: str,
) -> None:
    result = cli.run(background=True, **options)

    assert isinstance(result, CommandResult)
    assert result.exit_code == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert message in lines[0]
    assert out == ""  # nothing served


def test_the_remote_debugger_refusal_names_the_keyword(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.run(background=True, host="0.0.0.0", port=0, debugger=True)
    assert "allow_remote_debugger=True" in capsys.readouterr().err


def test_allow_remote_debugger_warns_and_serves_with_the_debugger(
    cli: CommandRunner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import werkzeug.serving
    from werkzeug.debug import DebuggedApplication

    asked: dict[str, t.Any] = {}
    real_make_server = werkzeug.serving.make_server

    def loopback_make_server(host: str, port: int, app: t.Any, **kwargs: t.Any) -> t.Any:
        # The test serves on loopback only: the debugger must never be reachable from outside.
        asked.update(host=host, app=app)
        return real_make_server("127.0.0.1", port, app, **kwargs)

    monkeypatch.setattr(werkzeug.serving, "make_server", loopback_make_server)

    server = cli.run(
        background=True, host="0.0.0.0", port=0, debugger=True, allow_remote_debugger=True
    )
    try:
        assert isinstance(server, BackgroundServer)
        assert get(server.url + "/greeting") == "hello from the factory"
    finally:
        server.stop()

    assert asked["host"] == "0.0.0.0"
    assert isinstance(asked["app"], DebuggedApplication)
    err = capsys.readouterr().err
    assert "the debugger is on and '0.0.0.0' is not loopback" in err
    assert len(err.strip().splitlines()) == 1


# -- end to end: appshell shell -c -----------------------------------------------------------


@pytest.mark.slow
def test_shell_script_runs_commands(run_appshell: RunAppshell, demo_env: dict[str, str]) -> None:
    code = textwrap.dedent(
        """\
        routes = cli.routes(sort="rule")
        print("routes exit", routes.exit_code)
        seed = cli("seed --count 2")
        print("seed exit", seed.exit_code, "notes", Note.count())
        bad = cli("seed --count -1")
        print("bad exit", bad.exit_code)
        captured = cli.seed(count=1, capture=True)
        print("captured", repr(captured.stdout))
        """
    )

    result = run_appshell("--app", "appshell.demo", "shell", "-c", code, env=demo_env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert [line.split()[-1] for line in lines[2:7]] == [
        "/",
        "/health",
        "/notes",
        "/notes",
        "/notes/<int:note_id>",
    ]
    assert lines[7:] == [
        "routes exit 0",
        "Added 2 notes; there are 2 now.",
        "seed exit 0 notes 2",
        "bad exit 2",
        "captured 'Added 1 notes; there are 3 now.\\n'",
    ]
    assert "Invalid value for '--count'" in result.stderr


@pytest.mark.slow
def test_shell_commands_do_not_load_the_app_again(run_appshell: RunAppshell) -> None:
    code = 'cli.created(); cli("created"); cli.db.upgrade(revision="r1")'

    result = run_appshell("--app", f"{APPS / 'runner_app.py'}:create_app", "shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "created=1\ncreated=1\nupgraded to r1\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    "call",
    ['cli("shell")', "cli.shell()", 'cli("--no-debug shell")'],
    ids=["line", "attribute", "global-option-first"],
)
def test_shell_refuses_a_nested_shell(
    run_appshell: RunAppshell, demo_env: dict[str, str], call: str
) -> None:
    # A nested shell would run the script piped to stdin.
    code = f"result = {call}\nprint('exit', result.exit_code)"

    result = run_appshell(
        "--app", "appshell.demo", "shell", "-c", code, env=demo_env, input="print('NESTED')\n"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "exit 2\n"
    assert "nested shells are refused" in result.stderr


@pytest.mark.slow
def test_shell_serving_checks_are_results_not_raises(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    code = textwrap.dedent(
        """\
        calls = [
            dict(port="abc"),
            dict(port=70000),
            dict(port=-1),
            dict(host="no.such.host.invalid", port=0),
            dict(host="0.0.0.0", port=0, debugger=True),
        ]
        for options in calls:
            print(cli.run(background=True, **options).exit_code)
        print("still here")
        """
    )

    result = run_appshell("--app", "appshell.demo", "shell", "-c", code, env=demo_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2", "2", "2", "2", "still", "here"]
    lines = result.stderr.splitlines()
    assert len(lines) == 5, result.stderr
    assert "Traceback" not in result.stderr
    assert "'no.such.host.invalid': the host does not resolve" in lines[3]
    assert "Refusing to run the debugger on '0.0.0.0'" in lines[4]


@pytest.mark.slow
def test_background_server_sees_changes_made_at_the_prompt(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    code = PORT_IS_FREE + textwrap.dedent(
        """\
        import json, urllib.request
        server = cli.run(background=True, port=0)
        app.name = "renamed at the prompt"
        Note.create("made at the prompt")
        with urllib.request.urlopen(server.url + "/notes", timeout=10) as response:
            notes = json.load(response)
        with urllib.request.urlopen(server.url + "/", timeout=10) as response:
            index = response.read().decode()
        free_while_serving = port_is_free(server.port)
        server.stop()
        print(json.dumps({
            "port": server.port,
            "url": server.url,
            "titles": [note["title"] for note in notes],
            "index": index,
            "free_while_serving": free_while_serving,
            "running_after_stop": server.running,
            "free_after_stop": port_is_free(server.port),
        }))
        """
    )

    result = run_appshell("--app", "appshell.demo", "shell", "-c", code, env=demo_env)

    assert result.returncode == 0, result.stderr
    serving, report_line = result.stdout.splitlines()
    report = json.loads(report_line)
    assert serving == f"Serving appshell-demo on {report['url']} (stop with .stop())"
    assert report["url"] == f"http://127.0.0.1:{report['port']}"
    assert report["titles"] == ["made at the prompt"]
    assert report["index"] == "renamed at the prompt: 1 notes\n1. made at the prompt\n"
    assert report["free_while_serving"] is False
    assert report["running_after_stop"] is False
    assert report["free_after_stop"] is True
    assert port_is_free(report["port"])


@pytest.mark.slow
def test_leaving_the_shell_stops_the_server(
    run_appshell: RunAppshell, demo_env: dict[str, str]
) -> None:
    # atexit runs after the shell has ended, while a forgotten daemon thread would still serve.
    code = PORT_IS_FREE + textwrap.dedent(
        """\
        import atexit, urllib.request
        server = cli.run(background=True, port=0)
        with urllib.request.urlopen(server.url + "/health", timeout=10) as response:
            print("health", response.read().decode().strip())
        print("port", server.port)
        atexit.register(
            lambda: print("at exit: running", server.running, "free", port_is_free(server.port))
        )
        """
    )

    result = run_appshell("--app", "appshell.demo", "shell", "-c", code, env=demo_env, timeout=20)

    assert result.returncode == 0, result.stderr
    serving, health, port_line, at_exit = result.stdout.splitlines()
    port = int(port_line.removeprefix("port "))
    assert serving.startswith(f"Serving appshell-demo on http://127.0.0.1:{port}")
    assert health == "health ok"
    assert at_exit == "at exit: running False free True"
    assert port_is_free(port)


def test_command_result_repr_is_one_short_line() -> None:
    # What the prompt shows after every call.
    result = CommandResult(2, stdout="x" * 100, exception=click.UsageError("bad"))

    assert repr(result).startswith("<CommandResult exit_code=2 exception=UsageError('bad') ")
    assert repr(result).endswith("…'>")
