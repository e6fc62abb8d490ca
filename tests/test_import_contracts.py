"""The import contracts of pyproject.toml catch a wrong arrow.

``nox -s lint`` runs ``lint-imports`` on the tree as it is; these tests run it on a copy of
the package with one wrong import added, and check that the contract that forbids it breaks
and names the import: one placed inside a function, one under ``TYPE_CHECKING``, an ORM
imported outside its own module, an import cycle inside a package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> tuple[int, str]:
    """Run lint-imports in ``project``: its exit code and its output, whitespace folded
    (the report wraps long lines to the terminal's width)."""
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the package and of pyproject.toml (which holds the contracts)."""
    shutil.copytree(
        ROOT / "appshell", tmp_path / "appshell", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_copy_keeps_every_contract(project: Path) -> None:
    code, output = lint_imports(project)
    assert code == 0, output
    assert " 0 broken" in output


WRONG_IMPORTS = [
    pytest.param(
        "term.py",
        "\n\ndef _reach_up() -> None:\n    from . import scriptinfo  # noqa: F401\n",
        "DESIGN.md's rows 6 to 14: each imports only the rows below it BROKEN",
        "appshell.term -> appshell.scriptinfo",
        id="upward-inside-a-function",
    ),
    pytest.param(
        "databases/asyncpg_read_only.py",
        "\nif t.TYPE_CHECKING:\n    from .django import integration  # noqa: F401\n",
        "databases: the session's tools over the ORM integrations, each ORM alone, over what"
        " no ORM owns BROKEN",
        "appshell.databases.asyncpg_read_only -> appshell.databases.django",
        id="orm-from-an-agnostic-module-under-type-checking",
    ),
    pytest.param(
        "databases/django/hooks.py",
        "\n\ndef _other_orm() -> None:\n    import sqlalchemy  # noqa: F401\n",
        "sqlalchemy only from the SQLAlchemy ORM integration BROKEN",
        "appshell.databases.django.hooks -> sqlalchemy",
        id="an-orm-outside-its-own-module",
    ),
    pytest.param(
        "databases/dbapi.py",
        "\n\ndef _back() -> None:\n    from . import commitguard  # noqa: F401\n",
        "No import cycle among the modules of one package BROKEN",
        "commitguard",
        id="a-cycle-inside-a-package",
    ),
]


@pytest.mark.parametrize(("module", "added", "contract", "named"), WRONG_IMPORTS)
def test_a_wrong_import_breaks_its_contract(
    project: Path, module: str, added: str, contract: str, named: str
) -> None:
    path = project / "appshell" / module
    path.write_text(path.read_text() + added)

    code, output = lint_imports(project)

    assert code == 1, output
    assert contract in output
    assert named in output
    assert " 1 broken" in output
