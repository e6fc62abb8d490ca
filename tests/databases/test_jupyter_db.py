"""The database options in Jupyter (``%appshell --sandbox`` and the others, ``%sql_echo``,
the N+1 line) in real kernels driven by nbclient, and in appshell's own IPython shell in a
pseudo-terminal; a Flask-SQLAlchemy app on a real SQLite file."""

from __future__ import annotations

import sqlite3
import typing as t
from pathlib import Path

import pytest

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
    assert f"<p>appshell: attached nbnotes" in attach.html and f"<br>{mark}" in attach.html
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
    # The cell's line that ran it (the kernel names a cell by the file it compiled it to).
    assert header.startswith("-- [default]  ") and ".py:2  " in header
    assert statement == ["SELECT note.text", "FROM note", "WHERE note.id = ?", "-- (1,)"]
    assert off.stdout.startswith("<sql echo off")
    assert loop.text == "12"
    (line,) = loop.stderr.splitlines()
    assert line.startswith("N+1? 12 times in one statement from ")
    assert line.endswith("): SELECT note.id, note.text FROM note WHERE note.id = ?")
    # Detached: the magic went with the app.
    assert gone.failed
    assert gone.stderr == "UsageError: Line magic function `%sql_echo` not found.\n"
