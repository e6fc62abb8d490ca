"""Shared fixtures: a clean environment for every test, and ways to run appshell for real."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest
from click.testing import CliRunner

from appshell import plugins

TESTS = Path(__file__).parent
APPS = TESTS / "apps"
APPSHELL = Path(sys.executable).with_name("appshell")
#: The source of tests/apps/recorded_asgi.py, for tests to write into their own folder.
RECORDED_ASGI_APP = (APPS / "recorded_asgi.py").read_text()

# The corpus tests build a virtualenv per real project (minutes, the first time): only
# `nox -s corpus` runs them, by setting this variable.
collect_ignore = [] if os.environ.get("APPSHELL_CORPUS_TESTS") == "1" else ["corpus"]


#: The variables a test must not inherit: appshell's own and those that name the app.
_OWN_VARIABLES = ("APPSHELL_", "FLASK_", "QUART_APP", "LITESTAR_APP")


def _clean_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_VARIABLES)}
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> t.Iterator[None]:
    """Each test starts in an empty folder, with no APPSHELL_*/FLASK_* variables, no
    plugins read, and the import state it found; it fails if it leaks an app context."""
    for name in list(os.environ):
        if name.startswith(_OWN_VARIABLES):
            monkeypatch.delenv(name)
    # Nothing a test runs may write to the real user's data, state or config folders.
    for xdg in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(xdg, str(tmp_path / "home" / xdg.lower()))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", sys.path[:])
    before = set(sys.modules)
    plugins.reset()
    yield
    plugins.reset()
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if file.startswith((str(APPS), str(tmp_path))):
            del sys.modules[name]
    _fail_on_leaked_context()


def _fail_on_leaked_context() -> None:
    from appshell.adapters import _active_apps

    leaked = list(_active_apps.get())
    flask_globals = sys.modules.get("flask.globals")
    if flask_globals is not None:
        ctx = flask_globals._cv_app.get(None)
        if ctx is not None:
            leaked.append(ctx)
            ctx.pop()
    if leaked:
        pytest.fail(f"the test left an app context pushed: {leaked!r}")


@pytest.fixture
def runner() -> CliRunner:
    """click's CliRunner, with stdout and stderr kept apart (click >= 8.2 always does)."""
    return CliRunner()


class Result(t.NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_appshell(tmp_path: Path) -> t.Callable[..., Result]:
    """Run the installed ``appshell`` command in a subprocess (cwd: the test's folder)."""

    def run(
        *args: str,
        cwd: Path | str | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 60,
    ) -> Result:
        full_env = _clean_environ()
        full_env.update(env or {})
        proc = subprocess.run(
            [str(APPSHELL), *args],
            cwd=cwd or tmp_path,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Callable[..., Path]:
    """Install a fake distribution with entry points, for this process and its children.

    ``make_dist("myplugin", {"appshell.commands": {"hello": "myplugin_mod:hello"}},
    modules={"myplugin_mod.py": "..."})`` writes ``myplugin-1.0.dist-info`` and the modules
    into a folder that is put on ``sys.path`` and returned (put it on PYTHONPATH for a
    subprocess).
    """
    site = tmp_path / "site"

    def make(
        name: str,
        entry_points: dict[str, dict[str, str]],
        modules: dict[str, str] | None = None,
    ) -> Path:
        site.mkdir(exist_ok=True)
        info = site / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = []
        for group, eps in entry_points.items():
            lines.append(f"[{group}]")
            lines.extend(f"{ep} = {target}" for ep, target in eps.items())
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for filename, source in (modules or {}).items():
            (site / filename).write_text(textwrap.dedent(source))
        if str(site) not in sys.path:
            monkeypatch.syspath_prepend(str(site))
        plugins.reset()
        return site

    return make


@pytest.fixture(scope="session")
def flask_cli_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Flask's own ``tests/`` folder, from the sdist of the installed Flask (fetched with
    ``pip download``), with ``test_cli.py`` importing from ``appshell.cli``; skipped, with
    pip's reason, when PyPI cannot be reached."""
    import importlib.metadata
    import tarfile

    version = importlib.metadata.version("flask")
    where = tmp_path_factory.mktemp("flask-sdist")
    pip = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--no-binary", ":all:", f"flask=={version}", "--dest", str(where)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    archives = sorted(where.glob("flask-*.tar.gz"))
    if pip.returncode != 0 or not archives:
        reason = (pip.stderr.strip().splitlines() or ["no sdist downloaded"])[-1]
        pytest.skip(f"could not fetch Flask {version}'s sdist with pip: {reason}")
    with tarfile.open(archives[0]) as sdist:
        sdist.extractall(where, filter="data")
    tests = where / f"flask-{version}" / "tests"
    test_cli = tests / "test_cli.py"
    source = test_cli.read_text().replace("from flask.cli import", "from appshell.cli import")
    test_cli.write_text(_for_this_pytest(source))
    (tests / "conftest.py").write_text(_for_this_pytest((tests / "conftest.py").read_text()))
    return tests


def _for_this_pytest(source: str) -> str:
    # Flask 3.1's tests use pytest's private `notset`, which newer pytest calls NOTSET.
    import _pytest.monkeypatch

    if hasattr(_pytest.monkeypatch, "notset"):
        return source
    return source.replace(
        "from _pytest.monkeypatch import notset", "from _pytest.monkeypatch import NOTSET as notset"
    ).replace("monkeypatch.notset", "monkeypatch.NOTSET")


Complete = t.Callable[..., list[str]]


@pytest.fixture
def complete(run_appshell: t.Callable[..., Result]) -> Complete:
    """What shell completion offers for the last word of ``words``, as click's bash protocol
    lines (``plain,VALUE``): ``complete("appshell shell --repl pt")``."""

    def offered(
        words: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> list[str]:
        result = run_appshell(
            cwd=cwd,
            env={
                **(env or {}),
                "_APPSHELL_COMPLETE": "bash_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split(" ")) - 1),
            },
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        return [line for line in result.stdout.splitlines() if line]

    return offered
