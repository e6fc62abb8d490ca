"""The SQLAlchemy sandbox, on real SQLite files and a real PostgreSQL: whatever road the app's
code takes to its databases, every table is the same afterwards, row for row."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from appshell.databases.sqlalchemy.sandbox import Sandbox, SandboxEnded, SandboxError
from appshell.exceptions import AppShellUsageError


@dataclass
class Db:
    """What the integration finds for a database (the fields of databases.database.Database)."""

    name: str
    url: str
    dialect: str
    engine: t.Any
    is_async: bool = False


def record(name: str, engine: t.Any) -> Db:
    sync = getattr(engine, "sync_engine", engine)
    return Db(name, sync.url.render_as_string(), sync.dialect.name, sync, sync is not engine)


SCHEMA = [
    "CREATE TABLE items (id SERIAL PRIMARY KEY, title VARCHAR(50) UNIQUE NOT NULL)",
    "INSERT INTO items (title) VALUES ('first'), ('second')",
]


def sqlite_file(folder: Path, name: str = "app.db") -> str:
    path = folder / name
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT UNIQUE NOT NULL)")
        conn.execute("INSERT INTO items (title) VALUES ('first'), ('second')")
    conn.close()
    return f"sqlite:///{path}"


def postgres_with_items(url: str) -> str:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        for statement in SCHEMA:
            conn.exec_driver_sql(statement)
    engine.dispose()
    return url


def snapshot(url: str) -> object:
    """Everything in the database: SQLite's whole dump; on PostgreSQL every table's rows and
    the list of tables (read through a connection of its own, outside any sandbox)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database or "")
        try:
            return list(conn.iterdump())
        finally:
            conn.close()
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            return {
                table: sorted(map(tuple, conn.exec_driver_sql(f"SELECT * FROM {table}")))
                for table in sorted(tables)
            }
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with an ``items`` table holding two rows, on each database tested."""
    if request.param == "sqlite":
        return sqlite_file(tmp_path)
    return postgres_with_items(request.getfixturevalue("postgres_db"))


@pytest.fixture
def sandboxed(db_url: str) -> t.Iterator[tuple[sa.Engine, Sandbox]]:
    """The app's engine on ``db_url`` inside a started sandbox; afterwards, nothing changed."""
    before = snapshot(db_url)
    engine = sa.create_engine(db_url)
    sandbox = Sandbox([record("default", engine)], wait=2)
    sandbox.start()
    try:
        yield engine, sandbox
    finally:
        sandbox.end()
        engine.dispose()
    assert snapshot(db_url) == before


def titles(conn: sa.Connection | orm.Session) -> list[str]:
    return list(conn.execute(sa.text("SELECT title FROM items ORDER BY title")).scalars())


