"""The shell session: the one object ``shell``, ``flask shell`` and ``%appshell`` build."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import click
import pytest

import appshell.cli
from appshell.scriptinfo import ScriptInfo
from appshell.shell.backends import PythonBackend
from appshell.shell.context import ContextBuilder
from appshell.shell.session import ShellSession, choose_profile, make_banner

from .conftest import APPS, APPSHELL, Result, _clean_environ

RunAppshell = t.Callable[..., Result]

FLASK_APP = str(APPS / "shell_flaskapp.py")
ANSI = "\x1b["


def installed(distribution: str) -> str:
    return importlib.metadata.version(distribution)


KEYED_APP = """
from flask import Flask

app = Flask(__name__)

class User:
    pass

@app.shell_context_processor
def models():
    return {User: User, "db": "the-db"}
"""

TEARDOWN_APP = """
from flask import Flask

app = Flask(__name__)

@app.teardown_appcontext
def close(exc):
    print("teardown ran", flush=True)
    raise RuntimeError("teardown broke")
"""


@pytest.fixture
def keyed(tmp_path: Path) -> Path:
    (tmp_path / "keyed.py").write_text(KEYED_APP)
    return tmp_path


# -- the object ------------------------------------------------------------------------------


def test_session_opens_pushes_the_context_and_closes_it(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("from flask import Flask\napp = Flask('plain')\n")
    info = ScriptInfo(app_import_path="plain:app")
    session = ShellSession(info, group=appshell.cli.cli, groups=(appshell.cli.cli,))
    namespace = session.open()
    try:
        assert namespace["app"] is info.load_app()
        # In the session's context, where every statement runs; not in the caller's.
        assert session.loop.call(info.adapter.context_is_active)
        assert not info.adapter.context_is_active()
        assert namespace.provenance["cli"].source == "default"
    finally:
        assert session.close() is True
    assert not session.loop.call(info.adapter.context_is_active)
    assert session.close() is True  # a second close does nothing


def test_a_raising_teardown_is_shown_and_close_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tearing.py").write_text(TEARDOWN_APP)
    session = ShellSession(ScriptInfo(app_import_path="tearing:app"), group=appshell.cli.cli)
    session.open()
    assert session.close() is False
    err = capsys.readouterr().err
    assert "RuntimeError: teardown broke" in err
    assert "appshell" not in err.split("Traceback", 1)[1].split("tearing.py")[0]


def test_choose_profile_reads_both_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert choose_profile().name == "default"
    monkeypatch.setenv("APPSHELL_PROFILE", "minimal")
    assert choose_profile().name == "minimal"
    monkeypatch.setenv("APPSHELL_SHELL_PROFILE", "data")
    assert choose_profile().name == "data"
    assert choose_profile("dev").name == "dev"


# -- bad input: what a provider returns --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("--print-context",), ("--print-context", "--json"), ("-i", "-c", "print(db)")],
    ids=["print-context", "json", "interactive"],
)
def test_a_non_string_key_is_reported_and_left_out(
    run_appshell: RunAppshell, keyed: Path, args: tuple[str, ...]
) -> None:
    result = run_appshell(
        "--app", "keyed", "shell", "--repl", "python", *args, input="print(sorted(dir()))\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "shell context adapter gave the key <class 'keyed.User'>" in result.stderr
    assert "'User'" in result.stderr
    if "--json" in args:
        names = [record["name"] for record in json.loads(result.stdout)]
        assert "db" in names
    else:
        assert "db" in result.stdout


def test_a_provider_returning_none_is_an_error_naming_it(
    run_appshell: RunAppshell, tmp_path: Path
) -> None:
    (tmp_path / "nothing.py").write_text(
        textwrap.dedent(
            """
            from flask import Flask
            from appshell.cli import AppShellGroup

            app = Flask(__name__)
            cli = AppShellGroup(create_app=lambda: app)

            @cli.shell_context
            def forgot_to_return():
                x = 1
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import nothing; nothing.cli.main(['shell', '-c', 'pass'])"],
        cwd=tmp_path,
        env=_clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "provider:forgot_to_return returned None" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- bad input: listing or running --------------------------------------------------------------


