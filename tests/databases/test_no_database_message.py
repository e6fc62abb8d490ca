"""The "no database" line names what was looked for for the app at hand: a Flask app's
SQLAlchemy engines, a Django project's ``DATABASES``, even in a process (a Jupyter kernel, an
app that imports Django for something else) where the other ORM is imported too."""

from __future__ import annotations

import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from ..conftest import _clean_environ

if t.TYPE_CHECKING:
    from ..conftest import Result

Run = t.Callable[..., "Result"]

FLASK_APP = "from flask import Flask\napp = Flask('nodb')\n"


def _attach_in_ipython(folder: Path, *cells: str) -> str:
    """The stderr and stdout of an IPython that runs ``cells``, the extension loaded."""
    code = "ip = get_ipython()\nip.run_line_magic('load_ext', 'appshell')\n" + "".join(
        f"_ = ip.run_cell({cell!r})\n" for cell in cells
    )
    result = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c", code],
        cwd=folder,
        env=_clean_environ() | {"NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def _no_database_line(output: str) -> str:
    lines = {line for line in output.splitlines() if "needs a database" in line}
    assert len(lines) == 1, output
    return lines.pop()


def test_in_a_kernel_that_imported_django_a_flask_app_is_told_of_sqlalchemy(
    tmp_path: Path,
) -> None:
    pytest.importorskip("IPython")
    (tmp_path / "nodb.py").write_text(FLASK_APP)
    line = _no_database_line(
        _attach_in_ipython(tmp_path, "import django", "%appshell --app nodb --sandbox")
    )
    assert line.startswith("appshell: --sandbox needs a database, and none was found for this app.")
    assert "SQLAlchemy engines" in line
    assert "Flask-SQLAlchemy's db" in line
    assert "DATABASES" not in line


def test_a_flask_app_that_imports_django_is_told_of_sqlalchemy(
    run_appshell: Run, tmp_path: Path
) -> None:
    (tmp_path / "nodb.py").write_text("import django\n" + FLASK_APP)
    result = run_appshell("--app", "nodb", "shell", "--read-only", "-c", "print('ran')")
    assert result.returncode == 2
    assert "ran" not in result.stdout
    line = _no_database_line(result.stderr)
    assert "SQLAlchemy engines" in line
    assert "DATABASES" not in line