def test_flask_sqlalchemy_binds_commits_are_rolled_back(tmp_path: Path) -> None:
    flask = pytest.importorskip("flask")
    from flask_sqlalchemy import SQLAlchemy

    main_url, users_url = sqlite_file(tmp_path, "main.db"), sqlite_file(tmp_path, "users.db")
    before = snapshot(main_url), snapshot(users_url)
    app = flask.Flask("binds")
    app.config["SQLALCHEMY_DATABASE_URI"] = main_url
    app.config["SQLALCHEMY_BINDS"] = {"users": users_url}
    db = SQLAlchemy(app)

    class Item(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "items"
        id = sa.Column(sa.Integer, primary_key=True)
        title = sa.Column(sa.String, unique=True, nullable=False)

    class User(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "items"
        __bind_key__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        title = sa.Column(sa.String, unique=True, nullable=False)

    with app.app_context():
        found = [record("default" if k is None else k, e) for k, e in db.engines.items()]
        sandbox = Sandbox(found)
        sandbox.start()
        db.session.add_all([Item(title="fixed"), User(title="alice")])
        db.session.commit()
        db.session.execute(sa.update(Item).values(title=Item.title + "!"))
        db.session.commit()
        with db.engine.connect() as conn:
            assert titles(conn) == ["first!", "fixed!", "second!"]
            conn.exec_driver_sql("DELETE FROM items")
            conn.commit()
        raw = db.engines["users"].raw_connection()
        raw.cursor().execute("DELETE FROM items")
        raw.commit()
        raw.close()
        assert db.session.query(Item).count() == 0
        db.session.remove()
        line = sandbox.end()
    assert line == "Sandbox: rolled back 7 statements on 2 databases (default, users)"
    assert (snapshot(main_url), snapshot(users_url)) == before


def test_plain_sessionmaker_app(sandboxed: tuple[sa.Engine, Sandbox]) -> None:
    engine, _ = sandboxed
    make_session = orm.sessionmaker(engine)
    with make_session() as session:
        session.execute(sa.text("INSERT INTO items (title) VALUES ('third')"))
        session.commit()
        session.execute(sa.text("UPDATE items SET title = title || '?'"))
        session.rollback()  # only the last savepoint: 'third' stays inside the sandbox
        assert titles(session) == ["first", "second", "third"]
    with make_session.begin() as session:
        session.execute(sa.text("DELETE FROM items WHERE title = 'first'"))
    with engine.connect() as conn:
        assert titles(conn) == ["second", "third"]


def test_a_session_that_outlives_the_sandbox_closes_quietly_and_is_refused_after(
    db_url: str,
) -> None:
    before = snapshot(db_url)
    engine = sa.create_engine(db_url)
    sandbox = Sandbox([record("default", engine)], wait=2)
    sandbox.start()
    kept = orm.Session(engine)
    kept.execute(sa.text("INSERT INTO items (title) VALUES ('kept')"))
    sandbox.end()  # the session still holds its stand-in connection
    with pytest.raises(Exception, match="the session ended and everything it did was rolled"):
        kept.execute(sa.text("INSERT INTO items (title) VALUES ('after the end')"))
    kept.close()  # its rollback after the end does nothing, and raises nothing
    with engine.connect() as conn:  # the engine is the app's own again
        assert titles(conn) == ["first", "second"]
    engine.dispose()
    assert snapshot(db_url) == before


def test_ddl_released_savepoints_and_commit_as_sql_roll_back(
    sandboxed: tuple[sa.Engine, Sandbox],
) -> None:
    engine, _ = sandboxed
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE made_in_the_sandbox (x INTEGER)")
        with conn.begin_nested():
            conn.exec_driver_sql("INSERT INTO made_in_the_sandbox VALUES (1)")
        conn.exec_driver_sql("DROP TABLE items")
        conn.exec_driver_sql("COMMIT")
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("INSERT INTO made_in_the_sandbox VALUES (2)")
        conn.commit()
        assert conn.exec_driver_sql("SELECT count(*) FROM made_in_the_sandbox").scalar() == 2


def test_the_pysqlite_workaround_of_the_app_itself(tmp_path: Path) -> None:
    url = sqlite_file(tmp_path)
    before = snapshot(url)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def no_pysqlite_transactions(dbapi_connection: t.Any, record: t.Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def emit_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    with engine.connect() as conn:  # a connection already in the pool before the sandbox
        titles(conn)
    sandbox = Sandbox([record("default", engine)])
    sandbox.start()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("DELETE FROM items")
    assert sandbox.end() == "Sandbox: rolled back 2 statements on 1 database (default)"
    assert snapshot(url) == before
    with engine.connect() as conn:  # the app's own connection is as it was
        assert conn.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
    engine.dispose()


def test_a_failed_statement_rolls_back_only_its_savepoint(
    sandboxed: tuple[sa.Engine, Sandbox],
) -> None:
    engine, _ = sandboxed
    with orm.Session(engine) as session:
        session.execute(sa.text("INSERT INTO items (title) VALUES ('third')"))
        session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            session.execute(sa.text("INSERT INTO items (title) VALUES ('first')"))
        session.rollback()
        assert titles(session) == ["first", "second", "third"]


def test_postgres_names_the_sequences_that_advanced(postgres_db: str) -> None:
    url = postgres_with_items(postgres_db)
    before = snapshot(url)
    engine = sa.create_engine(url)
    sandbox = Sandbox([record("default", engine)])
    sandbox.start()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO items (title) VALUES ('third')")
        conn.exec_driver_sql("DO $$ BEGIN PERFORM 1; END $$")  # a BEGIN and END in a body
    line = sandbox.end()
    engine.dispose()
    assert line == (
        "Sandbox: rolled back 2 statements on 1 database (default); PostgreSQL does not roll "
        "back sequences, these advanced: 'default': public.items_id_seq"
    )
    assert snapshot(url) == before


def test_threads_take_turns_on_the_one_connection(sandboxed: tuple[sa.Engine, Sandbox]) -> None:
    engine, _ = sandboxed
    seen: list[object] = []

    def worker() -> None:
        try:
            with engine.begin() as conn:
                seen.append(titles(conn))
                conn.exec_driver_sql("INSERT INTO items (title) VALUES ('from a thread')")
        except Exception as error:
            seen.append(error)

    session = orm.Session(engine)
    session.execute(sa.text("INSERT INTO items (title) VALUES ('third')"))
    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.3)
    assert seen == []  # waiting while this thread's session holds the connection
    session.commit()
    thread.join(5)
    assert seen == [["first", "second", "third"]]
    assert titles(session) == ["first", "from a thread", "second", "third"]

    other = threading.Thread(target=worker)  # this session holds it longer than `wait`
    other.start()
    other.join(10)
    session.close()
    assert isinstance(seen[-1], SandboxError)
    assert "in use by another thread for 2 s" in str(seen[-1])


def test_engines_outside_the_sandbox_are_refused(
    sandboxed: tuple[sa.Engine, Sandbox], db_url: str
) -> None:
    late = sa.create_engine(db_url)
    with pytest.raises(SandboxError, match="created after the sandbox started"):
        late.connect()
    with pytest.raises(SandboxError, match="created after the sandbox started"):
        late.raw_connection()
    with pytest.raises(SandboxError, match="created after the sandbox started"):
        orm.Session(late).execute(sa.text("SELECT 1"))
    late.dispose()


def test_autocommit_is_refused(sandboxed: tuple[sa.Engine, Sandbox]) -> None:
    engine, _ = sandboxed
    with pytest.raises(SandboxError, match="refused isolation_level='AUTOCOMMIT'"):
        engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        with pytest.raises(SandboxError, match="refused isolation_level='AUTOCOMMIT'"):
            conn.execution_options(isolation_level="AUTOCOMMIT")
        raw = conn.connection.dbapi_connection
        attribute = "isolation_level" if engine.dialect.name == "sqlite" else "autocommit"
        with pytest.raises(SandboxError, match="refused AUTOCOMMIT"):
            setattr(raw, attribute, None if attribute == "isolation_level" else True)


def test_a_connection_from_before_the_sandbox_is_refused(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    early = engine.connect()
    sandbox = Sandbox([record("default", engine)])
    sandbox.start()
    try:
        with pytest.raises(SandboxError, match="opened before the sandbox started"):
            early.exec_driver_sql("DELETE FROM items")
    finally:
        sandbox.end()
        early.close()
        engine.dispose()


def test_mysql_ddl_is_refused_before_it_runs(sandboxed: tuple[sa.Engine, Sandbox]) -> None:
    engine, sandbox = sandboxed
    outer = sandbox._outers[0]  # MySQL itself is not installed here
    outer.dialect_name, outer.implicit_commits = "mysql", True
    with engine.connect() as conn:
        with pytest.raises(SandboxError, match="mysql commits the open transaction"):
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.rollback()
        assert "t" not in sa.inspect(conn).get_table_names()
        conn.exec_driver_sql("CREATE TEMPORARY TABLE tmp (x INTEGER)")


def test_the_server_ending_the_transaction_ends_the_sandbox(postgres_db: str) -> None:
    url = postgres_with_items(postgres_db)
    before = snapshot(url)
    admin = sa.create_engine(url, poolclass=sa.NullPool)
    with admin.begin() as conn:
        name = sa.make_url(url).database
        conn.exec_driver_sql(f"ALTER DATABASE {name} SET idle_in_transaction_session_timeout = 500")
    admin.dispose()
    engine = sa.create_engine(url)
    sandbox = Sandbox([record("default", engine)])
    sandbox.start()
    try:
        with orm.Session(engine) as session:
            session.execute(sa.text("INSERT INTO items (title) VALUES ('third')"))
            session.commit()
            time.sleep(1.5)
            with pytest.raises(SandboxEnded, match="Nothing the session did was committed"):
                session.execute(sa.text("SELECT 1"))
            session.rollback()
        with pytest.raises(SandboxEnded, match="has ended"), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        line = sandbox.end()
    assert line.endswith("the sandbox on 'default' had already ended (nothing was committed)")
    engine.dispose()
    assert snapshot(url) == before


def test_async_sessions_are_sandboxed(tmp_path: Path) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    url = sqlite_file(tmp_path)
    before = snapshot(url)
    engine = create_async_engine(url.replace("sqlite://", "sqlite+aiosqlite://"))
    sandbox = Sandbox([record("default", engine)])
    sandbox.start()

    async def app_code() -> list[str]:
        async with async_sessionmaker(engine)() as session:
            await session.execute(sa.text("INSERT INTO items (title) VALUES ('third')"))
            await session.commit()
            await session.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await session.commit()
            return list((await session.execute(sa.text("SELECT title FROM items"))).scalars())

    assert asyncio.run(app_code()) == ["first", "second", "third"]
    assert sandbox.end() == "Sandbox: rolled back 3 statements on 1 database (default)"
    asyncio.run(engine.dispose())
    assert snapshot(url) == before


@pytest.mark.parametrize(
    ("databases", "message"),
    [
        ([], "no database was found"),
        ([Db("default", "x://", "x", object())], "is not a SQLAlchemy Engine"),
        (
            [
                record(
                    "default",
                    sa.create_engine("sqlite://").execution_options(isolation_level="AUTOCOMMIT"),
                )
            ],
            "is set to AUTOCOMMIT isolation",
        ),
    ],
    ids=["no-database", "not-an-engine", "autocommit-options"],
)
def test_a_sandbox_that_cannot_start_is_a_usage_error(databases: list[Db], message: str) -> None:
    with pytest.raises(AppShellUsageError, match=message) as info:
        Sandbox(databases).start()
    assert info.value.exit_code == 2


def test_an_autocommit_engine_cannot_be_sandboxed(postgres_db: str) -> None:
    engine = sa.create_engine(postgres_db, isolation_level="AUTOCOMMIT")
    with pytest.raises(AppShellUsageError, match="'default' is set to AUTOCOMMIT isolation"):
        Sandbox([record("default", engine)]).start()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    engine.dispose()


KILLED = """
    import sys
    from dataclasses import dataclass
    import sqlalchemy as sa
    from sqlalchemy import orm
    from appshell.databases.sqlalchemy.sandbox import Sandbox

    @dataclass
    class Db:
        name: str
        url: str
        dialect: str
        engine: object
        is_async: bool = False

    class Base(orm.DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "items"
        id = sa.Column(sa.Integer, primary_key=True)
        title = sa.Column(sa.String(50), unique=True, nullable=False)

    items = Item.__table__
    url, kind = sys.argv[1:]
    engine = sa.create_engine(url)
    Sandbox([Db("default", url, engine.dialect.name, engine)]).start()

    def orm_flush():
        with orm.Session(engine) as session:
            session.add(Item(title="third"))
            session.flush()
            session.delete(session.scalars(sa.select(Item).filter_by(title="first")).one())
            session.commit()

    def core(statement, *rows):
        with engine.begin() as conn:
            conn.execute(statement, *rows)

    def raw_cursor():
        raw = engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute("UPDATE items SET title = 'raw' WHERE title = 'first'")
        cursor.execute("DELETE FROM items WHERE title = 'second'")
        raw.commit()

    def ddl():
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE made_before_the_kill (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO made_before_the_kill VALUES (1)")
            conn.exec_driver_sql("ALTER TABLE items ADD COLUMN note VARCHAR(20)")
            conn.exec_driver_sql("DROP TABLE made_before_the_kill")
            conn.exec_driver_sql("CREATE TABLE kept_until_the_kill (x INTEGER)")

    def sequence():
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT nextval('items_id_seq')")
            conn.exec_driver_sql("CREATE SEQUENCE made_before_the_kill_seq")
            conn.exec_driver_sql("SELECT nextval('made_before_the_kill_seq')")
            conn.execute(items.insert().values(title="third"))

    writes = {
        "orm-add-flush": orm_flush,
        "core-insert": lambda: core(items.insert().values(title="third")),
        "core-update": lambda: core(items.update().values(title=sa.func.upper(items.c.title))),
        "core-delete": lambda: core(items.delete()),
        "executemany": lambda: core(items.insert(), [{"title": "a"}, {"title": "b"}]),
        "raw-cursor": raw_cursor,
        "ddl": ddl,
        "sequence": sequence,
    }
    writes[kind]()
    print("written", flush=True)
    sys.stdin.readline()  # killed here, the sandbox's transaction open
"""

#: Each kind of write a sandboxed script may be killed after, on both databases (a
#: sequence's nextval, PostgreSQL's alone, has its own test below).
WRITE_KINDS = [
    "orm-add-flush",
    "core-insert",
    "core-update",
    "core-delete",
    "executemany",
    "raw-cursor",
    "ddl",
]


@pytest.mark.parametrize("kind", WRITE_KINDS)
def test_sigkill_inside_a_sandbox_leaves_nothing_committed(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    """A sandboxed script killed with SIGKILL after each kind of write (its commit done, so
    far as the app knows) leaves every table as it was: SQLite's journal and PostgreSQL's
    dropped connection roll the sandbox's one transaction back."""
    _killed_after(db_url, tmp_path, kind)


def test_sigkill_after_a_sequences_nextval_leaves_nothing_committed(
    postgres_db: str, tmp_path: Path
) -> None:
    _killed_after(postgres_with_items(postgres_db), tmp_path, "sequence")


def _killed_after(db_url: str, tmp_path: Path, kind: str) -> None:
    before = snapshot(db_url)
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED))
    code, stderr = signalled_at_marker(
        [sys.executable, str(script), db_url, kind], "written\n", signal.SIGKILL
    )
    assert code == -signal.SIGKILL, stderr
    assert snapshot(db_url) == before


def signalled_at_marker(
    command: list[str], marker: str, sig: signal.Signals, **options: t.Any
) -> tuple[int, str]:
    """Run ``command``, send it ``sig`` once it has printed the line ``marker`` (no timed
    wait), and return its exit code and what it wrote to stderr."""
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == marker
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        proc.kill()
        _, stderr = proc.communicate()
    return proc.returncode, stderr


# -- through the real command (turned on when h/dbcore's --sandbox wiring is merged) ----------

FLASK_APP = """
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = {main!r}
    app.config["SQLALCHEMY_BINDS"] = {{"users": {users!r}}}
    db = SQLAlchemy(app)

    class Item(db.Model):
        __tablename__ = "items"
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String, unique=True, nullable=False)

    class User(db.Model):
        __tablename__ = "items"
        __bind_key__ = "users"
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String, unique=True, nullable=False)
"""

FIX_TITLES = """
    import sys
    from blog import Item, User, db

    for item in Item.query.all():
        item.title = item.title.upper()
    db.session.add(User(title="alice"))
    db.session.commit()
    print("fixed", Item.query.count())
    if len(sys.argv) > 1:
        sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def flask_app_with_binds(tmp_path: Path) -> tuple[str, str]:
    main, users = sqlite_file(tmp_path, "main.db"), sqlite_file(tmp_path, "users.db")
    (tmp_path / "blog.py").write_text(textwrap.dedent(FLASK_APP.format(main=main, users=users)))
    (tmp_path / "fix_titles.py").write_text(textwrap.dedent(FIX_TITLES))
    return main, users


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code"), [((), 0), (("3",), 3)], ids=["script-commits", "script-sys-exit"]
)
def test_a_sandboxed_script_that_commits_leaves_every_table_as_it_was(
    flask_app_with_binds: tuple[str, str],
    run_appshell: t.Callable[..., t.Any],
    args: tuple[str, ...],
    code: int,
) -> None:
    before = [snapshot(url) for url in flask_app_with_binds]
    result = run_appshell("--app", "blog", "shell", "--sandbox", "fix_titles.py", *args)
    assert result.returncode == code, result.stderr
    assert result.stdout == "fixed 2\n"
    assert "Sandbox: rolled back" in result.stderr
    assert "(default, users)" in result.stderr
    assert [snapshot(url) for url in flask_app_with_binds] == before


@pytest.mark.slow
def test_an_engine_made_at_the_prompt_is_refused(
    flask_app_with_binds: tuple[str, str], run_appshell: t.Callable[..., t.Any]
) -> None:
    main, _ = flask_app_with_binds
    before = snapshot(main)
    code = (
        "import sqlalchemy as sa\n"
        f"sa.create_engine({main!r}).connect().exec_driver_sql('DELETE FROM items')\n"
    )
    result = run_appshell("--app", "blog", "shell", "--sandbox", "-c", code)
    assert result.returncode == 1
    assert "refused a database connection from an engine it does not sandbox" in result.stderr
    assert snapshot(main) == before


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_signalled_sandboxed_session_leaves_nothing_committed(
    flask_app_with_binds: tuple[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    from tests.conftest import APPSHELL, _clean_environ

    before = [snapshot(url) for url in flask_app_with_binds]
    code = (
        "db.session.add(Item(title='new')); db.session.commit(); "
        "print('committed', flush=True); import time; time.sleep(60)"
    )
    signalled_at_marker(
        [str(APPSHELL), "--app", "blog", "shell", "--sandbox", "-c", code],
        "committed\n",
        sig,
        cwd=tmp_path,
        env=_clean_environ(),
    )
    assert [snapshot(url) for url in flask_app_with_binds] == before


ASYNCPG_APP = """
from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

engine = create_async_engine({url!r})
Session = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50), unique=True)


