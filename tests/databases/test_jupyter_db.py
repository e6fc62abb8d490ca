"""The database options in Jupyter (``%appshell --sandbox`` and the others, ``%sql_echo``,
the N+1 line) in real kernels driven by nbclient, and in appshell's own IPython shell in a
pseudo-terminal; a Flask-SQLAlchemy app on a real SQLite file."""

from __future__ import annotations

import sqlite3
import typing as t
from pathlib import Path

import pexpect
import pytest

from ..conftest import Result
from ..e2e.test_notebook import assert_no_errors, run_cells
from ..e2e.test_repls import PROMPTS, Session, spawn_appshell, stop_all

pytestmark = pytest.mark.slow

NOTES_APP = """
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

HERE = os.path.dirname(os.path.abspath(__file__))
db = SQLAlchemy()


class Note(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def create_app():
    app = Flask("nbnotes")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(HERE, "notes.sqlite3")
    db.init_app(app)
    return app
"""

APP = "nbnotes:create_app"
#: A cell that commits a row through the app's own session.
COMMIT = "db.session.add(Note(text='second'))\ndb.session.commit()"
COUNT = "import sqlalchemy as sa\ndb.session.scalar(sa.select(sa.func.count()).select_from(Note))"


@pytest.fixture
def project(tmp_path: Path, kernel_env: Path) -> Path:
    """A project folder with the app and its SQLite file (one note in it)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "nbnotes.py").write_text(NOTES_APP)
    with sqlite3.connect(folder / "notes.sqlite3") as conn:
        conn.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, text VARCHAR NOT NULL)")
        conn.execute("INSERT INTO note (text) VALUES ('first')")
    conn.close()
    return folder


def dump(folder: Path) -> list[str]:
    """The whole SQLite file, as SQL."""
    conn = sqlite3.connect(folder / "notes.sqlite3")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_sandbox_is_rolled_back_at_detach_and_at_unload(project: Path) -> None:
    before = dump(project)
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {APP} --sandbox",
        COMMIT,
        COUNT,
        "%appshell",
        "%appshell --detach",
        f"%appshell --app {APP} --sandbox",
        COMMIT + "\n" + COUNT,
        "%unload_ext appshell",
        # The kernel's shutdown detaches a sandbox left attached.
        "%load_ext appshell",
        f"%appshell --app {APP} --sandbox",
        COMMIT,
        folder=project,
    )
    assert_no_errors(outputs)
    _load, attach, commit, count, status, detach, again, count_again, unload = outputs[:9]
    mark = "SANDBOX: every change to default (sqlite) is rolled back when the session ends"
    assert mark in attach.text
    assert "<p>appshell: attached nbnotes" in attach.html
    assert f"<br>{mark}" in attach.html
    assert mark in status.text
    assert not commit.stderr
    assert count.text == count_again.text == "2"
    assert detach.stderr == "appshell: Sandbox: rolled back 2 statements on 1 database (default)\n"
    assert "detached nbnotes" in detach.stdout
    assert mark in again.text
    assert "appshell: Sandbox: rolled back" in unload.stderr
    assert dump(project) == before


def test_read_only_refuses_a_write_and_the_next_cell_works(project: Path) -> None:
    before = dump(project)
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {APP} --read-only --sandbox",
        COMMIT,
        "db.session.rollback()\n" + COUNT,
        "%appshell --detach",
        folder=project,
    )
    load, attach, write, read, detach = outputs
    assert_no_errors([load, attach, read, detach])
    assert "READ-ONLY (--sandbox too: read-only wins): writes are refused on default" in (
        attach.text
    )
    assert write.failed
    (error,) = write.errors
    assert error.ename == "OperationalError"
    assert "attempt to write a readonly database" in error.evalue
    assert read.text == "1"
    assert dump(project) == before


def test_sql_echo_and_the_repeated_query_line_go_to_the_cells_stderr(project: Path) -> None:
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {APP}",
        "%sql_echo on",
        "import sqlalchemy as sa\ndb.session.scalar(sa.select(Note.text).where(Note.id == 1))",
        "%sql_echo off",
        "[db.session.get(Note, i) for i in range(100, 112)].count(None)",
        "%appshell --detach",
        "%sql_echo on",
        folder=project,
    )
    assert_no_errors(outputs[:-1])
    _load, _attach, on, query, off, loop, _detach, gone = outputs
    assert on.stdout.startswith("<sql echo on")
    assert query.text == "'first'"
    header, *statement = query.stderr.splitlines()
    # The cell's line that ran it, named as IPython names the cell (the kernel compiled it
    # to a file of its own).
    assert header.startswith("-- [default]  In [4]:2  ")
    assert statement == ["SELECT note.text", "FROM note", "WHERE note.id = ?", "-- (1,)"]
    assert off.stdout.startswith("<sql echo off")
    assert loop.text == "12"
    (line,) = loop.stderr.splitlines()
    assert line.startswith("N+1? 12 times in one statement from ")
    assert line.endswith("): SELECT note.id, note.text FROM note WHERE note.id = ?")
    # Detached: the magic went with the app.
    assert gone.failed
    assert gone.stderr == "UsageError: Line magic function `%sql_echo` not found.\n"


PLAIN_FLASK = """
from flask import Flask

