"""A real PostgreSQL for the database tests, started by the suite itself (pgserver).

``postgres_url`` is the server (a SQLAlchemy URL for psycopg 3, database ``postgres``);
``postgres_db`` is a fresh, empty database of its own for one test. Both skip, saying why,
only where the server cannot start (pgserver not installed, or no postgres for this
platform), and fail instead under ``CI`` or ``APPSHELL_TESTS_NEED_POSTGRES``. As root,
pgserver runs the server as a system user of its own (postgres refuses to run as root), so
the data folder lives in a folder that user can reach.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import typing as t
import warnings
from pathlib import Path

import pytest

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_url() -> t.Iterator[str]:
    """A running PostgreSQL server for the whole test session, stopped and deleted at its end."""
    # Not pytest's tmp_path: its folders are private to root, and the server's own user
    # must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="appshell-pg-"))
    folder.chmod(0o755)
    try:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset, at pgserver's import.
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    except Exception as error:  # any reason at all the server cannot start is the skip reason
        # CI installs pgserver, and `nox -s django6` is there to test PostgreSQL too: in
        # either, no server is a failure.
        if os.environ.get("CI") or os.environ.get("APPSHELL_TESTS_NEED_POSTGRES"):
            pytest.fail(f"PostgreSQL (pgserver) did not start: {error!r}")
        pytest.skip(f"PostgreSQL (pgserver) could not start here: {error!r}")
    uri = server.get_uri()
    try:
        yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


@pytest.fixture
def postgres_db(postgres_url: str) -> t.Iterator[str]:
    """A new empty database on the session's server, dropped after the test."""
    import sqlalchemy as sa

    name = f"appshell_test_{next(_counter)}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(postgres_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Jupyter kernels start with this process's environment: their files stay in the
    test's folder (as in tests/e2e/test_notebook.py)."""
    jupyter = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return jupyter