app = FastAPI()
"""

ASYNC_FIX = """
from sqlalchemy import delete, func, select, update

from main import Session

async with Session() as session:
    session.add(Item(title="third"))
    await session.execute(update(Item).where(Item.title == "first").values(title="FIRST"))
    await session.execute(delete(Item).where(Item.title == "second"))
    await session.commit()
    print(await session.scalar(select(func.count()).select_from(Item)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
@pytest.mark.parametrize("how", ["script", "prompt-statements"])
def test_an_async_postgresql_sandbox_rolls_back_on_the_loop_its_connection_belongs_to(
    postgres_db: str, tmp_path: Path, run_appshell: t.Callable[..., t.Any], how: str, driver: str
) -> None:
    """asyncpg's connections can be used on the loop they were made on only: the sandbox's
    rollback at the end runs there, before the session's loop closes (it used to run on a
    loop of its own: 60 lines of 'attached to a different loop', and no end line)."""
    url = postgres_with_items(postgres_db)
    before = snapshot(url)
    async_url = sa.make_url(url).set(drivername=f"postgresql+{driver}")
    (tmp_path / "main.py").write_text(
        ASYNCPG_APP.format(url=async_url.render_as_string(hide_password=False))
    )
    (tmp_path / "fix.py").write_text(ASYNC_FIX)
    if how == "script":
        result = run_appshell("--app", "main:app", "shell", "--sandbox", "fix.py")
    else:
        result = run_appshell(
            "--app", "main:app", "shell", "--sandbox", "--echo", input=ASYNC_FIX + "\n"
        )
    assert result.returncode == 0, result.stderr
    assert "2" in result.stdout.split()
    end_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(end_lines) == 1, result.stderr
    assert end_lines[0].startswith("appshell: Sandbox: rolled back 4 statements on 1 database")
    assert snapshot(url) == before
