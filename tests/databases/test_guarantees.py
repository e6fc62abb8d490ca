"""The sandbox and read-only sessions keep their word on every road (SQLAlchemy), through the
real command, on real SQLite files and the suite's real PostgreSQL: whatever the attempt,
every table is the same afterwards, row for row, and what would have gone round the guard
was refused by appshell, not merely failed."""

from __future__ import annotations

import textwrap
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa

from .test_sandbox import postgres_with_items, snapshot, sqlite_file

#: A Flask app with plain SQLAlchemy on $DB_URL, and an engine of its own in a closure that
#: appshell's discovery cannot see (an audit log, say).
APP = """
import os

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import sessionmaker

engine = sa.create_engine(os.environ["DB_URL"])
Session = sessionmaker(engine)


def _audit_log():
    hidden = sa.create_engine(os.environ["DB_URL"])

    def write(sql):
        with hidden.begin() as conn:
            conn.exec_driver_sql(sql)

    return write


audit = _audit_log()


class Reports:
    # An engine kept as a class attribute, for a module of reports.
    engine = sa.create_engine(os.environ["DB_URL"])


app = Flask(__name__)
"""

#: Runs each attempt (a list of statements on one connection, then a commit) and prints one
#: line for it: ``NAME refused`` (appshell refused it), ``failed`` (the database did), or
#: ``ran``.
ATTEMPTS = """
import sqlalchemy as sa

from app import Reports, audit, engine


def attempt(name, run):
    try:
        run()
    except Exception as error:
        said = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(name, "refused" if "appshell" in said else "failed", "--", said, flush=True)
    else:
        print(name, "ran", flush=True)


def typed(*statements):
    def run():
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
            conn.commit()
    return run


def raw(*statements, script=False):
    def run():
        connection = engine.raw_connection()
        try:
            if script:
                connection.driver_connection.executescript(";".join(statements))
            for statement in statements if not script else ():
                cursor = connection.cursor()
                cursor.execute(statement)
                cursor.close()
            connection.commit()
        finally:
            connection.close()
    return run

"""

WRITE = "INSERT INTO items (title) VALUES ('written')"


@pytest.fixture(params=["sqlite", "postgresql"])
def app_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The app in the test's folder, on a database with two ``items``: its URL."""
    if request.param == "sqlite":
        url = sqlite_file(tmp_path)
    else:
        url = postgres_with_items(request.getfixturevalue("postgres_db"))
    (tmp_path / "app.py").write_text(APP)
    return url


