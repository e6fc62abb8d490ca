"""``sql``: statement echo, counts and the N+1 finder, fed by SQLAlchemy's engine events,
on real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from appshell.databases.database import Database
from appshell.databases.echo import SQLEcho, register_ipython_magic, unregister_ipython_magic
from appshell.databases.sqlalchemy.echo import attach
from appshell.exceptions import MagicError


class Base(orm.DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str]
    addresses: orm.Mapped[list[Address]] = orm.relationship(back_populates="user")


class Address(Base):
    __tablename__ = "addresses"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    email: orm.Mapped[str]
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    user: orm.Mapped[User] = orm.relationship(back_populates="addresses")


def _fill(engine: sa.Engine, users: int = 12) -> None:
    Base.metadata.create_all(engine)
    with orm.Session(engine) as session:
        for n in range(1, users + 1):
            session.add(User(id=n, name=f"user{n}", addresses=[Address(email=f"u{n}@x.test")]))
        session.commit()


@pytest.fixture
def blog(tmp_path: Path) -> t.Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'blog.db'}")
    _fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sql(blog: sa.Engine) -> t.Iterator[SQLEcho]:
    echo = SQLEcho(threshold=5)
    detach = attach([Database("default", "sqlite:///blog.db", "sqlite", blog)], echo)
    yield echo
    detach()


def _run_script(path: Path, source: str, namespace: dict[str, t.Any]) -> None:
    path.write_text(textwrap.dedent(source))
    exec(compile(path.read_text(), str(path), "exec"), namespace)


def test_echo_prints_sql_parameters_duration_bind_and_script_line(
    sql: SQLEcho, blog: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql.echo = True
    script = """\
        session = Session(engine)
        user = session.get(User, 5)
        session.close()
        """
    _run_script(tmp_path / "fix.py", script, {"Session": orm.Session, "engine": blog, "User": User})
    err = capsys.readouterr().err
    header = re.search(r"^-- \[default\]  fix\.py:2  (\d+\.\d+) ms$", err, re.M)
    assert header is not None, err
    assert "FROM users\nWHERE users.id = ?" in err
    assert "-- (5,)" in err
    assert "\x1b[" not in err  # stderr is not a terminal here


def test_user_line_skips_flask_sqlalchemy_and_appshell_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    app = Flask("blogapp")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'flask.db'}"
    app.config["SQLALCHEMY_BINDS"] = {"archive": f"sqlite:///{tmp_path / 'archive.db'}"}
    db = SQLAlchemy(app)

    class Post(db.Model):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)

    class Old(db.Model):  # type: ignore[name-defined,misc]
        __bind_key__ = "archive"
        id = db.Column(db.Integer, primary_key=True)

    sql = SQLEcho()
    with app.app_context():
        db.create_all()
        databases = [
            Database(key or "default", str(engine.url), "sqlite", engine)
            for key, engine in db.engines.items()
        ]
        detach = attach(databases, sql)
        sql.echo = True
        try:
            source = "Post.query.filter_by(id=3).all()\n\nOld.query.count()\n"
            exec(compile(source, "<stdin>", "exec"), {"Post": Post, "Old": Old})
        finally:
            detach()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    err = capsys.readouterr().err
    assert re.search(r"^-- \[default\]  <stdin>:1  ", err, re.M), err
    assert re.search(r"^-- \[archive\]  <stdin>:3  ", err, re.M), err


@pytest.mark.parametrize(
    ("filename", "shown"),
    [("<string>", "<string>:2"), ("<ipython-input-3-0a1b2c3d4e5f>", "In [3]:2")],
    ids=["exec-string", "ipython-cell"],
)
def test_user_line_of_code_without_a_file(
    sql: SQLEcho, blog: sa.Engine, filename: str, shown: str
) -> None:
    source = "conn = engine.connect()\nconn.exec_driver_sql('SELECT 1'); conn.close()\n"
    exec(compile(source, filename, "exec"), {"engine": blog})
    assert sql.last is not None
    assert sql.last.line == shown


def test_user_line_skips_a_librarys_wrapper_compiled_from_a_string(
    sql: SQLEcho, blog: sa.Engine
) -> None:
    # SQLAlchemy 2.0 compiles some session methods from strings ("<string>", in its own
    # module's globals); the user's -c code is "<string>" too, in __main__'s.
    wrapper = (
        "def run(engine):\n"
        "    with engine.connect() as conn:\n"
        "        conn.exec_driver_sql('SELECT 1')\n"
    )
    library: dict[str, t.Any] = {"__name__": "sqlalchemy.orm.session"}
    exec(compile(wrapper, "<string>", "exec"), library)
    library["run"](blog)  # the user's line: this one
    line = sys._getframe().f_lineno - 1
    assert sql.last is not None
    assert sql.last.line is not None
    assert sql.last.line.endswith(f"test_echo.py:{line}"), sql.last.line


def test_user_line_of_an_async_engine_crosses_the_greenlet(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    script = tmp_path / "report.py"
    script.write_text(
        "async def main(engine):\n"
        "    async with engine.connect() as conn:\n"
        "        await conn.execute(text('SELECT 42'))\n"
    )
    namespace: dict[str, t.Any] = {"text": sa.text}
    exec(compile(script.read_text(), str(script), "exec"), namespace)
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    sql = SQLEcho()
    detach = attach([Database("default", "", "sqlite", engine.sync_engine, True)], sql)

    async def run() -> None:
        try:
            await namespace["main"](engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    detach()
    assert sql.last is not None
    assert (sql.last.sql, sql.last.line) == ("SELECT 42", "report.py:3")


def test_the_statements_of_a_flush_and_a_commit_name_the_users_line(
    sql: SQLEcho, blog: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLAlchemy 2.1 runs a flush and a commit through wrappers it compiles at run time
    # (<sqlalchemy generated ...> frames): they are its, not the user's.
    script = """\
        session = Session(engine)
        session.add(User(id=100, name="new"))
        session.flush()
        session.get(User, 1).name = "renamed"
        session.commit()
        session.close()
        """
    sql.echo = True
    _run_script(tmp_path / "fix.py", script, {"Session": orm.Session, "engine": blog, "User": User})
    err = capsys.readouterr().err
    shown = re.findall(r"^-- \[default\]  (\S+)  .*\n(\w+)", err, re.M)
    assert shown == [("fix.py:3", "INSERT"), ("fix.py:4", "SELECT"), ("fix.py:5", "UPDATE")], err


def test_n_plus_one_line_counts_the_lazy_loads_of_a_loop(
    sql: SQLEcho, blog: sa.Engine, tmp_path: Path
) -> None:
    script = """\
        with Session(engine) as session:
            for user in session.scalars(select(User)):
                print(user.name, [a.email for a in user.addresses])
        """
    names = {"Session": orm.Session, "engine": blog, "User": User, "select": sa.select}
    _run_script(tmp_path / "loop.py", script, names)
    line = sql.after_statement()
    assert line is not None
    assert re.fullmatch(
        r"N\+1\? 12 times in one statement from loop\.py:3 \(\d+\.\d+ ms in all\):"
        r" SELECT addresses\.id, .* FROM addresses WHERE \? = addresses\.user_id",
        line,
    ), line
    assert sql.count == 13
    # Each prompt statement is judged on its own.
    assert sql.after_statement() is None


def test_n_plus_one_needs_different_parameters_and_a_threshold(
    blog: sa.Engine, tmp_path: Path
) -> None:
    sql = SQLEcho(threshold=3)
    off = SQLEcho(threshold=0)
    detach = attach([Database("default", "", "sqlite", blog)], sql)
    detach_off = attach([Database("default", "", "sqlite", blog)], off)
    with blog.connect() as conn:
        for _ in range(5):
            conn.execute(sa.text("SELECT name FROM users WHERE id = :id"), {"id": 1})
    assert sql.after_statement() is None  # the same query five times is no N+1
    with blog.connect() as conn:
        for n in range(5):
            conn.execute(sa.text("SELECT name FROM users WHERE id = :id"), {"id": n})
    found = sql.after_statement()
    assert found is not None
    assert found.startswith("N+1? 5 times"), found
    assert off.after_statement() is None
    assert off.count == 10
    detach()
    detach_off()


def test_toggling_echo_counts_always_and_prints_only_while_on(
    sql: SQLEcho, blog: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repr(sql) == "<sql echo off, 0 statements so far; sql.echo = True to switch>"
    with blog.connect() as conn:
        conn.exec_driver_sql("SELECT 'quiet'")
        sql.echo = True
        conn.exec_driver_sql("SELECT 'loud'")
        sql.echo = False
        conn.exec_driver_sql("SELECT 'quiet again'")
    err = capsys.readouterr().err
    assert "'loud'" in err
    assert "quiet" not in err
    assert sql.count == 3
    assert repr(sql) == "<sql echo off, 3 statements so far; sql.echo = True to switch>"
    with pytest.raises(TypeError, match=r"sql\.echo is True or False, not 'yes'"):
        sql.echo = "yes"  # type: ignore[assignment]


def test_count_last_and_reset(sql: SQLEcho, blog: sa.Engine) -> None:
    assert (sql.count, sql.last) == (0, None)
    with blog.connect() as conn:
        conn.execute(sa.text("SELECT name FROM users WHERE id = :id"), {"id": 7})
    last = sql.last
    assert last is not None
    assert (last.sql, last.parameters, last.database) == (
        "SELECT name FROM users WHERE id = ?",
        (7,),
        "default",
    )
    assert last.duration > 0
    assert not last.many
    assert last.error is None
    assert "SELECT name FROM users WHERE id = ?" in repr(last)
    sql.reset()
    assert (sql.count, sql.last) == (0, None)


def test_executemany_and_failures_are_recorded(
    sql: SQLEcho, blog: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    sql.echo = True
    users = User.__table__
    with blog.begin() as conn:
        conn.execute(users.insert(), [{"id": 100, "name": "a"}, {"id": 101, "name": "b"}])
    assert sql.last is not None
    assert sql.last.many
    assert "-- 2 parameter sets [(100, 'a'), (101, 'b')]" in capsys.readouterr().err
    with pytest.raises(sa.exc.IntegrityError), blog.begin() as conn:
        conn.execute(users.insert(), {"id": 100, "name": "again"})
    assert sql.last is not None
    assert sql.last.error == "IntegrityError: UNIQUE constraint failed: users.id"
    err = capsys.readouterr().err
    assert "-- failed: IntegrityError: UNIQUE constraint failed: users.id" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("no_color", "coloured"), [(None, True), ("1", False)], ids=["terminal", "NO_COLOR"]
)
def test_colour_only_on_a_terminal_without_no_color(
    sql: SQLEcho,
    blog: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    no_color: str | None,
    coloured: bool,
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.delenv("TERM", raising=False)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    sql.echo = True
    with blog.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert "SELECT 1" in terminal.getvalue()
    assert ("\x1b[" in terminal.getvalue()) is coloured


def test_detach_stops_recording(blog: sa.Engine) -> None:
    sql = SQLEcho()
    detach = attach([Database("default", "", "sqlite", blog)], sql)
    detach()
    with blog.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert sql.count == 0


def test_postgresql_statements_name_their_bind(
    postgres_db: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = sa.create_engine(postgres_db)
    sql = SQLEcho()
    detach = attach([Database("reports", postgres_db, "postgresql", engine)], sql)
    sql.echo = True
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT :n + 1"), {"n": 41})
    finally:
        detach()
        engine.dispose()
    err = capsys.readouterr().err
    assert re.search(r"^-- \[reports\]  .*test_echo\.py:\d+  \d", err, re.M), err
    assert "SELECT %(n)s + 1\n-- {'n': 41}" in err


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_dialects_first_connect_statements_are_not_the_users(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLAlchemy's dialect asks a new engine's first connection for its version and settings
    # (several statements on PostgreSQL): neither counted nor echoed as the user's.
    url = (
        f"sqlite:///{tmp_path / 'first.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    engine = sa.create_engine(url)
    sql = SQLEcho()
    detach = attach([Database("default", url, kind, engine)], sql)
    sql.echo = True
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 41 + 1")).scalar() == 42
    finally:
        detach()
        engine.dispose()
    err = capsys.readouterr().err
    assert sql.count == 1, err
    assert sql.last is not None
    assert sql.last.sql == "SELECT 41 + 1"
    assert err.count("-- [default]") == 1, err


def test_sql_echo_magic_switches_echo() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        sql = SQLEcho()
        register_ipython_magic(shell, sql)
        shell.run_line_magic("sql_echo", "on")
        assert sql.echo
        shell.run_line_magic("sql_echo", "OFF")
        assert not sql.echo
        with pytest.raises(MagicError, match="%sql_echo takes on or off, not 'loud'"):
            shell.run_line_magic("sql_echo", "loud")
        unregister_ipython_magic(shell)
        assert shell.find_line_magic("sql_echo") is None
    finally:
        InteractiveShell.clear_instance()