app = Flask("nodb")
"""


def test_database_options_without_a_database_and_bad_options_are_one_line(
    project: Path,
) -> None:
    (project / "nodb.py").write_text(PLAIN_FLASK)
    outputs = run_cells(
        "%load_ext appshell",
        f"%appshell --app {APP}",
        "%appshell --read-only=yes",
        # A bad option changes nothing: the app attached stays attached, with no sandbox.
        "%appshell",
        # No database is found once the app is open, when the one attached before is detached.
        "%appshell --app nodb --sandbox",
        "%appshell --detach",
        folder=project,
    )
    _load, _attach, bad, status, nodb, after = outputs
    assert_no_errors([_load, _attach, status, after])
    for failed in (nodb, bad):
        (error,) = failed.errors
        (line,) = error.traceback
        assert "\n" not in line
    assert (
        nodb.errors[0]
        .traceback[0]
        .startswith("appshell: --sandbox needs a database, and none was found for this app.")
    )
    assert bad.errors[0].traceback[0].startswith("appshell: Option '--read-only' does not take")
    assert "appshell: nbnotes (" in status.text
    assert "SANDBOX" not in status.text
    assert after.stdout == "appshell: no app attached.\n"


def test_an_awaited_attach_takes_the_database_options(project: Path) -> None:
    before = dump(project)
    outputs = run_cells(
        "import appshell\nawait appshell.attach('nbnotes:create_app', sandbox=True)",
        COMMIT + "\n" + COUNT,
        "await appshell.detach()",
        folder=project,
    )
    assert_no_errors(outputs)
    attach, count, detach = outputs
    assert "SANDBOX: every change to default (sqlite)" in attach.text
    assert count.text == "2"
    assert detach.stderr == "appshell: Sandbox: rolled back 2 statements on 1 database (default)\n"
    assert dump(project) == before


def test_the_ipython_prompt_says_sandbox_and_has_sql_echo(project: Path) -> None:
    before = dump(project)
    child = spawn_appshell(project, ["--app", APP, "shell", "--repl", "ipython", "--sandbox"])
    try:
        shell = Session(child, r"\[SANDBOX\] " + PROMPTS["ipython"])
        banner = shell.wait_prompt()
        assert "SANDBOX: every change to default (sqlite)" in banner
        shell.run("%sql_echo on", r"<sql echo on")
        shell.run("db.session.add(Note(text='second')); db.session.commit()", r"INSERT INTO note")
        shell.run("%sql_echo off", r"<sql echo off")
        shell.run(
            "[db.session.get(Note, i) for i in range(100, 112)].count(None)",
            r"N\+1\? 12 times in one statement from In \[\d+\]",
        )
        shell.run("%sql_echo maybe", r"%sql_echo takes on or off, not 'maybe'")
        child.sendline("exit")
        child.expect(r"appshell: Sandbox: rolled back \d+ statements on 1 database")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        stop_all([child])
    assert dump(project) == before


def test_a_kernel_installed_with_a_sandbox_profile_attaches_in_a_sandbox(
    project: Path, tmp_path: Path, run_appshell: t.Callable[..., Result]
) -> None:
    (project / "pyproject.toml").write_text("[tool.appshell.profiles.safe]\nsandbox = true\n")
    installed = run_appshell(
        "--app", APP, "kernel", "install", "--name", "appshell-safe", "--profile", "safe",
        cwd=project,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    before = dump(project)
    outputs = run_cells(
        COMMIT + "\n" + COUNT, "%appshell --detach", folder=tmp_path, kernel_name="appshell-safe"
    )
    assert_no_errors(outputs)
    count, detach = outputs
    assert count.text == "2"
    assert detach.stderr == "appshell: Sandbox: rolled back 2 statements on 1 database (default)\n"
    assert dump(project) == before