def run_attempts(
    run_appshell: t.Callable[..., t.Any], url: str, option: str, body: str
) -> dict[str, str]:
    """Run the attempts ``body`` makes in a script under ``option``; each one's outcome."""
    script = Path.cwd() / "attempts.py"
    script.write_text(ATTEMPTS + textwrap.dedent(body))
    result = run_appshell(
        "--app", "app", "shell", option, str(script), env={"DB_URL": url}, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcomes = {}
    for line in result.stdout.splitlines():
        name, outcome, *_ = line.split()
        outcomes[name] = outcome
    return outcomes


def dialect(url: str) -> str:
    return sa.make_url(url).get_backend_name()


# -- read-only covers what the sandbox covers ------------------------------------------------


@pytest.mark.slow
def test_read_only_refuses_engines_it_does_not_guard(
    app_url: str, run_appshell: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    """An engine appshell did not find (in a closure) or one made during the session
    (``create_engine(engine.url)`` typed at the prompt) is refused, as the sandbox refuses
    it; the app's own engine still reads."""
    before = snapshot(app_url)
    outcomes = run_attempts(
        run_appshell,
        app_url,
        "--read-only",
        f"""
        attempt("closure", lambda: audit({WRITE!r}))
        def with_reports():
            with Reports.engine.begin() as conn:
                conn.exec_driver_sql({WRITE!r})
        attempt("class-attribute", with_reports)
        made = sa.create_engine(engine.url.render_as_string(hide_password=False))
        attempt("made", lambda: made.connect().exec_driver_sql({WRITE!r}).close())
        attempt("made-raw", lambda: made.raw_connection().close())
        with engine.connect() as conn:
            print("read", conn.exec_driver_sql("SELECT count(*) FROM items").scalar())
        """,
    )
    assert outcomes == {
        "closure": "refused",
        "class-attribute": "refused",
        "made": "refused",
        "made-raw": "refused",
        "read": "2",
    }
    assert snapshot(app_url) == before


#: Typed SQL that would switch read-only off, in every spelling, each followed by a write.
SWITCH_OFF = {
    "postgresql": {
        "commit-begin-read-write": [f"COMMIT; BEGIN READ WRITE; {WRITE}; COMMIT"],
        "rollback-set-transaction": ["ROLLBACK", "SET TRANSACTION READ WRITE", WRITE],
        "default-off": ["SET default_transaction_read_only = off", "COMMIT", WRITE],
        "session-characteristics": [
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "COMMIT",
            WRITE,
        ],
        "begin-read-write": ["COMMIT", "BEGIN READ WRITE", WRITE],
    },
    "sqlite": {
        "query-only-off": ["PRAGMA query_only = 0", WRITE],
        "query-only-false": ["PRAGMA query_only(false)", WRITE],
    },
}


@pytest.mark.slow
def test_typed_sql_cannot_switch_read_only_off(
    app_url: str, run_appshell: t.Callable[..., t.Any]
) -> None:
    before = snapshot(app_url)
    attempts = SWITCH_OFF[dialect(app_url)]
    body = "".join(f"attempt({name!r}, typed(*{sql!r}))\n" for name, sql in attempts.items())
    if dialect(app_url) == "sqlite":
        # Round SQLAlchemy: the DB-API connection itself, and sqlite3's executescript.
        body += f"attempt('raw-query-only', raw('PRAGMA query_only = 0', {WRITE!r}))\n"
        body += f"attempt('script', raw('PRAGMA query_only = OFF', {WRITE!r}, script=True))\n"
    outcomes = run_attempts(run_appshell, app_url, "--read-only", body)
    expected = dict.fromkeys(attempts, "refused")
    if dialect(app_url) == "sqlite":
        # sqlite3 says only "not authorized" there: SQLite's authorizer forbade it.
        expected |= {"raw-query-only": "failed", "script": "failed"}
    assert outcomes == expected
    assert snapshot(app_url) == before


@pytest.mark.slow
def test_read_only_on_an_autocommit_connection_asks_the_server(
    postgres_db: str, tmp_path: Path, run_appshell: t.Callable[..., t.Any]
) -> None:
    """On AUTOCOMMIT, each statement is a transaction of its own under the session default,
    which a function can switch off where no text shows it: the server is asked."""
    url = postgres_with_items(postgres_db)
    (tmp_path / "app.py").write_text(APP)
    before = snapshot(url)
    outcomes = run_attempts(
        run_appshell,
        url,
        "--read-only",
        f"""
        def sneak():
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(
                    "SELECT set_config('default_transaction_read_only', 'off', false)"
                )
                conn.exec_driver_sql({WRITE!r})
        attempt("set-config", sneak)
        """,
    )
    assert outcomes == {"set-config": "refused"}
    assert snapshot(url) == before


# -- the sandbox on typed SQL ------------------------------------------------------------------

#: Typed SQL that ends, begins or changes the transaction: what the sandbox does with it.
SANDBOX_TYPED = {
    "postgresql": {
        "end": (["DELETE FROM items WHERE title = 'first'", "END"], "ran"),
        "commit-and-chain": ([WRITE, "COMMIT AND CHAIN", WRITE.replace("written", "2")], "ran"),
        "statement-list": ([f"DELETE FROM items; COMMIT; {WRITE}"], "refused"),
        "set-transaction": (["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"], "refused"),
        "session-characteristics": (
            ["SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE"],
            "refused",
        ),
        "default-read-only": (["SET default_transaction_read_only = on"], "refused"),
        "prepare-transaction": (
            [WRITE.replace("written", "p"), "PREPARE TRANSACTION 'x'"],
            "refused",
        ),
    },
    "sqlite": {
        "end": (["DELETE FROM items WHERE title = 'first'", "END"], "ran"),
        "begin-immediate": (["BEGIN IMMEDIATE", WRITE, "COMMIT"], "ran"),
        "end-transaction": ([WRITE.replace("written", "3"), "END TRANSACTION"], "ran"),
    },
}


@pytest.mark.slow
def test_the_sandbox_turns_typed_transaction_sql_into_savepoints_or_refuses_it(
    app_url: str, run_appshell: t.Callable[..., t.Any]
) -> None:
    before = snapshot(app_url)
    attempts = SANDBOX_TYPED[dialect(app_url)]
    body = "".join(f"attempt({name!r}, typed(*{sql!r}))\n" for name, (sql, _) in attempts.items())
    body += "with engine.connect() as conn:\n"
    body += "    print('rows', conn.exec_driver_sql('SELECT count(*) FROM items').scalar())\n"
    outcomes = run_attempts(run_appshell, app_url, "--sandbox", body)
    expected = {name: outcome for name, (_, outcome) in attempts.items()}
    # Inside the sandbox, what ran is seen: 'first' deleted, the writes made.
    expected["rows"] = "3"
    assert outcomes == expected
    assert snapshot(app_url) == before


# -- engines told apart by identity, not URL ---------------------------------------------------

BINDS_APP = """
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DB_URL"]
# A second bind on the same database, for other pool settings: a common set-up.
app.config["SQLALCHEMY_BINDS"] = {
    "reports": {"url": os.environ["DB_URL"], "pool_pre_ping": True}
}
db = SQLAlchemy(app)


class Item(db.Model):
    __tablename__ = "items"
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(50), unique=True, nullable=False)


class Report(db.Model):
    __tablename__ = "reports"
    __bind_key__ = "reports"
    id = db.Column(db.Integer, primary_key=True)
    line = db.Column(db.String(50), nullable=False)
"""

BINDS_FIX = """
from app import Item, Report, db

for item in Item.query.all():
    item.title = item.title.upper()
db.session.add(Report(line="titles upper-cased"))
db.session.commit()
print("items", sorted(i.title for i in Item.query), "reports", Report.query.count())
"""


@pytest.mark.slow
def test_two_binds_on_one_database_are_each_sandboxed(
    app_url: str, tmp_path: Path, run_appshell: t.Callable[..., t.Any]
) -> None:
    """Two Flask-SQLAlchemy binds with the same URL: each is sandboxed, and they share the
    database's one connection (two would lock each other out, and miss each other's
    writes)."""
    pytest.importorskip("flask_sqlalchemy")
    engine = sa.create_engine(app_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        key = "SERIAL" if dialect(app_url) == "postgresql" else "INTEGER"
        conn.exec_driver_sql(f"CREATE TABLE reports (id {key} PRIMARY KEY, line VARCHAR(50))")
    engine.dispose()
    before = snapshot(app_url)
    (tmp_path / "app.py").write_text(BINDS_APP)
    (tmp_path / "fix.py").write_text(BINDS_FIX)
    result = run_appshell("--app", "app", "shell", "--sandbox", "fix.py", env={"DB_URL": app_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "items ['FIRST', 'SECOND'] reports 1\n"
    assert "(default, reports)" in result.stderr
    assert snapshot(app_url) == before


# -- what the app hangs on a commit does not run -----------------------------------------------

HOOKS_APP = """
import os
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session as BaseSession, sessionmaker

engine = sa.create_engine(os.environ["DB_URL"])
Session = sessionmaker(engine)
MEDIA = Path("media")


@event.listens_for(Session, "after_commit")
def delete_orphaned_files(session):
    # A file-storage library's way: the row is gone for good, so are its files.
    for path in MEDIA.iterdir():
        path.unlink()


@event.listens_for(BaseSession, "after_commit")
def notify(session):
    Path("notified").write_text("a commit happened")


app = Flask(__name__)
"""

HOOKS_FIX = """
import sqlalchemy as sa

from app import Session

with Session() as session:
    session.execute(sa.text("DELETE FROM items WHERE title = 'first'"))
    session.commit()
    session.execute(sa.text("DELETE FROM items"))
    session.commit()
    print("left", session.execute(sa.text("SELECT count(*) FROM items")).scalar())
"""


@pytest.mark.slow
def test_after_commit_hooks_do_not_run_in_a_sandbox(
    app_url: str, tmp_path: Path, run_appshell: t.Callable[..., t.Any]
) -> None:
    """Session ``after_commit`` handlers (on a sessionmaker, on the Session class) are held:
    the files they would delete are still there, and the end line counts and names them."""
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "first.jpg").write_bytes(b"JPEG")
    (tmp_path / "app.py").write_text(HOOKS_APP)
    (tmp_path / "fix.py").write_text(HOOKS_FIX)
    before = snapshot(app_url)
    result = run_appshell("--app", "app", "shell", "--sandbox", "fix.py", env={"DB_URL": app_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "left 0\n"
    assert result.stderr.endswith(
        "; 4 session after_commit hooks not run, since nothing was committed"
        " (app.delete_orphaned_files x2, app.notify x2)\n"
    ), result.stderr
    assert [p.name for p in (tmp_path / "media").iterdir()] == ["first.jpg"]
    assert not (tmp_path / "notified").exists()
    assert snapshot(app_url) == before
    # Outside a sandbox, the same script runs them (the test's app works as meant).
    result = run_appshell("--app", "app", "shell", "fix.py", env={"DB_URL": app_url})
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "media").iterdir()) == []
    assert (tmp_path / "notified").exists()


# -- a driver's own connect() ------------------------------------------------------------------

#: Each driver's connect, then a write and a commit if it connected; ``DSN`` is the database
#: as the driver names it. The PostgreSQL drivers other than psycopg are first imported here,
#: after the session started.
DRIVER_ATTEMPTS = {
    "sqlite": f"""
        import asyncio
        import functools
        import sqlite3

        def with_sqlite3(connect):
            conn = connect(DSN)
            conn.execute({WRITE!r})
            conn.commit()

        def with_aiosqlite(connect):
            async def write():
                async with connect(DSN) as conn:
                    await conn.execute({WRITE!r})
                    await conn.commit()

            asyncio.run(write())

        def aiosqlite_class(dsn):
            import aiosqlite

            return aiosqlite.Connection(functools.partial(sqlite3.connect, dsn), 64)

        def aiosqlite_connect(dsn):
            import aiosqlite

            return aiosqlite.connect(dsn)

        attempt("sqlite3", lambda: with_sqlite3(sqlite3.connect))
        attempt("sqlite3-class", lambda: with_sqlite3(sqlite3.Connection))
        attempt("aiosqlite", lambda: with_aiosqlite(aiosqlite_connect))
        attempt("aiosqlite-class", lambda: with_aiosqlite(aiosqlite_class))
        attempt("in-memory", lambda: sqlite3.connect(":memory:").execute("SELECT 1"))
    """,
    "postgresql": f"""
        import asyncio

        def with_psycopg(connect):
            with connect(DSN) as conn:
                conn.execute({WRITE!r})

        def with_psycopg2(connect):
            import psycopg2.extras  # psycopg2, its extensions and extras

            conn = connect(psycopg2)(DSN)
            conn.cursor().execute({WRITE!r})
            conn.commit()

        def with_async(connect, run):
            async def write():
                conn = await connect(DSN)
                await run(conn)
                await conn.close()

            asyncio.run(write())

        async def psycopg_write(conn):
            await conn.execute({WRITE!r})
            await conn.commit()

        async def asyncpg_write(conn):
            await conn.execute({WRITE!r})

        import psycopg

        attempt("psycopg", lambda: with_psycopg(psycopg.connect))
        attempt("psycopg-class", lambda: with_psycopg(psycopg.Connection.connect))
        attempt("psycopg-async", lambda: with_async(psycopg.AsyncConnection.connect, psycopg_write))
        attempt("psycopg2", lambda: with_psycopg2(lambda driver: driver.connect))
        attempt("psycopg2-class", lambda: with_psycopg2(lambda d: d.extensions.connection))
        attempt("psycopg2-extras", lambda: with_psycopg2(lambda d: d.extras.DictConnection))

        def with_asyncpg_pool():
            import asyncpg

            async def write():
                async with asyncpg.create_pool(DSN, min_size=1, max_size=1) as pool:
                    await pool.execute({WRITE!r})

            asyncio.run(write())

        attempt("asyncpg-pool", with_asyncpg_pool)

        def with_asyncpg():
            import asyncpg

            with_async(asyncpg.connect, asyncpg_write)

        attempt("asyncpg", with_asyncpg)
    """,
}


@pytest.mark.slow
@pytest.mark.parametrize("option", ["--sandbox", "--read-only"])
def test_a_drivers_own_connect_is_refused(
    app_url: str, run_appshell: t.Callable[..., t.Any], option: str
) -> None:
    """A connection straight from a driver (an audit log's ``sqlite3.connect``, a script's
    ``psycopg.connect``) would commit outside the sandbox or write past read-only: refused
    with one line before it connects; the app's engine still works."""
    if dialect(app_url) == "postgresql":
        pytest.importorskip("psycopg2")
        dsn = sa.make_url(app_url).set(drivername="postgresql")
        dsn_text = dsn.render_as_string(hide_password=False)
    else:
        dsn_text = sa.make_url(app_url).database or ""
    before = snapshot(app_url)
    body = f"DSN = {dsn_text!r}\n" + textwrap.dedent(DRIVER_ATTEMPTS[dialect(app_url)])
    body += "with engine.connect() as conn:\n"
    body += "    print('rows', conn.exec_driver_sql('SELECT count(*) FROM items').scalar())\n"
    outcomes = run_attempts(run_appshell, app_url, option, body)
    expected = {
        "sqlite": {
            **dict.fromkeys(
                ["sqlite3", "sqlite3-class", "aiosqlite", "aiosqlite-class"], "refused"
            ),
            "in-memory": "ran",
        },
        "postgresql": dict.fromkeys(
            [
                "psycopg",
                "psycopg-class",
                "psycopg-async",
                "psycopg2",
                "psycopg2-class",
                "psycopg2-extras",
                "asyncpg",
                "asyncpg-pool",
            ],
            "refused",
        ),
    }[dialect(app_url)]
    assert outcomes == {**expected, "rows": "2"}
    assert snapshot(app_url) == before


# -- a COMMIT no text check sees ---------------------------------------------------------------

DRIVER_COMMIT = """
from sqlalchemy import text

from main import engine

async with engine.connect() as conn:
    await conn.execute(text("DELETE FROM items WHERE title = 'first'"))
    raw = await conn.get_raw_connection()
    try:
        # asyncpg's own connection, reached round the sandbox's stand-in.
        await raw.driver_connection.execute("COMMIT")
    except Exception as error:
        print("commit failed:", str(error).splitlines()[0])
"""


@pytest.mark.slow
def test_a_commit_sent_round_the_sandbox_fails_on_postgresql(
    postgres_db: str, tmp_path: Path, run_appshell: t.Callable[..., t.Any]
) -> None:
    """A COMMIT that reaches the server unseen (on the driver's own connection) fails there:
    a deferred constraint trigger on a temporary table raises at commit, and PostgreSQL
    rolls the transaction back instead."""
    from .test_sandbox import ASYNCPG_APP

    url = postgres_with_items(postgres_db)
    before = snapshot(url)
    async_url = sa.make_url(url).set(drivername="postgresql+asyncpg")
    (tmp_path / "main.py").write_text(
        ASYNCPG_APP.format(url=async_url.render_as_string(hide_password=False))
    )
    (tmp_path / "fix.py").write_text(DRIVER_COMMIT)
    result = run_appshell("--app", "main:app", "shell", "--sandbox", "fix.py")
    assert snapshot(url) == before, result.stderr
    assert "commit failed: appshell's sandbox refused a COMMIT" in result.stdout, result
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "appshell: Sandbox: rolled back 1 statement on 1 database (default); the sandbox on"
        " 'default' had already ended (nothing was committed)\n"
    )


# -- read-only on the driver's own connection (PostgreSQL) ---------------------------------------

#: SQL sent straight on the driver's connection, reached three ways round SQLAlchemy's
#: execution events: it switches the session's default back to read-write, commits, writes
#: and commits. The sync ones use the app's engine; the async ones a FastAPI app's.
DRIVER_SWITCH_OFF = {
    "sync": f"""
        OFF = ("SET default_transaction_read_only = off",
               "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")

        def switch_off_and_write(driver, name):
            for statement in OFF:
                driver.cursor().execute(statement)
            driver.commit()
            driver.cursor().execute({WRITE!r}.replace("written", name))
            driver.commit()

        def raw_connection():
            raw = engine.raw_connection()
            try:
                switch_off_and_write(raw, "raw")
            finally:
                raw.close()

        def on_driver(attribute):
            def run():
                with engine.connect() as conn:
                    switch_off_and_write(getattr(conn.connection, attribute), attribute)
            return run

        attempt("raw-connection", raw_connection)
        attempt("driver-connection", on_driver("driver_connection"))
        attempt("dbapi-connection", on_driver("dbapi_connection"))
    """,
    "async": f"""
        from sqlalchemy import text

        from main import engine

        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                await driver.execute("SET default_transaction_read_only = off")
                await driver.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
                await (driver.commit() if hasattr(driver, "commit") else driver.execute("COMMIT"))
                await driver.execute({WRITE!r})
                await (driver.commit() if hasattr(driver, "commit") else driver.execute("COMMIT"))
        except Exception as error:
            print("async-driver-connection failed --", str(error).splitlines()[0])
        else:
            print("async-driver-connection ran")
    """,
}


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2", "psycopg-async", "asyncpg"])
def test_read_only_holds_on_the_drivers_own_connection(
    postgres_db: str, tmp_path: Path, run_appshell: t.Callable[..., t.Any], driver: str
) -> None:
    """SQL sent on the driver's connection itself (``engine.raw_connection()``,
    ``conn.connection.driver_connection``, an async engine's ``get_raw_connection()``) is
    seen by none of SQLAlchemy's events: it switches the session's default to read-write and
    commits. The driver's own read-only mode, set on every connection handed out, still
    begins each transaction READ ONLY, so the write after it fails in the database; asyncpg,
    which has none, finds the default its server reports switched off, and refuses."""
    from .test_sandbox import ASYNCPG_APP

    url = postgres_with_items(postgres_db)
    before = snapshot(url)
    if driver in ("psycopg-async", "asyncpg"):
        name = "psycopg" if driver == "psycopg-async" else driver
        async_url = sa.make_url(url).set(drivername=f"postgresql+{name}")
        (tmp_path / "main.py").write_text(
            ASYNCPG_APP.format(url=async_url.render_as_string(hide_password=False))
        )
        script = tmp_path / "attempts.py"
        script.write_text(textwrap.dedent(DRIVER_SWITCH_OFF["async"]))
        result = run_appshell("--app", "main:app", "shell", "--read-only", str(script))
        # psycopg begins the write's transaction READ ONLY; asyncpg, which has no such mode,
        # runs it on its own under the session default, which appshell finds switched off.
        said = {
            "psycopg-async": "cannot execute INSERT in a read-only transaction",
            "asyncpg": "appshell's read-only session refused a statement on asyncpg's own",
        }[driver]
        assert result.stdout.startswith(f"async-driver-connection failed -- {said}"), result
    else:
        sync_url = sa.make_url(url).set(drivername=f"postgresql+{driver}")
        (tmp_path / "app.py").write_text(APP)
        outcomes = run_attempts(
            run_appshell,
            sync_url.render_as_string(hide_password=False),
            "--read-only",
            DRIVER_SWITCH_OFF["sync"],
        )
        assert outcomes == dict.fromkeys(
            ["raw-connection", "driver-connection", "dbapi-connection"], "failed"
        )
    assert snapshot(url) == before


AIOSQLITE_COMMIT = """
from sqlalchemy import text

from main import engine

async with engine.connect() as conn:
    await conn.execute(text("DELETE FROM items WHERE title = 'first'"))
    driver = (await conn.get_raw_connection()).driver_connection
    for name, end in [
        ("sql", lambda: driver.execute("COMMIT")),
        ("script", lambda: driver.executescript("COMMIT; BEGIN")),
        ("method", driver.commit),
    ]:
        try:
            await end()
        except Exception as error:
            print(name, "failed:", str(error).splitlines()[0])
        else:
            print(name, "ran")
    await conn.execute(text("INSERT INTO items (title) VALUES ('third')"))
    await conn.commit()
"""


@pytest.mark.slow
def test_a_commit_sent_round_the_sandbox_is_refused_on_aiosqlite(
    tmp_path: Path, run_appshell: t.Callable[..., t.Any]
) -> None:
    """aiosqlite's own connection (``driver_connection``) is reached round the sandbox's
    stand-in, and SQLite has no trigger to fail a COMMIT: an authorizer, set on the
    connection in aiosqlite's own thread, refuses any transaction control the sandbox did
    not send, as SQLite prepares it; the session goes on inside the sandbox."""
    from .test_sandbox import ASYNCPG_APP

    url = sqlite_file(tmp_path)
    before = snapshot(url)
    async_url = sa.make_url(url).set(drivername="sqlite+aiosqlite")
    (tmp_path / "main.py").write_text(ASYNCPG_APP.format(url=async_url.render_as_string()))
    (tmp_path / "fix.py").write_text(AIOSQLITE_COMMIT)
    result = run_appshell("--app", "main:app", "shell", "--sandbox", "fix.py")
    assert result.stdout.splitlines() == [
        "sql failed: not authorized",
        "script failed: not authorized",
        "method failed: not authorized",
    ], result
    assert result.returncode == 0, result.stderr
    assert "Sandbox: rolled back 2 statements" in result.stderr
    assert snapshot(url) == before