@pytest.mark.parametrize(
    "variable", ["APPSHELL_SHELL_JSON", "APPSHELL_SHELL_PRINT_CONTEXT"], ids=["json", "print"]
)
def test_listing_variables_never_turn_a_script_into_a_listing(
    run_appshell: RunAppshell, variable: str
) -> None:
    result = run_appshell(
        "--app", "appshell.demo", "shell", "-c", "print(1 + 1)", env={variable: "1"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\n"


@pytest.mark.parametrize(
    "args",
    [("-c", "print(1)"), ("script.py",), ("-i",), ("--echo", "script.py")],
    ids=["command", "file", "interactive", "echo"],
)
def test_print_context_with_code_to_run_is_a_usage_error(
    run_appshell: RunAppshell, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "script.py").write_text("print('ran')\n")
    result = run_appshell("--app", "appshell.demo", "shell", "--print-context", *args)
    assert result.returncode == 2
    assert "--print-context lists the names" in result.stderr
    assert "ran" not in result.stdout
    assert "Traceback" not in result.stderr


def test_stdin_closed_exits_as_python_does(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(APPSHELL), "--app", "appshell.demo", "shell"],
        cwd=tmp_path,
        env=_clean_environ() | {"APPSHELL_DEMO_DATABASE": str(tmp_path / "notes.db")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        # The child starts with file descriptor 0 closed, as `appshell shell <&-` does.
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_errors_are_not_coloured_under_no_color(tmp_path: Path) -> None:
    import pexpect

    child = pexpect.spawn(
        str(APPSHELL),
        ["--app", "appshell.demo", "shell", "--repl", "nosuchrepl"],
        cwd=str(tmp_path),
        env=_clean_environ() | {"NO_COLOR": "1"},
        encoding="utf-8",
        timeout=30,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "Error: No REPL called 'nosuchrepl'" in child.before
    assert "\x1b[" not in child.before


# -- the banner --------------------------------------------------------------------------------


class FakeBackend:
    name = "recorder"
    install_hint = "pip install recorder-repl"

    def is_available(self) -> bool:
        return True

    def version(self) -> str | None:
        return "4.2"

    def run(self, namespace: dict[str, t.Any], banner: str, settings: t.Any) -> None:
        raise AssertionError("not run")


def banner_for(import_string: str, backend: t.Any, *, color: bool = False, **sources: t.Any) -> str:
    info = ScriptInfo(app_import_path=import_string)
    builder = ContextBuilder()
    builder.add("default", {"app": info.load_app()})
    for source, names in sources.items():
        builder.add(source.replace("_", ":"), names)
    return make_banner(info, builder.build(), backend, color=color)


def banner_groups(banner: str) -> list[tuple[str, str]]:
    """The banner's "source  names" lines, in order."""
    lines = banner.splitlines()[2:]
    assert all(line.startswith("  ") for line in lines), banner
    pairs = (re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines)
    return [(source, names) for source, names in pairs]


@pytest.mark.parametrize(
    ("import_string", "framework", "app_name"),
    [
        ("appshell.demo", f"Werkzeug {installed('werkzeug')}", "appshell-demo"),
        (FLASK_APP, f"Flask {installed('flask')}", "shell_flaskapp"),
    ],
    ids=["wsgi", "flask"],
)
def test_banner_versions_and_app(import_string: str, framework: str, app_name: str) -> None:
    banner = banner_for(import_string, FakeBackend())
    lines = banner.splitlines()
    assert lines[0].split(" · ") == [
        f"Python {platform.python_version()}",
        f"appshell {appshell.__version__}",
        framework,
        "recorder 4.2",
    ]
    assert lines[1] == f"App: {app_name} ({import_string})"
    assert banner.endswith("\n")


def test_banner_does_not_repeat_python_for_the_python_repl() -> None:
    first = banner_for("appshell.demo", PythonBackend()).splitlines()[0]
    assert first.split(" · ") == [
        f"Python {platform.python_version()}",
        f"appshell {appshell.__version__}",
        f"Werkzeug {installed('werkzeug')}",
    ]


def test_banner_groups_names_by_source() -> None:
    banner = banner_for(
        "appshell.demo",
        FakeBackend(),
        adapter={"db": 1, "Note": 2},
        provider_models={"User": 3, "audit": 4, "db": 5},
        startup={"Tag": 6},
    )
    assert banner_groups(banner) == [
        ("default", "app"),
        ("adapter", "Note"),
        ("provider:models", "audit, db, User"),
        ("startup", "Tag"),
    ]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (8, "n0, n1, n2, n3, n4, n5, n6, n7"),
        (9, "n0, n1, n2, n3, n4, n5, n6, n7, … (+1 more)"),
        (30, "n0, n1, n10, n11, n12, n13, n14, n15, … (+22 more)"),
    ],
    ids=["eight-not-folded", "nine-folded", "thirty-folded"],
)
def test_banner_folds_long_lists(count: int, expected: str) -> None:
    names = {f"n{i}": i for i in range(count)}
    banner = banner_for("appshell.demo", FakeBackend(), profile_dev=names)
    assert dict(banner_groups(banner))["profile:dev"] == expected


def test_banner_shows_names_not_values() -> None:
    class Loud:
        def __repr__(self) -> str:
            return "<LOUD VALUE>"

    banner = banner_for("appshell.demo", FakeBackend(), adapter={"loud": Loud()})
    assert "loud" in banner
    assert "LOUD VALUE" not in banner
    assert "Loud" not in banner


@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_banner_color(color: bool) -> None:
    banner = banner_for("appshell.demo", FakeBackend(), color=color, adapter={"db": 1})
    assert (ANSI in banner) is color
    assert click.unstyle(banner) == banner_for("appshell.demo", FakeBackend(), adapter={"db": 1})
