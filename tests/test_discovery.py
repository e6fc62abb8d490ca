"""Finding the app: every way to name it, what is found in a module, and what a user sees
when it goes wrong. Each case runs twice: in-process through click's CliRunner and as the
real ``appshell`` command in a subprocess."""

from __future__ import annotations

import os
import re
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

import appshell
from appshell.cli import cli
from appshell.discovery import prepare_import

APPS = Path(__file__).parent / "apps"
APPSHELL_DIR = os.path.dirname(os.path.abspath(appshell.__file__)) + os.sep
CWDS = {"apps": APPS, "tests": APPS.parent}


class Outcome(t.NamedTuple):
    code: int
    stdout: str
    stderr: str


Invoke = t.Callable[..., Outcome]


@pytest.fixture(params=["in-process", "subprocess"], ids=["in-process", "subprocess"])
def invoke(
    request: pytest.FixtureRequest,
    runner: t.Any,
    run_appshell: t.Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Invoke:
    """Run ``appshell *args`` with extra environment ``env`` from folder ``cwd``."""

    def in_process(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> Outcome:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = runner.invoke(cli, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def in_subprocess(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> Outcome:
        result = run_appshell(*args, env=env, cwd=cwd)
        return Outcome(result.returncode, result.stdout, result.stderr)

    return in_process if request.param == "in-process" else in_subprocess


def route_rules(stdout: str) -> set[str]:
    """The Rule column of the table ``appshell routes`` prints."""
    lines = stdout.splitlines()
    dashes = next((i for i, line in enumerate(lines) if set(line) <= {"-", " "} and line), None)
    if dashes is None:
        return set()
    return {line.split()[-1] for line in lines[dashes + 1 :] if line.strip()}


def line_of(path: Path, text: str) -> int:
    """The number of the first line of ``path`` that contains ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def frames(stderr: str) -> list[tuple[str, int]]:
    """The (file, line) of every frame of the traceback in ``stderr``, in order."""
    return [
        (file, int(line))
        for file, line in re.findall(r'^  File "([^"]+)", line (\d+)', stderr, re.MULTILINE)
    ]


def write_flask_module(path: Path, rule: str) -> None:
    """A Flask app serving ``rule``, both as ``app`` and from a factory ``create_app``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"""
        from flask import Flask

        def create_app():
            app = Flask(__name__, static_folder=None)
            app.add_url_rule({rule!r}, "index", lambda: "ok")
            return app

        app = create_app()
        """
    path.write_text(textwrap.dedent(source))


def assert_usage_error(outcome: Outcome, *fragments: str) -> None:
    """Exit 2, one paragraph on stderr saying what was wrong, and none of appshell's frames."""
    assert outcome.code == 2, outcome
    assert outcome.stdout == ""
    assert outcome.stderr.startswith("Error: "), outcome.stderr
    assert "\n\n" not in outcome.stderr.strip(), outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert APPSHELL_DIR not in outcome.stderr
    for fragment in fragments:
        assert fragment in outcome.stderr


# -- the ways to name the app ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "cwd", "rule"),
    [
        ("disc_named_app", "apps", "/named-app"),
        ("disc_two_apps:second", "apps", "/second"),
        ("disc_factory:build_admin", "apps", "/built-admin"),
        ("disc_factory:create_app()", "apps", "/factory/default/nodebug"),
        ('disc_factory:create_app("dev", debug=True)', "apps", "/factory/dev/debug"),
        ("disc_factory_needs_args:create_app('staging')", "apps", "/needs/staging"),
        ("disc_pkg", "apps", "/package"),
        ("disc_pkg.inner", "apps", "/package-inner"),
        (str(APPS / "disc_named_app.py"), None, "/named-app"),
        ("apps/disc_named_app.py", "tests", "/named-app"),
        (f"{APPS / 'disc_two_apps.py'}:first", None, "/first"),
        (f'{APPS / "disc_factory.py"}:create_app("qa")', None, "/factory/qa/nodebug"),
        (str(APPS / "disc_pkg"), None, "/package"),
        (str(APPS / "disc_pkg" / "__init__.py"), None, "/package"),
        (str(APPS / "disc_pkg" / "inner.py"), None, "/package-inner"),
    ],
    ids=[
        "module",
        "module:name",
        "module:factory",
        "module:factory()",
        "module:factory(literal-args-and-kwargs)",
        "module:factory(required-arg)",
        "package",
        "dotted-module-in-package",
        "file",
        "relative-file",
        "file:name",
        "file:factory(arg)",
        "package-folder",
        "package-init-file",
        "file-inside-package",
    ],
)
def test_app_option_finds_the_app(invoke: Invoke, app: str, cwd: str | None, rule: str) -> None:
    outcome = invoke("--app", app, "routes", cwd=CWDS.get(cwd or ""))

    assert outcome.code == 0, outcome
    assert route_rules(outcome.stdout) == {rule}
    assert outcome.stderr == ""


@pytest.mark.parametrize(
    ("module", "rule"),
    [
        ("disc_named_app.py", "/named-app"),
        ("disc_application.py", "/named-application"),
        ("disc_single.py", "/single-instance"),
        ("disc_factory.py", "/factory/default/nodebug"),
        ("disc_make_app.py", "/made"),
    ],
    ids=[
        "named-app-before-other-instances-and-factory",
        "named-application",
        "single-instance-before-factory",
        "factory-create_app",
        "factory-make_app",
    ],
)
def test_app_found_in_module(invoke: Invoke, module: str, rule: str) -> None:
    outcome = invoke("--app", str(APPS / module), "routes")

    assert outcome.code == 0, outcome
    assert route_rules(outcome.stdout) == {rule}


@pytest.mark.parametrize(
    ("app", "name"),
    [
        ("disc_wsgi_func.py", "application"),
        ("disc_wsgi_instance.py", "HelloApp"),
        ("disc_wsgi_unnamed.py:wsgi_handler", "hello_world"),
        ("disc_wsgi_unnamed.py:handler", "Handler"),
    ],
    ids=[
        "function-named-application",
        "instance-named-app",
        "function-named-explicitly",
        "instance-named-explicitly",
    ],
)
def test_plain_wsgi_app_found_by_its_name(invoke: Invoke, app: str, name: str) -> None:
    outcome = invoke("--app", str(APPS / app), "routes")

    assert outcome.code == 0, outcome
    assert f"The app {name!r} has no routing table" in outcome.stdout


def test_app_command_runs_from_discovered_app(invoke: Invoke) -> None:
    outcome = invoke("--app", str(APPS / "disc_named_app.py"), "hello")

    assert outcome.code == 0, outcome
    assert outcome.stdout == "hello from disc_named_app\n"


@pytest.mark.parametrize(
    ("args", "env", "rule"),
    [
        ((), {"APPSHELL_APP": "disc_named_app.py"}, "/named-app"),
        ((), {"FLASK_APP": "disc_named_app.py"}, "/named-app"),
        (
            (),
            {"APPSHELL_APP": "disc_application.py", "FLASK_APP": "disc_named_app.py"},
            "/named-application",
        ),
        (
            ("--app", "disc_application.py"),
            {"APPSHELL_APP": "disc_named_app.py"},
            "/named-application",
        ),
    ],
    ids=["APPSHELL_APP", "FLASK_APP", "APPSHELL_APP-beats-FLASK_APP", "option-beats-env"],
)
def test_app_from_environment(
    invoke: Invoke, args: tuple[str, ...], env: dict[str, str], rule: str
) -> None:
    env = {name: str(APPS / value) for name, value in env.items()}
    args = tuple(str(APPS / a) if a.endswith(".py") else a for a in args)

    outcome = invoke(*args, "routes", env=env)

    assert outcome.code == 0, outcome
    assert route_rules(outcome.stdout) == {rule}


# -- no app named: pyproject.toml, wsgi.py, app.py ------------------------------------------


@pytest.mark.parametrize(
    ("files", "cwd", "rule"),
    [
        ({"app.py": "/from-app-py"}, ".", "/from-app-py"),
        ({"app.py": "/from-app-py", "wsgi.py": "/from-wsgi-py"}, ".", "/from-wsgi-py"),
        (
            {
                "pyproject.toml": "blog_site:create_app",
                "blog_site.py": "/from-pyproject",
                "wsgi.py": "/from-wsgi-py",
                "app.py": "/from-app-py",
            },
            ".",
            "/from-pyproject",
        ),
        (
            {
                "pyproject.toml": "blog_site",
                "blog_site.py": "/from-pyproject",
                "sub/deeper/app.py": "/from-app-py",
            },
            "sub/deeper",
            "/from-pyproject",
        ),
        (
            {
                "pyproject.toml": "src/blog_app.py:create_app",
                "src/blog_app.py": "/from-pyproject-path",
            },
            "src",
            "/from-pyproject-path",
        ),
    ],
    ids=[
        "app.py",
        "wsgi.py-before-app.py",
        "pyproject-before-wsgi.py",
        "pyproject-found-from-subfolder",
        "pyproject-file-path-relative-to-pyproject",
    ],
)
def test_default_app(
    invoke: Invoke, tmp_path: Path, files: dict[str, str], cwd: str, rule: str
) -> None:
    for name, content in files.items():
        if name == "pyproject.toml":
            pyproject = f'[project]\nname = "blog"\n\n[tool.appshell]\napp = "{content}"\n'
            (tmp_path / name).write_text(pyproject)
        else:
            write_flask_module(tmp_path / name, content)
    (tmp_path / cwd).mkdir(parents=True, exist_ok=True)

    outcome = invoke("routes", cwd=tmp_path / cwd)

    assert outcome.code == 0, outcome
    assert route_rules(outcome.stdout) == {rule}


# -- what a user sees when no app can be found: exit 2 --------------------------------------


@pytest.mark.parametrize(
    ("app", "cwd", "fragments"),
    [
        (
            "no_such_module_disc",
            None,
            ["Could not import 'no_such_module_disc': no module of that name"],
        ),
        ("disc_pkg.nothere", "apps", ["Could not import 'disc_pkg.nothere'"]),
        (
            "missing_disc.py",
            None,
            ["The file 'missing_disc.py' given as the app does not exist"],
        ),
        (
            "nowhere/missing.py",
            None,
            ["The file 'nowhere/missing.py' given as the app does not exist"],
        ),
        ("disc_no_app", "apps", ["Found no app in module 'disc_no_app'", "--app"]),
        ("disc_wsgi_unnamed", "apps", ["Found no app in module 'disc_wsgi_unnamed'"]),
        (
            "disc_two_apps",
            "apps",
            [
                "more than one app in module 'disc_two_apps'",
                "'disc_two_apps:first'",
                "'disc_two_apps:second'",
            ],
        ),
        (
            "disc_factory_needs_args",
            "apps",
            ["create_app(config_name)", "could not be called with no arguments"],
        ),
        (
            "disc_factory_needs_args:create_app",
            "apps",
            ["create_app(config_name)", "could not be called with no arguments"],
        ),
        (
            'disc_factory:create_app("a", "b", "c")',
            "apps",
            ["create_app(config='default', debug=False)", "could not be called"],
        ),
        (
            "disc_factory:create_app(os.getcwd())",
            "apps",
            ["'create_app(os.getcwd())' are not Python literals"],
        ),
        ("disc_factory:create_app(", "apps", ["Could not parse 'create_app('"]),
        ("disc_factory:title", "apps", ["'disc_factory:title' is a str, not an app"]),
        ("disc_factory:nope", "apps", ["Module 'disc_factory' has no attribute 'nope'"]),
        (
            "disc_factory:returns_nothing",
            "apps",
            ["The factory 'returns_nothing' in module 'disc_factory' returned None, not an app"],
        ),
        ('disc_two_apps:first("x")', "apps", ["'disc_two_apps:first' is a Flask"]),
    ],
    ids=[
        "unknown-module",
        "unknown-module-in-package",
        "missing-file",
        "missing-file-in-folder",
        "no-app-in-module",
        "wsgi-callable-not-found-by-scanning",
        "two-apps-in-module",
        "factory-needs-arguments",
        "named-factory-needs-arguments",
        "factory-given-wrong-arguments",
        "factory-arguments-not-literals",
        "unparsable-name",
        "attribute-not-an-app",
        "missing-attribute",
        "factory-returns-none",
        "call-of-an-app-instance",
    ],
)
def test_no_app_found_is_usage_error(
    invoke: Invoke, app: str, cwd: str | None, fragments: list[str]
) -> None:
    outcome = invoke("--app", app, "routes", cwd=CWDS.get(cwd or ""))

    assert_usage_error(outcome, *fragments)


def test_no_app_configured_is_usage_error(invoke: Invoke) -> None:
    outcome = invoke("routes")

    assert_usage_error(outcome, "No app to load", "--app", "APPSHELL_APP", "[tool.appshell]")


def test_factory_arguments_are_never_evaluated(invoke: Invoke, tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    app = f"{APPS / 'disc_factory.py'}:create_app(open({str(marker)!r}, 'w').close())"

    outcome = invoke("--app", app, "routes")

    assert_usage_error(outcome, "are not Python literals")
    assert not marker.exists()


# -- the user's code raised: exit 1, their traceback ------------------------------------------


@pytest.mark.parametrize(
    ("app", "module", "frame_lines", "last_line"),
    [
        (
            "disc_import_error.py",
            "disc_import_error.py",
            ["import nosuchdependency_disc"],
            "ModuleNotFoundError: No module named 'nosuchdependency_disc'",
        ),
        (
            "disc_import_name_error.py",
            "disc_import_name_error.py",
            ["from os import no_such_name_disc"],
            "ImportError: cannot import name 'no_such_name_disc' from 'os'",
        ),
        (
            "disc_raises.py",
            "disc_raises.py",
            ["# raise at import"],
            "RuntimeError: the database is not reachable",
        ),
        (
            "disc_factory_raises.py",
            "disc_factory_raises.py",
            ["# raise in create_app"],
            "TypeError: SECRET_KEY must be a str",
        ),
        (
            'disc_factory_raises.py:configured("dev")',
            "disc_factory_raises.py",
            ["_read_port(None)", "return int(value)"],
            "TypeError: int() argument must be",
        ),
    ],
    ids=[
        "import-error-in-module",
        "import-name-error-in-module",
        "exception-in-module",
        "type-error-raised-in-factory",
        "type-error-raised-below-factory-given-args",
    ],
)
def test_error_in_user_code_shows_their_traceback(
    invoke: Invoke, app: str, module: str, frame_lines: list[str], last_line: str
) -> None:
    path = APPS / module

    outcome = invoke("--app", str(APPS / app), "routes")

    assert outcome.code == 1, outcome
    assert outcome.stdout == ""
    assert outcome.stderr.startswith("Traceback (most recent call last):\n"), outcome.stderr
    expected_frames = [(os.path.realpath(path), line_of(path, text)) for text in frame_lines]
    assert frames(outcome.stderr) == expected_frames, outcome.stderr
    assert outcome.stderr.rstrip().splitlines()[-1].startswith(last_line)
    assert "Could not import" not in outcome.stderr
    assert "could not be called" not in outcome.stderr


def test_syntax_error_in_module_shown_as_python_shows_it(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "disc_syntax.py"
    path.write_text('"""A module with a syntax error."""\n\ndef broken(:\n    pass\n')

    outcome = invoke("--app", str(path), "routes")

    assert outcome.code == 1, outcome
    assert f'  File "{os.path.realpath(path)}", line 3\n    def broken(:\n' in outcome.stderr
    assert frames(outcome.stderr) == [(os.path.realpath(path), 3)], outcome.stderr
    assert outcome.stderr.rstrip().splitlines()[-1].startswith("SyntaxError: ")
    assert "Error: " not in outcome.stderr.replace("SyntaxError: ", "")


# -- prepare_import: the module name and the folder it is imported from ----------------------


@pytest.mark.parametrize(
    ("files", "path", "module", "folder"),
    [
        (["plain.py"], "plain.py", "plain", "."),
        (["plain.py"], "plain", "plain", "."),
        (["tools/script.py"], "tools/script.py", "script", "tools"),
        (["pkg/__init__.py"], "pkg", "pkg", "."),
        (["pkg/__init__.py"], "pkg/__init__.py", "pkg", "."),
        (
            ["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"],
            "pkg/sub/mod.py",
            "pkg.sub.mod",
            ".",
        ),
        (["src/pkg/__init__.py", "src/pkg/app.py"], "src/pkg/app.py", "pkg.app", "src"),
    ],
    ids=[
        "file",
        "module-name",
        "file-in-plain-folder",
        "package-folder",
        "package-init",
        "module-in-subpackage",
        "src-layout",
    ],
)
def test_prepare_import(
    tmp_path: Path, files: list[str], path: str, module: str, folder: str
) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()

    assert prepare_import(path) == module
    assert sys.path[0] == os.path.realpath(tmp_path / folder)
