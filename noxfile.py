"""Project tasks: ``nox`` runs tests, lint and typing; ``nox -s django6`` the Django
database tests on the newest Django; ``nox -s coverage`` the tests under coverage; ``nox -s
corpus`` appshell on the real projects of ../shared/corpus; ``nox -s bench`` the benchmarks.

Each session installs what it needs from this project's own files (pyproject.toml extras),
so a fresh machine with only Python and pip can run them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "tests"))
from interpreters import find_python  # the tests' folder, just above

nox.options.sessions = ["tests", "lint", "typing"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, end-to-end tests included (``-- -m "not slow"`` skips those)."""
    # A real (not editable) install: the tests see what a user's pip install gives them.
    session.install(".[test]")
    session.run("pytest", *session.posargs)


#: The Django database tests: sandbox, read-only, echo, and the real command on them.
DJANGO_DATABASE_TESTS = [
    "tests/django/test_db_sandbox.py",
    "tests/django/test_db_read_only.py",
    "tests/django/test_db_echo.py",
    "tests/django/test_db_command.py",
]


@nox.session(python=str(find_python("3.12")[0] or "3.12"))
def django6(session: nox.Session) -> None:
    """The Django database tests on the newest Django, on SQLite and PostgreSQL.

    Django 6 needs Python 3.12, and the ``tests`` session's Python gets Django 5.2, so this
    one runs on 3.12 (``python3.12`` on ``PATH``, else pyenv's: tests/interpreters.py). Its
    PostgreSQL cases fail, never skip, when the suite's server cannot start. CI runs it
    after ``nox``.
    """
    session.install(".[test]")
    # 6.1 at least: its MAILERS setting is tested here.
    session.install("--upgrade", "django>=6.1")
    session.env["APPSHELL_TESTS_NEED_POSTGRES"] = "1"
    session.run("python", "-c", "import django; print('Django', django.get_version())")
    session.run("pytest", *(session.posargs or DJANGO_DATABASE_TESTS))


@nox.session
def coverage(session: nox.Session) -> None:
    """The test suite under coverage: branch coverage of ``appshell/`` measured in every
    process the tests start (the real command, pseudo-terminals, kernels), combined and
    reported at the end. Not run by default: on this project's 2-core machine it takes the
    suite from about 10 minutes to over 15."""
    session.install(".[test]", "coverage>=7.10")
    # Not session.create_tmp(): that also points TMPDIR inside the virtualenv, where
    # werkzeug's reloader does not watch files (a test's app there is never reloaded).
    data = Path(".nox", "coverage").resolve()
    if data.exists():
        for old in data.iterdir():
            old.unlink()
    data.mkdir(parents=True, exist_ok=True)
    # Read by every Python process the tests start, so that all their data lands together.
    session.env["COVERAGE_FILE"] = str(data / ".coverage")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet", str(data))
    session.run("coverage", "report", "--skip-covered", "--sort=cover")


@nox.session
def corpus(session: nox.Session) -> None:
    """appshell on the real projects of ../shared/corpus (tests/corpus/), each in a virtualenv
    of its own (cached in ~/.cache/appshell-corpus) with its own requirements.

    This session's virtualenv runs pytest and the PostgreSQL server; bakerydemo needs
    python3.12 (on PATH, or under pyenv's versions). Not run by default: CI runs it after.
    """
    session.install(".[test]")
    session.env["APPSHELL_CORPUS_TESTS"] = "1"
    # pytest's exit code 5 (no test collected) fails the session as any other would.
    session.run("pytest", "tests/corpus", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's checks and formatting, and the import contracts of pyproject.toml (the rows
    of DESIGN.md, read from the source: appshell need not be installed)."""
    session.install("ruff>=0.6", "import-linter>=2.17")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy, strict, on the package."""
    session.install("mypy>=1.10", ".[test]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks: one table, each figure against its peer (``-- --json FILE`` saves it).

    The Flask peers run from a second virtualenv without appshell (with appshell installed,
    ``flask shell`` is appshell's). Whole commands are judged on the instructions they execute
    under valgrind's callgrind, if installed (``-- --only commands`` measures those alone).
    pandas and numpy (the ``bench`` extra) are there for the ``data`` profile's figure.
    """
    session.install(".[test,bench]")
    peer = Path(session.virtualenv.location).parent / "bench-peer"
    if not (peer / "bin" / "flask").exists():
        session.run_install(sys.executable, "-m", "venv", str(peer), external=True)
        session.run_install(str(peer / "bin" / "pip"), "install", "-q", "flask", external=True)
    session.env.pop("PYTHONDONTWRITEBYTECODE", None)
    session.run("python", "-m", "compileall", "-q", session.virtualenv.location, silent=True)
    session.run("python", "tests/benchmarks/bench.py", "--peer-venv", str(peer), *session.posargs)
